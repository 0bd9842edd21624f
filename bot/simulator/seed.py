"""Seed files: a readable TOML description of the workspace the simulator starts with.

The format (every table optional; ``demo_seed.toml`` beside this module is a full
example)::

    [workspace]
    name = "Brightloop"            # team name (auth.test); default "Simulator"
    domain = "simulator"           # permalinks https://<domain>.slack.com/…; the default

    [[users]]                      # one table per person or bot
    id = "U0SALES"                 # required
    name = "dana"                  # required: the handle
    real_name = "Dana Whitfield"   # optional
    email = "dana@brightloop.example"  # optional: users.info profile.email, lookupByEmail
    team_id = "T0ACME"             # optional: another team makes a Slack Connect user
    is_bot = false                 # optional; list the bot (its id = the bot user id)
                                   # to name it

    [[channels]]
    id = "C0ACME"                  # required
    name = "acme-shared"           # required (a leading "#" is dropped)
    members = ["U0SALES"]          # optional: people in it (posters join on posting)
    is_private = false             # optional
    is_ext_shared = true           # optional: a Slack Connect channel
    bot_is_member = true           # optional, default true

    [[messages]]                   # top-level messages, in the order they were posted
    channel = "C0ACME"             # required
    user = "U0ACME1"               # required
    text = "Can we export dashboards to PDF?"   # required
    ts = "1733000000.000100"       # optional: default a fresh timestamp at load time
    reactions = { eyes = ["U0CS"] }  # optional: emoji name (no colons) -> who reacted

    [[messages.replies]]           # optional: the thread under the message above
    user = "U0SALES"               # required
    text = "Checking with product." # required
    ts = "1733000000.000200"       # optional, as above
    reactions = {}                 # optional, as above

Unknown keys, wrong types and references to unknown users or channels are refused
with a :class:`~bot.simulator.errors.SeedError` that names the file and the entry.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.simulator.errors import SeedError, SlackError
from bot.simulator.state import Workspace

DEMO_SEED = "demo_seed.toml"
"""The example seed shipped in this package (see :func:`demo_seed`)."""


@dataclass(frozen=True)
class SeedUser:
    """A ``[[users]]`` entry (the arguments of ``SlackSimulator.add_user``)."""

    id: str
    name: str
    email: str | None = None
    real_name: str | None = None
    team_id: str | None = None
    is_bot: bool = False


@dataclass(frozen=True)
class SeedChannel:
    """A ``[[channels]]`` entry (the arguments of ``SlackSimulator.add_channel``)."""

    id: str
    name: str
    is_private: bool = False
    bot_is_member: bool = True
    members: tuple[str, ...] = ()
    is_ext_shared: bool = False


@dataclass(frozen=True)
class SeedReply:
    """A ``[[messages.replies]]`` entry: a reply in the thread of its message."""

    user: str
    text: str
    ts: str | None = None
    reactions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class SeedMessage:
    """A ``[[messages]]`` entry: a top-level message and its thread."""

    channel: str
    user: str
    text: str
    ts: str | None = None
    reactions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    replies: tuple[SeedReply, ...] = ()


@dataclass(frozen=True)
class Seed:
    """A workspace to start from: people, channels and messages with their threads."""

    users: tuple[SeedUser, ...] = ()
    channels: tuple[SeedChannel, ...] = ()
    messages: tuple[SeedMessage, ...] = ()
    team_name: str | None = None
    domain: str | None = None


def load_seed(path: str | Path) -> Seed:
    """Read a seed file.

    Raises:
        SeedError: The file is missing, not TOML, or breaks the format.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror or exc}") from exc
    return parse_seed(text, source=str(path))


def demo_seed() -> Seed:
    """The example workspace shipped with the package (``demo_seed.toml``)."""
    text = importlib.resources.files("bot.simulator").joinpath(DEMO_SEED).read_text("utf-8")
    return parse_seed(text, source=DEMO_SEED)


