"""The simulated workspace: people, channels, messages, threads, DMs, reactions, views.

Pure state and Slack's rules over it, with no I/O: the HTTP server and the method
handlers call it, and tests drive it directly. Every refusal is a
:class:`~bot.simulator.errors.SlackError` carrying Slack's own error code.

Rules worth knowing (they are Slack's, as the bot sees them with a bot token):

- Timestamps are Slack's ``"<seconds>.<microseconds>"`` strings, made by one
  monotonic clock for the whole workspace, so they are unique and ordered.
- A private channel (or a DM) the bot is not in does not exist for the bot
  (``channel_not_found``); a public one it has not joined refuses reads and posts
  with ``not_in_channel``.
- A reply names its parent in ``thread_ts``; a reply to a reply joins the parent's
  thread, as in Slack's clients.
- The bot may only edit its own messages (``cant_update_message``).
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.simulator.errors import SlackError

_TS = re.compile(r"^(\d{1,12})(?:\.(\d{1,6}))?$")


def ts_to_micros(ts: str) -> int:
    """Parse a Slack timestamp (``"1733000000.000100"``, or whole seconds) to microseconds.

    Raises:
        ValueError: ``ts`` is not a Slack timestamp.
    """
    match = _TS.match(ts)
    if match is None:
        raise ValueError(f"not a Slack timestamp: {ts!r}")
    seconds, fraction = match.groups()
    return int(seconds) * 1_000_000 + int((fraction or "").ljust(6, "0"))


def micros_to_ts(micros: int) -> str:
    """Format microseconds as a Slack timestamp with six decimals."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


@dataclass
class User:
    """A person or bot. ``team_id`` other than the workspace's marks a Slack Connect user."""

    id: str
    name: str
    team_id: str
    email: str | None = None
    real_name: str | None = None
    is_bot: bool = False


@dataclass
class Message:
    """A message as stored: top-level, thread parent or reply.

    Attributes:
        thread_ts: The parent's ``ts`` on a reply; ``None`` on top-level messages.
        replies: The replies' ``ts`` in order, on a parent.
        reactions: Emoji name to the users who reacted, in order.
        edited: The ``ts`` of the last ``chat.update``.
    """

    channel: str
    ts: str
    user: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    replies: list[str] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    edited: str | None = None

    @property
    def is_reply(self) -> bool:
        """Whether the message sits in a thread under another message."""
        return self.thread_ts is not None


@dataclass
class Channel:
    """A channel or a DM (``is_im``, whose other party is ``user``)."""

    id: str
    name: str
    created: int
    is_private: bool = False
    is_im: bool = False
    is_ext_shared: bool = False
    user: str | None = None
    members: set[str] = field(default_factory=set)
    messages: dict[str, Message] = field(default_factory=dict)
    timeline: list[str] = field(default_factory=list)
    """Top-level messages' ``ts``, oldest first."""


@dataclass
class View:
    """A modal opened with ``views.open`` or a Home tab published with ``views.publish``."""

    id: str
    type: str
    spec: dict[str, Any]
    hash: str
    user_id: str | None = None
    trigger_id: str | None = None
    root_view_id: str | None = None
    previous_view_id: str | None = None

    @property
    def external_id(self) -> str:
        """The caller's own id for the view (``""`` when none was given)."""
        return str(self.spec.get("external_id") or "")


@dataclass(frozen=True)
class Ephemeral:
    """A message only ``user`` sees; never stored in the channel."""

    channel: str
    user: str
    ts: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    thread_ts: str | None = None


