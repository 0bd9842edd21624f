"""The simulator's HTTP face: Slack's Web API under ``/api/``, control endpoints under ``/_sim/``.

Web API calls (``GET`` or ``POST /api/<method>``):

- arguments come from the query string, then the body: ``application/json``,
  ``application/x-www-form-urlencoded`` or ``multipart/form-data`` (slack_sdk sends
  all of them, and JSON-encodes ``blocks``, ``view`` and ``metadata`` in forms);
- the token is ``Authorization: Bearer <token>`` or a ``token`` argument: missing is
  ``not_authed``, unknown is ``invalid_auth``; each token belongs to one workspace (the
  simulator's own, or one installed through OAuth) and the call acts on that workspace;
- ``oauth.v2.access`` takes no token: the app's ``client_id``/``client_secret`` come as
  HTTP Basic auth or form fields (see :mod:`bot.simulator.oauth`); the bot token it
  issues for a new team opens a workspace of that team;
- a name no handler serves is HTTP 200 ``{"ok": false, "error": "unknown_method",
  "req_method": …}``, as Slack answers it (and is logged as a warning);
- planned delays, then planned faults, apply before the handler runs; every call,
  answered or refused, goes into the journal.

Response URLs (no token): ``POST /_sim/respond/<id>`` takes a JSON message (or a
``payload=`` form) as Slack's ``response_url`` does (see :mod:`bot.simulator.respond`),
journaled as method ``response_url``; refusals are HTTP 404/400 with ``ok: false``.

Control endpoints (no token; for the standalone simulator and scripts):

- ``GET /_sim/journal[?method=…]``: the journal as a JSON list; ``DELETE`` clears it.
- ``GET /_sim/state``: users, channels with their messages, DMs, views, ephemerals.
- ``POST /_sim/messages``: a person posts (``channel``, ``user``, ``text``,
  optional ``thread_ts``) → ``{"ok": true, "ts": …}``.
- ``POST /_sim/reactions``: a person reacts (``channel``, ``ts``, ``user``, ``name``).
- ``POST /_sim/faults``: plan a fault (``method``, ``status``, ``error``,
  ``retry_after``, ``times``) or a delay (``method``, ``delay`` seconds, ``times``).

Control bodies may be JSON or form-encoded; refusals answer HTTP 400 with Slack's
``{"ok": false, "error": …}``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import json
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.simulator.errors import SlackError
from bot.simulator.journal import Call, Fault, FaultPlan
from bot.simulator.methods import METHODS, Args
from bot.simulator.oauth import Grant, OAuthApp, access_json
from bot.simulator.respond import STATUS, ResponseUrls, respond
from bot.simulator.shapes import channel_json, message_json, user_json, view_json
from bot.simulator.state import Workspace

logger = logging.getLogger(__name__)

JSON_ARGUMENTS = ("attachments", "blocks", "metadata", "view")
"""Arguments that form bodies carry JSON-encoded; decoded before handlers see them."""

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")

CLIENT_METHODS = frozenset({"oauth.v2.access"})
"""Methods that authenticate the app by its client credentials, not by a token."""

Answer = tuple[int, dict[str, Any], dict[str, str], str | None]
"""HTTP status, JSON body, extra headers, and the team the call acted on."""


class ApiServer:
    """The aiohttp application over the workspaces, with its journal and planned faults.

    Args:
        workspace: The simulator's own workspace (its token is ``token``).
        token: Its bot token; OAuth installs add more (``tokens``).
        oauth: The app's credentials and pending install approvals.
    """

    def __init__(self, workspace: Workspace, token: str, oauth: OAuthApp) -> None:
        self.workspace = workspace
        self.token = token
        self.oauth = oauth
        self.workspaces: dict[str, Workspace] = {workspace.team_id: workspace}
        self.tokens: dict[str, Workspace] = {token: workspace}
        self.responses = ResponseUrls(workspace.clock)
        self.journal: list[Call] = []
        self.faults = FaultPlan()
        self._changed = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_route("*", "/api/{method}", self._api)
        self.app.router.add_post("/_sim/respond/{url_id}", self._respond)
        self.app.router.add_get("/_sim/journal", self._get_journal)
        self.app.router.add_delete("/_sim/journal", self._clear_journal)
        self.app.router.add_get("/_sim/state", self._get_state)
        self.app.router.add_post("/_sim/messages", self._post_message)
        self.app.router.add_post("/_sim/reactions", self._post_reaction)
        self.app.router.add_post("/_sim/faults", self._post_fault)

    # --- Web API -----------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        method = request.match_info["method"]
        try:
            values = await read_arguments(request)
        except SlackError as exc:
            self._record(Call(method, {}, False, exc.error, 200, at))
            return web.json_response(exc.to_body())
        form_token = _pop_token(values)  # never journal a token
        token = _bearer(request) or form_token
        credentials = _basic(request), values.pop("client_secret", None)  # nor a secret
        try:
            status, body, headers, team = await self._answer(method, values, token, credentials)
        except asyncio.CancelledError:  # the client left, or the simulator stopped, mid-delay
            self._record(Call(method, values, False, None, 0, at))
            raise
        error = body.get("error")
        self._record(Call(method, values, bool(body.get("ok")), error, status, at, team))
        return web.json_response(body, status=status, headers=headers)

    async def _answer(
        self,
        method: str,
        values: dict[str, Any],
        token: str | None,
        credentials: tuple[tuple[str, str] | None, Any],
    ) -> Answer:
        handler = METHODS.get(method)
        if handler is None and method not in CLIENT_METHODS:
            logger.warning("Slack simulator: unknown Web API method %s", method)
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}, None
        ws = self.tokens.get(token or "")
        if handler is not None and ws is None:
            return 200, {"ok": False, "error": "invalid_auth" if token else "not_authed"}, {}, None
        team = ws.team_id if ws is not None else None
        planned = await self._planned(method)
        if planned is not None:
            return (*planned, team)
        try:
            if handler is None:
                return self._oauth_v2_access(values, *credentials)
            assert ws is not None
            return 200, handler(ws, Args(values)), {}, team
        except SlackError as exc:
            return 200, exc.to_body(), {}, team
        except Exception as exc:  # a simulator bug: answer loudly, keep serving
            logger.exception("Slack simulator: %s failed", method)
            why = f"simulator bug in {method}: {exc!r}"
            return 500, {"ok": False, "error": "internal_error", "detail": why}, {}, team

    async def _planned(self, method: str) -> tuple[int, dict[str, Any], dict[str, str]] | None:
        """Hold a planned delay, then answer a planned fault (``None`` when there is none)."""
        delay = self.faults.take_delay(method)
        if delay > 0:
            await asyncio.sleep(delay)
        fault = self.faults.take_fault(method)
        return None if fault is None else (fault.status, fault.body(), fault.headers())

    # --- OAuth ---------------------------------------------------------------------

    def _oauth_v2_access(
        self, values: dict[str, Any], basic: tuple[str, str] | None, form_secret: Any
    ) -> Answer:
        secret = {} if form_secret is None else {"client_secret": form_secret}
        grant = self.oauth.redeem(values | secret, basic)
        ws, token = self.install(grant)
        return 200, access_json(grant, token=token, app_id=ws.app_id), {}, ws.team_id

    def install(self, grant: Grant) -> tuple[Workspace, str]:
        """The workspace of the grant's team (made on first install) and its bot token.

        A team keeps its bot token across installs, as Slack's bot tokens do without
        token rotation; the simulator's own team answers with the simulator's token.
        """
        ws = self.workspaces.get(grant.team_id)
        if ws is None:
            primary = self.workspace
            ws = Workspace(
                team_id=grant.team_id,
                bot_user_id=grant.bot_user_id,
                team_name=grant.team_name,
                domain=grant.team_id.lower(),
                app_id=primary.app_id,
                clock=primary.clock,
            )
            self.workspaces[ws.team_id] = ws
        if grant.user_id not in ws.users:
            ws.add_user(grant.user_id, grant.user_id.lower())
        token = self.token_of(ws)
        if token is None:
            token = f"xoxb-{ws.team_id}-{len(self.tokens) + 1}-{secrets.token_hex(12)}"
            self.tokens[token] = ws
        return ws, token

    def token_of(self, ws: Workspace) -> str | None:
        """The bot token of a workspace, if it has one."""
        return next((token for token, owner in self.tokens.items() if owner is ws), None)

    # --- response URLs ---------------------------------------------------------------

    async def _respond(self, request: web.Request) -> web.Response:
        at = time.monotonic()
        url_id = request.match_info["url_id"]
        try:
            body = await _response_body(request)
        except SlackError as exc:
            self._record(Call("response_url", {}, False, exc.error, 400, at))
            return web.json_response(exc.to_body(), status=400)
        args = body | {"response_url": str(request.url)}
        status, answer, headers, team = await self._response(url_id, body)
        self._record(
            Call("response_url", args, bool(answer["ok"]), answer.get("error"), status, at, team)
        )
        return web.json_response(answer, status=status, headers=headers)

    async def _response(self, url_id: str, body: dict[str, Any]) -> Answer:
        team = None
        try:
            url = self.responses.use(url_id)
            team = url.team_id
            planned = await self._planned("response_url")
            if planned is not None:
                return (*planned, team)
            return 200, respond(self.workspaces[url.team_id], url, body), {}, team
        except SlackError as exc:
            return STATUS.get(exc.error, 400), exc.to_body(), {}, team

    def _record(self, call: Call) -> None:
        self.journal.append(call)
        level = logging.DEBUG if call.ok else logging.INFO
        logger.log(level, "%s %s %s", call.method, call.status, call.error or "ok")
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Return once ``condition()`` holds, checking it after each journaled call."""
        while not condition():
            await self._changed.wait()

    # --- control endpoints --------------------------------------------------------

    async def _get_journal(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        calls = [c.to_json() for c in self.journal if method is None or c.method == method]
        return web.json_response(calls)

    async def _clear_journal(self, request: web.Request) -> web.Response:
        self.journal.clear()
        return web.json_response({"ok": True})

    async def _get_state(self, request: web.Request) -> web.Response:
        return web.json_response(state_json(self.workspace))

    async def _post_message(self, request: web.Request) -> web.Response:
        values = await _control_body(request)
        ws = self.workspace
        try:
            message = ws.post(
                str(values.get("channel", "")),
                str(values.get("user", "")),
                str(values.get("text", "")),
                thread_ts=values.get("thread_ts") or None,
            )
        except SlackError as exc:
            return web.json_response(exc.to_body(), status=400)
        return web.json_response({"ok": True, "channel": message.channel, "ts": message.ts})

    async def _post_reaction(self, request: web.Request) -> web.Response:
        values = await _control_body(request)
        try:
            self.workspace.react(
                str(values.get("channel", "")),
                str(values.get("ts", "")),
                str(values.get("user", "")),
                str(values.get("name", "")),
            )
        except SlackError as exc:
            return web.json_response(exc.to_body(), status=400)
        return web.json_response({"ok": True})

    async def _post_fault(self, request: web.Request) -> web.Response:
        values = await _control_body(request)
        try:
            self.plan(values)
        except (ValueError, TypeError) as exc:
            body = {"ok": False, "error": "invalid_arguments", "detail": str(exc)}
            return web.json_response(body, status=400)
        return web.json_response({"ok": True, "pending": self.faults.pending()})

    def plan(self, values: dict[str, Any]) -> None:
        """Plan a fault or a delay from a control request's fields."""
        method = str(values.get("method") or "")
        if not method:
            raise ValueError("`method` is required")
        times = int(values.get("times", 1))
        if values.get("delay") is not None:
            self.faults.add_delay(method, float(values["delay"]), times)
            return
        fault = Fault.plan(
            status=_optional_int(values.get("status")),
            error=values.get("error") or None,
            retry_after=_optional_int(values.get("retry_after")),
        )
        self.faults.add_fault(method, fault, times)


async def read_arguments(request: web.Request) -> dict[str, Any]:
    """A call's arguments: the query string, then the body's fields over it.

    Raises:
        SlackError: ``invalid_json`` for a JSON body that is not a JSON object.
    """
    values: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            values.update(await _json_body(request))
        elif request.content_type in _FORMS:
            form = await request.post()
            values.update({k: v for k, v in form.items() if isinstance(v, str)})
    for name in JSON_ARGUMENTS:
        if isinstance(values.get(name), str) and values[name].strip():
            # left as a string when not JSON: handlers refuse it (invalid_blocks_format…)
            with contextlib.suppress(json.JSONDecodeError):
                values[name] = json.loads(values[name])
    return values


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SlackError("invalid_json", [f"the body is not JSON: {exc}"]) from exc
    if not isinstance(data, dict):
        raise SlackError("invalid_json", ["the body must be a JSON object"])
    return data


async def _control_body(request: web.Request) -> dict[str, Any]:
    try:
        return await read_arguments(request)
    except SlackError:
        return {}


async def _response_body(request: web.Request) -> dict[str, Any]:
    """A response's message: a JSON body, or a form with ``payload=<JSON>`` (or fields)."""
    if request.content_type in _FORMS:
        form = await read_arguments(request)
        payload = form.get("payload")
        if not isinstance(payload, str):
            return form
        try:
            data = json.loads(payload)
        except json.JSONDecodeError as exc:
            raise SlackError("invalid_payload", [f"`payload` is not JSON: {exc}"]) from exc
        if not isinstance(data, dict):
            raise SlackError("invalid_payload", ["`payload` must be a JSON object"])
        return data
    try:
        return await _json_body(request)
    except SlackError as exc:
        raise SlackError("invalid_payload", exc.messages) from exc


def _basic(request: web.Request) -> tuple[str, str] | None:
    """The ``(login, password)`` of HTTP Basic auth, if the request carries it.

    Decoded by hand: aiohttp 3.14 deprecates ``BasicAuth`` (its warning is an error here).
    """
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        login, colon, password = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (ValueError, UnicodeDecodeError):
        return None
    return (login, password) if colon else None


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _pop_token(values: dict[str, Any]) -> str | None:
    token = values.pop("token", None)
    return str(token) if token else None


def _optional_int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def state_json(ws: Workspace) -> dict[str, Any]:
    """The whole workspace as JSON (``GET /_sim/state``)."""
    return {
        "team": {"id": ws.team_id, "name": ws.team_name, "domain": ws.domain},
        "bot": {"user_id": ws.bot_user_id, "bot_id": ws.bot_id, "app_id": ws.app_id},
        "users": [user_json(ws, user) for user in ws.users.values()],
        "channels": [
            channel_json(ws, channel, num_members=True)
            | {"messages": [message_json(ws, m) for m in ws.all_messages(channel.id)]}
            for channel in ws.channels.values()
        ],
        "dms": {c.user: c.id for c in ws.channels.values() if c.is_im},
        "views": [view_json(ws, view) | {"user_id": view.user_id} for view in ws.views.values()],
        "ephemerals": [dataclasses.asdict(e) for e in ws.ephemerals],
    }