def parse_seed(text: str, *, source: str = "<seed>") -> Seed:
    """Parse a seed from TOML text; ``source`` names it in errors.

    Raises:
        SeedError: Not TOML, or breaks the format.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SeedError(f"{source}: not valid TOML: {exc}") from exc
    _check_keys(data, {"workspace", "users", "channels", "messages"}, set(), source)
    workspace = _table(data.get("workspace", {}), "workspace", source)
    _check_keys(workspace, {"name", "domain"}, set(), f"{source} [workspace]")
    return Seed(
        users=tuple(_user(e, f"{source} users[{i}]") for i, e in _entries(data, "users", source)),
        channels=tuple(
            _channel(e, f"{source} channels[{i}]") for i, e in _entries(data, "channels", source)
        ),
        messages=tuple(
            _message(e, f"{source} messages[{i}]") for i, e in _entries(data, "messages", source)
        ),
        team_name=_opt_str(workspace, "name", source),
        domain=_opt_str(workspace, "domain", source),
    )


def apply_seed(ws: Workspace, seed: Seed) -> None:
    """Load a seed into a workspace: users, then channels, then messages and threads.

    Raises:
        SeedError: An entry names an unknown user or channel, or a taken ``ts``.
    """
    ws.team_name = seed.team_name or ws.team_name
    ws.domain = seed.domain or ws.domain
    for user in seed.users:
        ws.add_user(
            user.id,
            user.name,
            email=user.email,
            real_name=user.real_name,
            team_id=user.team_id,
            is_bot=user.is_bot,
        )
    for index, channel in enumerate(seed.channels):
        with _entry(f"channels[{index}] ({channel.id})"):
            ws.add_channel(
                channel.id,
                channel.name,
                is_private=channel.is_private,
                bot_is_member=channel.bot_is_member,
                members=channel.members,
                is_ext_shared=channel.is_ext_shared,
            )
    for index, message in enumerate(seed.messages):
        with _entry(f"messages[{index}] in {message.channel}"):
            _post_thread(ws, message)


def _post_thread(ws: Workspace, message: SeedMessage) -> None:
    parent = ws.post(message.channel, message.user, message.text, ts=message.ts)
    _react(ws, message.channel, parent.ts, message.reactions)
    for reply in message.replies:
        posted = ws.post(message.channel, reply.user, reply.text, thread_ts=parent.ts, ts=reply.ts)
        _react(ws, message.channel, posted.ts, reply.reactions)


def _react(ws: Workspace, channel: str, ts: str, reactions: Mapping[str, tuple[str, ...]]) -> None:
    for name, users in reactions.items():
        for user in users:
            ws.react(channel, ts, user, name)


@contextlib.contextmanager
def _entry(where: str) -> Iterator[None]:
    """Turn a ``SlackError`` while applying one seed entry into a ``SeedError`` naming it."""
    try:
        yield
    except SlackError as exc:
        raise SeedError(f"seed {where}: {exc}") from exc


# --- parsing helpers -------------------------------------------------------------------


def _entries(data: Mapping[str, Any], key: str, source: str) -> list[tuple[int, dict[str, Any]]]:
    items = data.get(key, [])
    if not isinstance(items, list):
        raise SeedError(f"{source}: `{key}` must be an array of tables ([[{key}]])")
    return [(i, _table(item, f"{key}[{i}]", source)) for i, item in enumerate(items)]


def _table(value: object, where: str, source: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SeedError(f"{source}: {where} must be a table")
    return value


def _check_keys(
    entry: Mapping[str, Any], allowed: set[str], required: set[str], where: str
) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise SeedError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")
    missing = sorted(required - set(entry))
    if missing:
        raise SeedError(f"{where}: missing key(s) {missing}")


def _str(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry[key]
    if not isinstance(value, str) or not value:
        raise SeedError(f"{where}: `{key}` must be a non-empty string")
    return value


def _opt_str(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if entry.get(key) is None else _str(entry, key, where)


def _bool(entry: Mapping[str, Any], key: str, default: bool, where: str) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise SeedError(f"{where}: `{key}` must be true or false")
    return value


def _ids(value: object, key: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SeedError(f"{where}: `{key}` must be an array of user ids")
    return tuple(value)


def _user(entry: dict[str, Any], where: str) -> SeedUser:
    allowed = {"id", "name", "email", "real_name", "team_id", "is_bot"}
    _check_keys(entry, allowed, {"id", "name"}, where)
    return SeedUser(
        id=_str(entry, "id", where),
        name=_str(entry, "name", where),
        email=_opt_str(entry, "email", where),
        real_name=_opt_str(entry, "real_name", where),
        team_id=_opt_str(entry, "team_id", where),
        is_bot=_bool(entry, "is_bot", False, where),
    )


def _channel(entry: dict[str, Any], where: str) -> SeedChannel:
    allowed = {"id", "name", "is_private", "bot_is_member", "members", "is_ext_shared"}
    _check_keys(entry, allowed, {"id", "name"}, where)
    return SeedChannel(
        id=_str(entry, "id", where),
        name=_str(entry, "name", where).removeprefix("#"),
        is_private=_bool(entry, "is_private", False, where),
        bot_is_member=_bool(entry, "bot_is_member", True, where),
        members=_ids(entry.get("members", []), "members", where),
        is_ext_shared=_bool(entry, "is_ext_shared", False, where),
    )


def _reactions(entry: Mapping[str, Any], where: str) -> dict[str, tuple[str, ...]]:
    table = entry.get("reactions", {})
    if not isinstance(table, dict):
        raise SeedError(f"{where}: `reactions` must be a table of emoji name = [user ids]")
    return {name: _ids(users, f"reactions.{name}", where) for name, users in table.items()}


def _reply(entry: dict[str, Any], where: str) -> SeedReply:
    _check_keys(entry, {"user", "text", "ts", "reactions"}, {"user", "text"}, where)
    return SeedReply(
        user=_str(entry, "user", where),
        text=_str(entry, "text", where),
        ts=_opt_str(entry, "ts", where),
        reactions=_reactions(entry, where),
    )


def _message(entry: dict[str, Any], where: str) -> SeedMessage:
    allowed = {"channel", "user", "text", "ts", "reactions", "replies"}
    _check_keys(entry, allowed, {"channel", "user", "text"}, where)
    replies = entry.get("replies", [])
    if not isinstance(replies, list):
        raise SeedError(f"{where}: `replies` must be an array of tables ([[messages.replies]])")
    return SeedMessage(
        channel=_str(entry, "channel", where),
        user=_str(entry, "user", where),
        text=_str(entry, "text", where),
        ts=_opt_str(entry, "ts", where),
        reactions=_reactions(entry, where),
        replies=tuple(
            _reply(_table(r, f"replies[{i}]", where), f"{where} replies[{i}]")
            for i, r in enumerate(replies)
        ),
    )
