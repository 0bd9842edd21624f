"""``SlackSimulator``: a local Slack Web API with state, a journal and faults on demand.

Point the real client at it and drive the people from Python::

    async with SlackSimulator(seed=demo_seed()) as sim:
        client = AsyncWebClient(token=sim.token, base_url=sim.api_url)
        ts = sim.post_message("C0ACME", "U0ACME1", "Can we export to PDF?")
        await client.reactions_add(channel="C0ACME", name="eyes", timestamp=ts)
        assert sim.reactions("C0ACME", ts) == {"eyes": ["U0BOT"]}
        sim.fail("chat.postMessage", status=429, retry_after=1)   # next call: 429
        await sim.wait_for("chat.postMessage")                      # no sleeping

A button click's ``response_url`` comes from :meth:`SlackSimulator.response_url`; a
second workspace comes from an OAuth install: :meth:`SlackSimulator.approve_install`
gives the ``code`` that ``oauth.v2.access`` exchanges for that team's bot token.

The server runs in the current event loop (aiohttp ``AppRunner``/``TCPSite``) from
``__aenter__`` to ``__aexit__``. See :mod:`bot.simulator.server` for the HTTP side and
:mod:`bot.simulator.methods` for the Web API semantics.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from bot.simulator.journal import Call, Fault
from bot.simulator.methods import permalink
from bot.simulator.oauth import DEFAULT_SCOPES, OAuthApp
from bot.simulator.seed import Seed, apply_seed
from bot.simulator.server import ApiServer, state_json
from bot.simulator.shapes import message_json, view_json
from bot.simulator.state import Workspace

_T = TypeVar("_T")


class SlackSimulator:
    """A simulated Slack workspace served over HTTP as Slack's Web API.

    Args:
        seed: The workspace to start from (see :mod:`bot.simulator.seed`).
        host: Interface to listen on.
        port: Port to listen on; 0 picks a free one (read it from ``url``).
        token: The bot token of the simulator's own workspace.
        team_id: The workspace's team; users of other teams are external.
        bot_user_id: The bot's user id (``auth.test``'s ``user_id``).
        app_id: The app's id, in every workspace it is installed in.
        client_id: The app's OAuth client id (``oauth.v2.access``).
        client_secret: The app's OAuth client secret.
        clock: Seconds since the epoch: message timestamps, response URLs' 30 minutes,
            OAuth codes' 10 minutes.
    """

    def __init__(
        self,
        *,
        seed: Seed | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "xoxb-simulator",  # noqa: S107 - the simulator's own, not a secret
        team_id: str = "T0SIM",
        bot_user_id: str = "U0BOT",
        app_id: str = "A0FEEDBACK",
        client_id: str = "1733000000.1733000001",
        client_secret: str = "simulator-client-secret",  # noqa: S107 - the simulator's own
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.app_id = app_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.workspace = Workspace(
            team_id=team_id, bot_user_id=bot_user_id, app_id=app_id, clock=clock
        )
        if seed is not None:
            apply_seed(self.workspace, seed)
        oauth = OAuthApp(client_id, client_secret, clock)
        self._server = ApiServer(self.workspace, token, oauth)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None

    def __repr__(self) -> str:
        where = self.url if self._runner is not None else "not started"
        return f"<SlackSimulator {self.team_id} {where}>"

    # --- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._runner is not None:
            raise RuntimeError(f"{self!r} is running already")
        runner = web.AppRunner(
            self._server.app,
            access_log=None,
            handle_signals=False,
            handler_cancellation=True,  # a client that gives up ends a delayed answer
            shutdown_timeout=0.25,  # and stopping does not wait for one
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self._host, self._port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    @property
    def url(self) -> str:
        """The server's root, e.g. ``http://127.0.0.1:39391`` (once started)."""
        if self._runner is None:
            raise RuntimeError("the simulator is not running: use `async with SlackSimulator()`")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self._port}"

    @property
    def api_url(self) -> str:
        """The Web API base for ``AsyncWebClient(base_url=…)``; ends in ``/api/``."""
        return f"{self.url}/api/"

    # --- people and channels -----------------------------------------------------

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        email: str | None = None,
        real_name: str | None = None,
        team_id: str | None = None,
        is_bot: bool = False,
    ) -> None:
        """Add a person (or bot); a ``team_id`` other than the simulator's is external."""
        self.workspace.add_user(
            user_id, name, email=email, real_name=real_name, team_id=team_id, is_bot=is_bot
        )

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        bot_is_member: bool = True,
        members: Iterable[str] = (),
        is_ext_shared: bool = False,
    ) -> None:
        """Add a channel. Raises ``SlackError`` for unknown members or a taken id/name."""
        self.workspace.add_channel(
            channel_id,
            name,
            is_private=is_private,
            bot_is_member=bot_is_member,
            members=members,
            is_ext_shared=is_ext_shared,
        )

    def post_message(
        self, channel: str, user: str, text: str, *, thread_ts: str | None = None
    ) -> str:
        """A person posts (in a thread with ``thread_ts``); returns the new message's ``ts``.

        Raises:
            SlackError: ``channel_not_found``, ``user_not_found``, ``thread_not_found``.
        """
        return self.workspace.post(channel, user, text, thread_ts=thread_ts).ts

    def add_reaction(self, channel: str, ts: str, user: str, name: str) -> None:
        """A person reacts to a message (the bot's reactions go through ``reactions.add``).

        Raises:
            SlackError: ``message_not_found``, ``already_reacted``, ``invalid_name``.
        """
        self.workspace.react(channel, ts, user, name)

    # --- interactions and installs ----------------------------------------------------

    def response_url(
        self,
        channel: str | None = None,
        message_ts: str | None = None,
        user: str | None = None,
        *,
        team_id: str | None = None,
    ) -> str:
        """Mint a ``response_url`` for an interaction, to put in a payload sent to the app.

        It takes Slack's ``response_url`` JSON (``text``, ``blocks``, ``response_type``,
        ``replace_original``, ``delete_original``, ``thread_ts``) up to 5 times within 30
        minutes; each use is journaled as method ``response_url`` (so
        ``await sim.wait_for("response_url")`` works) and can be failed with
        ``sim.fail("response_url", …)``. Ephemeral answers show in :meth:`ephemerals`.
        What Slack leaves undocumented (its answers past the limits…) is listed in
        :mod:`bot.simulator.respond`.

        Args:
            channel: Where the interaction happened (responses post there).
            message_ts: The message acted on (``replace_original``/``delete_original``).
            user: Who acted (ephemeral responses are for them).
            team_id: The workspace (default the simulator's own).
        """
        url = self._server.responses.mint(team_id or self.team_id, channel, message_ts, user)
        return f"{self.url}/_sim/respond/{url.id}"

    def approve_install(
        self,
        team_id: str,
        *,
        user_id: str = "U0INSTALLER",
        team_name: str | None = None,
        bot_user_id: str | None = None,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        redirect_uri: str | None = None,
    ) -> str:
        """``user_id`` approves installing the app in ``team_id``: the one-time ``code``.

        This is what Slack's install page does before redirecting to the app with
        ``?code=…&state=…``; the app exchanges the code with ``oauth.v2.access`` (within
        10 minutes, once) for the team's bot token, which every method then accepts and
        which acts on that team's workspace (made empty on its first install; see
        :meth:`workspace_of`).

        Args:
            team_id: The workspace installing the app.
            user_id: Who approves (``authed_user.id``; added to the workspace).
            team_name: ``team.name`` (default: the team id; the simulator's own team
                keeps its name).
            bot_user_id: The app's bot user there (default ``U`` + team id + ``BOT``; the
                simulator's own team keeps ``bot_user_id``).
            scopes: The bot scopes granted (``scope`` in the answer).
            redirect_uri: The authorization's ``redirect_uri``: the exchange must repeat it.
        """
        known = self._server.workspaces.get(team_id)
        return self._server.oauth.approve(
            team_id,
            team_name=known.team_name if known else team_name or team_id,
            user_id=user_id,
            bot_user_id=known.bot_user_id if known else bot_user_id or f"U{team_id[1:]}BOT",
            scopes=scopes,
            redirect_uri=redirect_uri,
        )

    def install(
        self,
        team_id: str,
        *,
        user_id: str = "U0INSTALLER",
        team_name: str | None = None,
        bot_user_id: str | None = None,
    ) -> str:
        """Install the app in ``team_id`` without the OAuth dance: the team's bot token.

        The same as :meth:`approve_install` then ``oauth.v2.access``, for tests about
        several workspaces rather than about installing.
        """
        code = self.approve_install(
            team_id, user_id=user_id, team_name=team_name, bot_user_id=bot_user_id
        )
        credentials = (self.client_id, self.client_secret)
        return self._server.install(self._server.oauth.redeem({"code": code}, credentials))[1]

    def workspace_of(self, team_id: str) -> Workspace:
        """The workspace of a team: the simulator's own, or one the app was installed in.

        Raises:
            LookupError: The app is not installed there.
        """
        ws = self._server.workspaces.get(team_id)
        if ws is None:
            raise LookupError(f"the app is not installed in {team_id}: see approve_install()")
        return ws

    def token_of(self, team_id: str) -> str:
        """The bot token the app holds for a team. Raises ``LookupError`` when not installed."""
        token = self._server.token_of(self.workspace_of(team_id))
        assert token is not None  # every workspace is made with its token
        return token

    # --- what happened -----------------------------------------------------------

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every message of a channel or DM, replies included, oldest first (Slack dicts)."""
        return [_own(message_json(self.workspace, m)) for m in self.workspace.all_messages(channel)]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """A thread's parent then its replies, oldest first."""
        messages = self.workspace.thread(channel, thread_ts)
        return [_own(message_json(self.workspace, m)) for m in messages]

    def reactions(self, channel: str, ts: str) -> dict[str, list[str]]:
        """A message's reactions: emoji name to the users who reacted, in order."""
        message = self.workspace.message(channel, ts)
        return {name: list(users) for name, users in message.reactions.items() if users}

    def permalink(self, channel: str, ts: str) -> str:
        """The permalink ``chat.getPermalink`` gives for a message."""
        return permalink(self.workspace, self.workspace.message(channel, ts))

    def dm_channel(self, user_id: str) -> str | None:
        """The ``D…`` id of the bot's DM with a user, once opened."""
        return self.workspace.dm_of(user_id)

    def dms(self, user_id: str) -> list[dict[str, Any]]:
        """What the bot posted in its DM with a user (as last updated), oldest first."""
        dm = self.workspace.dm_of(user_id)
        if dm is None:
            return []
        return [m for m in self.messages(dm) if m["user"] == self.bot_user_id]

    def ephemerals(
        self, channel: str | None = None, user: str | None = None
    ) -> list[dict[str, Any]]:
        """Ephemeral messages posted with ``chat.postEphemeral``, filtered by channel/user."""
        return [
            {"channel": e.channel, "user": e.user, "message_ts": e.ts, "text": e.text}
            | ({"blocks": _own(e.blocks)} if e.blocks else {})
            | ({"thread_ts": e.thread_ts} if e.thread_ts else {})
            for e in self.workspace.ephemerals
            if channel in (None, e.channel) and user in (None, e.user)
        ]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        """The Home tab last published for a user (view object), if any."""
        view_id = self.workspace.home_views.get(user_id)
        if view_id is None:
            return None
        return _own(view_json(self.workspace, self.workspace.views[view_id]))

    def modals(self) -> list[dict[str, Any]]:
        """Modals opened with ``views.open`` (as last updated), in opening order."""
        views = self.workspace.views.values()
        return [_own(view_json(self.workspace, v)) for v in views if v.type == "modal"]

    def state(self) -> dict[str, Any]:
        """The whole workspace as JSON (what ``GET /_sim/state`` answers)."""
        return _own(state_json(self.workspace))

    # --- journal and faults ------------------------------------------------------

    @property
    def journal(self) -> list[Call]:
        """Every Web API call in arrival order, answered or refused."""
        return self._server.journal

    def calls(self, method: str) -> list[Call]:
        """The calls of one method, successful and failed."""
        return [call for call in self._server.journal if call.method == method]

    def clear_journal(self) -> None:
        """Forget the calls so far."""
        self._server.journal.clear()

    async def wait_for(
        self,
        method: str,
        *,
        count: int = 1,
        where: Callable[[Call], bool] | None = None,
        timeout: float = 10.0,
    ) -> list[Call]:
        """Wait (without polling) until the journal holds ``count`` matching calls.

        Args:
            method: The Web API method.
            count: How many calls to wait for.
            where: Only count calls for which this returns true.
            timeout: Seconds before giving up.

        Returns:
            The matching calls.

        Raises:
            TimeoutError: Too few matching calls came in time; lists what did come.
        """
        if self._runner is None:
            raise RuntimeError("the simulator is not running: use `async with SlackSimulator()`")

        def matching() -> list[Call]:
            return [c for c in self.calls(method) if where is None or where(c)]

        try:
            async with asyncio.timeout(timeout):
                await self._server.wait_until(lambda: len(matching()) >= count)
        except TimeoutError:
            seen = ", ".join(f"{c.method}:{c.error or 'ok'}" for c in self.journal) or "nothing"
            raise TimeoutError(
                f"waited {timeout}s for {count} matching call(s) of {method}, "
                f"got {len(matching())}; journal: {seen}"
            ) from None
        return matching()

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail.

        Args:
            method: The Web API method, e.g. ``"chat.postMessage"``.
            status: HTTP status: 429 (with ``Retry-After``), 500, 503…; omitted with an
                ``error`` it is 200, Slack's usual ``ok: false``.
            error: The ``error`` code in the body (defaults: ``ratelimited`` for 429,
                ``internal_error`` for 5xx, ``service_unavailable`` for 503).
            retry_after: Seconds for ``Retry-After`` (429's default: 1).
            times: How many calls fail.

        Raises:
            ValueError: Nothing to fail with, a bad status or ``times`` below 1.
        """
        fault = Fault.plan(status=status, error=error, retry_after=retry_after)
        self._server.faults.add_fault(method, fault, times)

    def delay(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the answers to the next ``times`` calls of ``method`` for ``seconds``."""
        self._server.faults.add_delay(method, seconds, times)

    def pending_faults(self) -> dict[str, int]:
        """Faults and delays planned but not used yet, per method (``{}`` once all fired)."""
        return self._server.faults.pending()


def _own(value: _T) -> _T:
    """A deep copy, so callers cannot change the simulator's state through what it returns."""
    return copy.deepcopy(value)