class Workspace:
    """One Slack workspace as the bot sees it.

    Args:
        team_id: The workspace's team id; users of other teams are external.
        bot_user_id: The bot's user id (the token's owner).
        team_name: Shown by ``auth.test``.
        domain: Subdomain of permalinks (``https://<domain>.slack.com/…``).
        app_id: The app's id (default ``A`` + the team id without its ``T``).
        clock: Seconds since the epoch; timestamps never go backwards even if it does.
    """

    def __init__(
        self,
        *,
        team_id: str = "T0SIM",
        bot_user_id: str = "U0BOT",
        team_name: str = "Simulator",
        domain: str = "simulator",
        app_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.app_id = app_id or "A" + team_id[1:]
        self.team_name = team_name
        self.domain = domain
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.views: dict[str, View] = {}
        self.home_views: dict[str, str] = {}
        self.ephemerals: list[Ephemeral] = []
        self._clock = clock
        self._last_micros = 0
        self._view_count = 0
        self.add_user(bot_user_id, "feedbackbot", real_name="Feedback Bot", is_bot=True)

    # --- time ------------------------------------------------------------------

    @property
    def clock(self) -> Callable[[], float]:
        """The workspace's clock (seconds since the epoch), shared by what lives beside it."""
        return self._clock

    def now(self) -> int:
        """The clock in whole seconds."""
        return int(self._clock())

    def new_ts(self) -> str:
        """A fresh timestamp, later than every timestamp made or stored so far."""
        self._last_micros = max(int(self._clock() * 1_000_000), self._last_micros + 1)
        return micros_to_ts(self._last_micros)

    # --- people and channels ---------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        email: str | None = None,
        real_name: str | None = None,
        team_id: str | None = None,
        is_bot: bool = False,
    ) -> User:
        """Add a user, or replace the one with that id (the bot user stays a bot)."""
        is_bot = is_bot or user_id == self.bot_user_id
        user = User(user_id, name, team_id or self.team_id, email, real_name, is_bot)
        self.users[user_id] = user
        return user

    def is_external(self, user: User) -> bool:
        """Whether the user belongs to another team (Slack Connect)."""
        return user.team_id != self.team_id

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        bot_is_member: bool = True,
        members: Iterable[str] = (),
        is_ext_shared: bool = False,
    ) -> Channel:
        """Add a channel; every member must be a known user.

        Raises:
            SlackError: ``user_not_found`` for an unknown member, ``name_taken`` when
                the id or the name is already in use.
        """
        people = set(members) | ({self.bot_user_id} if bot_is_member else set())
        for user_id in sorted(people):
            self.user(user_id)
        if channel_id in self.channels or self.find_by_name(name) is not None:
            raise SlackError("name_taken", [f"channel {channel_id} #{name} exists already"])
        channel = Channel(channel_id, name, self.now(), is_private, False, is_ext_shared)
        channel.members = people
        self.channels[channel_id] = channel
        return channel

    def user(self, user_id: str) -> User:
        """The user with that id. Raises ``SlackError("user_not_found")``."""
        user = self.users.get(user_id)
        if user is None:
            raise SlackError("user_not_found")
        return user

    def user_by_email(self, email: str) -> User:
        """The user with that email, ignoring case. Raises ``SlackError("users_not_found")``."""
        wanted = email.strip().lower()
        for user in self.users.values():
            if user.email is not None and user.email.lower() == wanted:
                return user
        raise SlackError("users_not_found")

    def find_by_name(self, name: str) -> Channel | None:
        """The channel (not DM) called ``name`` (with or without ``#``)."""
        bare = name.removeprefix("#")
        return next((c for c in self.channels.values() if c.name == bare and not c.is_im), None)

    def channel(self, channel_id: str) -> Channel:
        """Any channel or DM by id, as the simulator's owner sees it (no visibility rules)."""
        channel = self.channels.get(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def visible_channel(self, channel_id: str) -> Channel:
        """A channel the bot can see: public, or private/DM with the bot as a member."""
        channel = self.channels.get(channel_id)
        if channel is None or (
            (channel.is_private or channel.is_im) and self.bot_user_id not in channel.members
        ):
            raise SlackError("channel_not_found")
        return channel

    def member_channel(self, channel_id: str) -> Channel:
        """A channel the bot can read and post in. Raises ``not_in_channel`` for public ones."""
        channel = self.visible_channel(channel_id)
        if self.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
        return channel

    def open_dm(self, user_id: str) -> tuple[Channel, bool]:
        """The bot's DM with a user, opened if needed; also says whether it was already open.

        Raises:
            SlackError: ``user_not_found``; ``cannot_dm_bot`` for the bot itself.
        """
        user = self.user(user_id)
        if user.id == self.bot_user_id:
            raise SlackError("cannot_dm_bot")
        existing = self.dm_of(user_id)
        if existing is not None:
            return self.channels[existing], True
        dm_id = "D" + user_id[1:]
        while dm_id in self.channels:
            dm_id += "X"
        dm = Channel(dm_id, dm_id, self.now(), is_private=True, is_im=True, user=user_id)
        dm.members = {self.bot_user_id, user_id}
        self.channels[dm_id] = dm
        return dm, False

    def dm_of(self, user_id: str) -> str | None:
        """The id of the bot's DM with a user, if it was opened."""
        return next((c.id for c in self.channels.values() if c.is_im and c.user == user_id), None)

    # --- messages ----------------------------------------------------------------

    def post(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
        thread_ts: str | None = None,
        ts: str | None = None,
    ) -> Message:
        """Store a message; no visibility rules (the caller checks them for the bot).

        Args:
            thread_ts: A message of the channel to reply to; a reply's ``ts`` means
                its parent's thread.
            ts: An explicit timestamp (seeds); default a fresh one.

        Raises:
            SlackError: ``channel_not_found``, ``user_not_found``, ``thread_not_found``
                or ``invalid_arguments`` for a bad or taken explicit ``ts``.
        """
        channel = self.channel(channel_id)
        self.user(user_id)
        parent = self._thread_parent(channel, thread_ts) if thread_ts else None
        message_ts = self._take_ts(channel, ts) if ts is not None else self.new_ts()
        message = Message(channel.id, message_ts, user_id, text, blocks, metadata)
        channel.messages[message_ts] = message
        if parent is None:
            bisect.insort(channel.timeline, message_ts, key=ts_to_micros)
        else:
            message.thread_ts = parent.ts
            bisect.insort(parent.replies, message_ts, key=ts_to_micros)
        if not channel.is_im:
            channel.members.add(user_id)
        return message

    def _thread_parent(self, channel: Channel, thread_ts: str) -> Message:
        target = channel.messages.get(thread_ts)
        if target is None:
            why = f"no message {thread_ts} in {channel.id} to reply to"
            raise SlackError("thread_not_found", [why])
        return channel.messages[target.thread_ts] if target.thread_ts else target

    def _take_ts(self, channel: Channel, ts: str) -> str:
        try:
            micros = ts_to_micros(ts)
        except ValueError as exc:
            raise SlackError("invalid_arguments", [str(exc)]) from exc
        canonical = micros_to_ts(micros)
        if canonical in channel.messages:
            raise SlackError("invalid_arguments", [f"{channel.id} has a message {canonical}"])
        self._last_micros = max(self._last_micros, micros)
        return canonical

    def message(self, channel_id: str, ts: str) -> Message:
        """A message by channel and exact ``ts``. Raises ``message_not_found``."""
        message = self.channel(channel_id).messages.get(ts)
        if message is None:
            raise SlackError("message_not_found")
        return message

    def top_level(self, channel_id: str) -> list[Message]:
        """The channel's top-level messages (thread parents included), oldest first."""
        channel = self.channel(channel_id)
        return [channel.messages[ts] for ts in channel.timeline]

    def thread(self, channel_id: str, ts: str) -> list[Message]:
        """A parent then its replies, oldest first; a lone message for a reply's ``ts``."""
        message = self.message(channel_id, ts)
        if message.is_reply:
            return [message]
        channel = self.channels[channel_id]
        return [message, *(channel.messages[reply] for reply in message.replies)]

    def all_messages(self, channel_id: str) -> list[Message]:
        """Top-level messages and replies of a channel, in ``ts`` order."""
        channel = self.channel(channel_id)
        return sorted(channel.messages.values(), key=lambda m: ts_to_micros(m.ts))

    def update(
        self,
        channel_id: str,
        ts: str,
        editor: str,
        *,
        text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """Edit a message's text, blocks or metadata (only what is given).

        Raises:
            SlackError: ``message_not_found``; ``cant_update_message`` when ``editor``
                is not the author.
        """
        message = self.message(channel_id, ts)
        if message.user != editor:
            raise SlackError("cant_update_message")
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks or None
        if metadata is not None:
            message.metadata = metadata
        message.edited = self.new_ts()
        return message

    def delete(self, channel_id: str, ts: str) -> None:
        """Remove a message (a parent takes its replies with it). Raises ``message_not_found``."""
        message = self.message(channel_id, ts)
        channel = self.channels[channel_id]
        if message.thread_ts is not None:
            channel.messages[message.thread_ts].replies.remove(ts)
        else:
            channel.timeline.remove(ts)
            for reply in message.replies:
                del channel.messages[reply]
        del channel.messages[ts]

    def react(self, channel_id: str, ts: str, user_id: str, name: str) -> None:
        """Add ``user_id``'s reaction ``name`` (no colons) to a message.

        Raises:
            SlackError: ``invalid_name``, ``message_not_found``, ``user_not_found``,
                ``already_reacted``.
        """
        if not re.fullmatch(r"[a-z0-9_+'\-]+(::skin-tone-[2-6])?", name):
            raise SlackError("invalid_name", [f"not an emoji name: {name!r} (no colons)"])
        message = self.message(channel_id, ts)
        self.user(user_id)
        users = message.reactions.setdefault(name, [])
        if user_id in users:
            raise SlackError("already_reacted")
        users.append(user_id)

    def add_ephemeral(
        self,
        channel_id: str,
        user_id: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        check_member: bool = True,
    ) -> Ephemeral:
        """Record a message only ``user_id`` sees.

        Args:
            check_member: Refuse a user outside the channel (``user_not_in_channel``), as
                ``chat.postEphemeral`` does; a ``response_url`` answers whoever acted.
        """
        channel = self.channel(channel_id)
        if check_member and user_id not in channel.members:
            raise SlackError("user_not_in_channel")
        ephemeral = Ephemeral(channel.id, user_id, self.new_ts(), text, blocks, thread_ts)
        self.ephemerals.append(ephemeral)
        return ephemeral

    def replace_ephemeral(
        self, ts: str, *, text: str, blocks: list[dict[str, Any]] | None
    ) -> Ephemeral | None:
        """Replace an ephemeral's content by its ``ts``; ``None`` when there is none."""
        for index, ephemeral in enumerate(self.ephemerals):
            if ephemeral.ts == ts:
                replaced = dataclasses.replace(ephemeral, text=text, blocks=blocks)
                self.ephemerals[index] = replaced
                return replaced
        return None

    # --- views ---------------------------------------------------------------------

    def open_view(self, spec: dict[str, Any], trigger_id: str) -> View:
        """Open a modal from a trigger."""
        view = View(self._new_view_id(), "modal", spec, "", trigger_id=trigger_id)
        view.root_view_id = view.id
        view.hash = self._new_hash(view.id)
        self.views[view.id] = view
        return view

    def publish_home(self, user_id: str, spec: dict[str, Any], expected_hash: str | None) -> View:
        """Publish a user's Home tab; its id stays the same across publishes.

        Raises:
            SlackError: ``user_not_found``; ``hash_conflict`` when ``expected_hash`` is
                not the current view's hash.
        """
        self.user(user_id)
        current = self.views.get(self.home_views.get(user_id, ""))
        if current is None:
            current = View(self._new_view_id(), "home", spec, "", user_id=user_id)
            current.root_view_id = current.id
            self.views[current.id] = current
            self.home_views[user_id] = current.id
        elif expected_hash and expected_hash != current.hash:
            raise SlackError("hash_conflict")
        current.spec = spec
        current.hash = self._new_hash(current.id)
        return current

    def find_view(self, view_id: str | None, external_id: str | None) -> View:
        """A view by id or by external id. Raises ``not_found``."""
        for view in self.views.values():
            if (view_id and view.id == view_id) or (
                external_id and view.external_id == external_id
            ):
                return view
        raise SlackError("not_found")

    def update_view(self, view: View, spec: dict[str, Any], expected_hash: str | None) -> View:
        """Replace a view's content. Raises ``hash_conflict`` for a stale hash."""
        if expected_hash and expected_hash != view.hash:
            raise SlackError("hash_conflict")
        view.spec = spec
        view.hash = self._new_hash(view.id)
        return view

    def _new_view_id(self) -> str:
        self._view_count += 1
        return f"V0SIM{self._view_count:05d}"

    def _new_hash(self, view_id: str) -> str:
        stamp = self.new_ts()
        digest = hashlib.sha1(f"{view_id}:{stamp}".encode(), usedforsecurity=False)
        return f"{stamp.split('.')[0]}.{digest.hexdigest()[:8]}"
