"""``manifest.yml`` against Slack's schema, the app's listeners, and the code's Web API calls.

Three ways the manifest drifts from the code, each caught here:

- it stops being a manifest Slack accepts (its JSON schema, committed under
  ``manifest_schema/``);
- it subscribes to events, or declares shortcuts or commands, the app has no listener
  for, or the other way round: the real app is built with ``bot.app.build_app`` while
  Bolt's public decorators are recorded, which reads each listener's constraint as it
  was declared (Bolt keeps it only inside closures);
- its bot scopes stop matching what the code needs: the Web API methods called are
  found by scanning the source for ``AsyncWebClient`` method names and ``api_call("…")``,
  and mapped to scopes by :data:`METHOD_SCOPES`. A call to a method missing from that
  table, or a scope no method or event needs, fails.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema  # type: ignore[import-untyped]
import pytest
import yaml
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from agents import FakeEmbedder, Matcher
from bot.app import build_app
from bot.context import Bot
from bot.events_path import EVENTS_PATH, SlackEventsPath
from bot.installs import BOT_SCOPES, InstalledWorkspaces
from bot.server import create_server
from feedback.database import Database
from feedback.settings import Settings
from workflows.deps import Deps
from workflows.engine import Engine
from workflows.slack import Slack

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "manifest.yml"
SCHEMA = Path(__file__).parent / "manifest_schema" / "manifest.schema.1.0.0.json"
SOURCES = ("bot", "workflows", "agents", "feedback")
"""The packages whose code runs in the app."""
NOT_THE_APP = (ROOT / "bot" / "simulator",)
"""A fake Slack: it serves the Web API methods, it does not call them."""
REQUEST_URL_PATH = "/slack/events"

HISTORY = frozenset({"channels:history", "groups:history", "im:history"})
"""Reading messages where the bot is: public and private channels it was invited to, and
its DMs (it is never in a group DM, so no ``mpim:history``)."""

METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "chat.getPermalink": frozenset(),
    "chat.postEphemeral": frozenset({"chat:write"}),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "conversations.history": HISTORY,
    "conversations.info": frozenset({"channels:read", "groups:read"}),
    "conversations.open": frozenset({"im:write"}),
    "conversations.replies": HISTORY,
    "reactions.add": frozenset({"reactions:write"}),
    "users.info": frozenset({"users:read", "users:read.email"}),  # it reads profile.email
    "views.open": frozenset(),
    "views.publish": frozenset(),
    "views.update": frozenset(),
}
"""The bot scopes each Web API method needs, as this app calls it."""

EVENT_SCOPES: dict[str, frozenset[str]] = {
    "app_home_opened": frozenset(),
    "app_mention": frozenset({"app_mentions:read"}),
    "reaction_added": frozenset({"reactions:read"}),
    "app_uninstalled": frozenset(),
    "tokens_revoked": frozenset(),
}
"""The bot scopes each subscribed event needs."""

COMMANDS_SCOPE = "commands"
"""What slash commands and shortcuts need."""

BOLT_CALLS = {"auth.test": "slack_bolt: who the token belongs to, at the first request"}
"""Web API methods Bolt calls on the app's behalf."""

LISTENER_KINDS = (
    "event",
    "message",
    "function",
    "command",
    "shortcut",
    "global_shortcut",
    "message_shortcut",
    "action",
    "block_action",
    "attachment_action",
    "dialog_submission",
    "dialog_cancellation",
    "view",
    "view_submission",
    "view_closed",
    "options",
    "block_suggestion",
    "dialog_suggestion",
)
"""``AsyncApp``'s listener decorators (each registers one listener)."""

SHORTCUT_KINDS = ("shortcut", "global_shortcut", "message_shortcut")
INTERACTIVE_KINDS = (
    *SHORTCUT_KINDS,
    *("action", "block_action", "view", "view_submission", "view_closed"),
    *("options", "block_suggestion"),
)


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


# -- Slack's schema ----------------------------------------------------------------------


def schema_errors(manifest: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    errors = validator(schema).iter_errors(manifest)
    return sorted(f"/{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


def test_the_manifest_is_valid_for_slacks_schema(manifest: dict[str, Any]) -> None:
    assert manifest["_metadata"]["major_version"] == 1, "the committed schema is version 1's"
    assert schema_errors(manifest) == []


def test_the_schema_catches_a_bad_manifest(manifest: dict[str, Any]) -> None:
    bad = copy.deepcopy(manifest)
    bad["features"]["shortcuts"][0]["name"] = "A shortcut name too long for Slack"  # > 24
    bad["features"]["slash_commands"][0]["command"] = "feedback"  # no leading /
    where = [error.split(":")[0] for error in schema_errors(bad)]
    assert where == ["/features/shortcuts/0/name", "/features/slash_commands/0/command"]


# -- the listeners the app registers -----------------------------------------------------


@dataclass
class Registered:
    """The built app and, per listener, its decorator's name and constraint."""

    app: AsyncApp
    listeners: list[tuple[str, Any]]
    mode: str

    def constraints(self, *kinds: str) -> list[Any]:
        return [constraint for kind, constraint in self.listeners if kind in kinds]


def recorder(kind: str, decorator: Callable[..., Any], seen: list[tuple[str, Any]]) -> Any:
    """``decorator``, noting its first argument (the constraint) in ``seen``."""
    signature = inspect.signature(decorator)

    def recording(self: AsyncApp, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        seen.append((kind, list(bound.arguments.values())[1]))
        return decorator(self, *args, **kwargs)

    return recording


@pytest.fixture(params=["token", "multi-workspace"])
async def registered(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Registered]:
    """The app as ``bot.app.build_app`` builds it (with one bot token, or for workspaces
    that install it), its registrations recorded."""
    seen: list[tuple[str, Any]] = []
    for kind in LISTENER_KINDS:
        monkeypatch.setattr(AsyncApp, kind, recorder(kind, getattr(AsyncApp, kind), seen))
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    multi = request.param == "multi-workspace"
    oauth: dict[str, Any] = {"slack_client_id": "1.2", "slack_client_secret": "s"}
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        slack_signing_secret="manifest-test",  # type: ignore[arg-type]
        **(oauth if multi else {}),
    )
    client = AsyncWebClient(token=None if multi else "xoxb-manifest-test")
    async with Database(url) as db, Engine(url) as engine:
        deps = Deps(db=db, slack=Slack(client), matcher=Matcher(FakeEmbedder()), settings=settings)
        workspaces = InstalledWorkspaces(db, "1.2") if multi else None
        bot = Bot(engine=engine, deps=deps, slack=Slack(client))
        app = build_app(bot, client, workspaces=workspaces)
        assert len(seen) == len(app._async_listeners), (
            "a listener was registered in a way this test does not record: "
            "add its AsyncApp decorator to LISTENER_KINDS"
        )
        yield Registered(app, seen, request.param)


def named_events(constraints: list[Any]) -> set[str]:
    """The event types named by ``app.event`` constraints; a catch-all names none."""
    names: set[str] = set()
    for constraint in constraints:
        event = constraint.get("type") if isinstance(constraint, dict) else constraint
        if isinstance(event, re.Pattern):
            assert event.pattern == ".*", (
                f"the event listener for {event.pattern!r} names no event type: "
                "register it per event type, so that the manifest can list them"
            )
            continue  # it only acknowledges what the manifest subscribes to
        names.add(str(event))
    return names


def test_the_manifest_subscribes_to_exactly_the_events_with_listeners(
    manifest: dict[str, Any], registered: Registered
) -> None:
    listened = named_events(registered.constraints("event"))
    if registered.constraints("message"):
        listened.add("message")  # app.message: one of the message.* events
    subscribed = {
        e.split(".")[0] for e in manifest["settings"]["event_subscriptions"]["bot_events"]
    }
    # one manifest for both modes: the multi-workspace app listens to every event it
    # subscribes to; with one token, uninstall events are acknowledged by the catch-all
    assert listened <= subscribed
    if registered.mode == "multi-workspace":
        assert listened == subscribed


def test_the_shortcuts_and_command_are_those_with_listeners(
    manifest: dict[str, Any], registered: Registered
) -> None:
    features = manifest["features"]
    shortcuts = registered.constraints(*SHORTCUT_KINDS)
    ids = {s["callback_id"] if isinstance(s, dict) else s for s in shortcuts}
    assert {s["callback_id"] for s in features["shortcuts"]} == ids
    assert {c["command"] for c in features["slash_commands"]} == set(
        registered.constraints("command")
    )


def test_interactivity_reaches_the_interactive_listeners(
    manifest: dict[str, Any], registered: Registered
) -> None:
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is bool(registered.constraints(*INTERACTIVE_KINDS))
    has_options = bool(registered.constraints("options", "block_suggestion"))
    assert ("message_menu_options_url" in interactivity) is has_options


def test_slack_sends_everything_to_the_servers_request_url(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
        settings["interactivity"]["message_menu_options_url"],
        *(c["url"] for c in manifest["features"]["slash_commands"]),
    ]
    assert {urlsplit(url).path for url in urls} == {REQUEST_URL_PATH}
    server = create_server(Settings(_env_file=None))  # type: ignore[call-arg]
    # answered before FastAPI's router (bot.events_path)
    assert EVENTS_PATH == REQUEST_URL_PATH
    assert any(getattr(m, "cls", None) is SlackEventsPath for m in server.user_middleware)


# -- the bot scopes ----------------------------------------------------------------------

CALL = re.compile(r"\.(\w+)\(")
API_CALL = re.compile(r"""\bapi_call\(\s*["']([\w.]+)["']""")
SAY = re.compile(r"\bAsyncSay\b")  # a listener's say() is chat.postMessage


def web_api_calls() -> dict[str, set[str]]:
    """The Web API methods the app calls, each with where (``file:line``)."""
    client_methods = {
        name: name.replace("_", ".")  # chat_postMessage is chat.postMessage
        for name, member in vars(AsyncWebClient).items()
        if not name.startswith("_") and inspect.iscoroutinefunction(member)
    }
    calls: dict[str, set[str]] = {m: {why} for m, why in BOLT_CALLS.items()}
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if any(path.is_relative_to(other) for other in NOT_THE_APP):
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                where = f"{path.relative_to(ROOT)}:{number}"
                found = [client_methods[n] for n in CALL.findall(line) if n in client_methods]
                found += API_CALL.findall(line)
                found += ["chat.postMessage"] if SAY.search(line) else []
                for method in found:
                    calls.setdefault(method, set()).add(where)
    return calls


def test_every_method_called_is_in_the_scope_table() -> None:
    calls = web_api_calls()
    unknown = {m: sorted(calls[m]) for m in sorted(set(calls) - set(METHOD_SCOPES))}
    assert not unknown, (
        f"add these methods' bot scopes to METHOD_SCOPES (and to manifest.yml): {unknown}"
    )
    stale = sorted(set(METHOD_SCOPES) - set(calls))
    assert not stale, f"nothing calls {stale} any more: remove it from METHOD_SCOPES"


def test_the_bot_scopes_are_exactly_those_the_calls_and_events_need(
    manifest: dict[str, Any],
) -> None:
    needed: dict[str, set[str]] = {}
    for method in web_api_calls():
        for scope in METHOD_SCOPES.get(method, ()):
            needed.setdefault(scope, set()).add(method)
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert event in EVENT_SCOPES, f"add the {event} event's bot scopes to EVENT_SCOPES"
        for scope in EVENT_SCOPES[event]:
            needed.setdefault(scope, set()).add(f"the {event} event")
    if manifest["features"].get("slash_commands") or manifest["features"].get("shortcuts"):
        needed.setdefault(COMMANDS_SCOPE, set()).add("slash commands and shortcuts")

    granted = manifest["oauth_config"]["scopes"]["bot"]
    assert len(granted) == len(set(granted)), "a bot scope is listed twice"
    missing = {scope: sorted(needed[scope]) for scope in sorted(set(needed) - set(granted))}
    assert not missing, f"manifest.yml lacks bot scopes the code needs: {missing}"
    unused = sorted(set(granted) - set(needed))
    assert not unused, f"no method or event the app uses needs these bot scopes: {unused}"


def test_an_install_asks_for_the_manifests_scopes(manifest: dict[str, Any]) -> None:
    assert sorted(BOT_SCOPES) == sorted(manifest["oauth_config"]["scopes"]["bot"])
