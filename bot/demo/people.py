"""What people do in Slack, as Slack shows it to the app.

A person posts, reacts, clicks, types a command or opens the App Home: :class:`People`
records it in the simulator's workspace (so that ``conversations.replies`` and the
rest see it) and sends the app the signed request Slack would send to its Request
URL, over real HTTP. Every action is also noted, for the transcript.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bot.simulator import SlackSimulator
from bot.simulator import slack_requests as slack

__all__ = ["Action", "AppRefused", "Button", "People", "buttons"]


class AppRefused(Exception):
    """The app answered a request with an error status (the demo stops)."""


@dataclass(frozen=True)
class Action:
    """Something a person did, for the transcript."""

    user: str
    where: str  # a channel id, ``home``, or ``""``
    what: str


@dataclass(frozen=True)
class Button:
    """A button in a message or view, as Slack shows it."""

    label: str
    action_id: str
    value: str
    style: str | None = None
    beside: str = ""  # the first line of the section a button sits in, if any

    def __str__(self) -> str:
        return f"[{self.label}]" + (f" beside {self.beside}" if self.beside else "")


def buttons(blocks: list[dict[str, Any]]) -> list[Button]:
    """The buttons of a message's or a view's blocks, in order."""
    found = []
    for block in blocks:
        elements = [*block.get("elements", []), block.get("accessory") or {}]
        said = (block.get("text") or {}).get("text", "") if block.get("type") == "section" else ""
        for element in elements:
            if element.get("type") == "button":
                found.append(
                    Button(
                        label=element["text"]["text"],
                        action_id=element["action_id"],
                        value=element.get("value", ""),
                        style=element.get("style"),
                        beside=said.split("\n")[0],
                    )
                )
    return found


class People:
    """The people of the simulated workspace, acting in Slack.

    Args:
        sim: The Slack simulator (the workspace).
        http: A client whose base URL is the app's (``POST /slack/events``).
        noted: Called with each :class:`Action` (the transcript).
        secret: The app's signing secret.
    """

    def __init__(
        self,
        sim: SlackSimulator,
        http: httpx.AsyncClient,
        noted: Callable[[Action], None],
        *,
        secret: str = slack.SIGNING_SECRET,
    ) -> None:
        self.sim = sim
        self._http = http
        self._noted = noted
        self._secret = secret

    async def _send(self, request: slack.SlackRequest) -> httpx.Response:
        body, headers = request
        answer = await self._http.post("/slack/events", content=body, headers=headers)
        if answer.status_code >= 400:
            raise AppRefused(f"the app answered {answer.status_code}: {answer.text[:200]}")
        return answer

    def post(self, user: str, channel: str, text: str, *, thread_ts: str | None = None) -> str:
        """``user`` posts ``text`` (the bot is not subscribed to messages: Slack sends the
        app nothing); returns the message's ``ts``."""
        ts = self.sim.post_message(channel, user, text, thread_ts=thread_ts)
        self._noted(Action(user, channel, f"says: {text}"))
        return ts

    async def react(self, user: str, channel: str, ts: str, emoji: str) -> None:
        """``user`` adds ``:emoji:`` to the message ``ts``."""
        self.sim.add_reaction(channel, ts, user, emoji)
        author = self.sim.workspace.message(channel, ts).user
        self._noted(Action(user, channel, f"reacts :{emoji}: to {self.name(author)}'s message"))
        await self._send(
            slack.reaction_added(channel, ts, user, emoji, item_user=author, secret=self._secret)
        )

    async def mention(
        self, user: str, channel: str, text: str, *, thread_ts: str | None = None
    ) -> str:
        """``user`` posts ``text`` mentioning the bot (``<@U0BOT>`` in it)."""
        ts = self.sim.post_message(channel, user, text, thread_ts=thread_ts)
        self._noted(Action(user, channel, f"says: {text}"))
        parent = self.sim.workspace.message(channel, thread_ts).user if thread_ts else "U0BOT"
        await self._send(
            slack.app_mention(
                channel,
                user,
                text,
                ts=ts,
                thread_ts=thread_ts,
                parent_user_id=parent,
                secret=self._secret,
            )
        )
        return ts

    async def command(self, user: str, channel: str, text: str) -> httpx.Response:
        """``user`` types ``/feedback text`` in ``channel``; returns the app's answer
        (its ephemeral reply, if any, is in the body)."""
        self._noted(Action(user, channel, f"types /feedback {text}"))
        url = self.sim.response_url(channel, user=user)
        return await self._send(
            slack.command(text, user, channel, response_url=url, secret=self._secret)
        )

    async def click(
        self, user: str, message: Mapping[str, Any], button: Button, *, channel: str
    ) -> None:
        """``user`` clicks ``button`` in ``message`` (as ``sim.messages`` gives it)."""
        self._noted(Action(user, channel, f"clicks {button}"))
        url = self.sim.response_url(channel, message["ts"], user)
        await self._send(
            slack.block_action(
                button.action_id,
                button.value,
                user,
                channel=channel,
                message=message,
                response_url=url,
                secret=self._secret,
            )
        )

    async def click_home(self, user: str, button: Button) -> None:
        """``user`` clicks ``button`` on the App Home tab."""
        view = self.sim.home_view(user)
        if view is None:
            raise LookupError(f"{self.name(user)} has no Home tab yet")
        self._noted(Action(user, "home", f"clicks {button} on the App Home"))
        await self._send(
            slack.block_action(
                button.action_id,
                button.value,
                user,
                container="home",
                view_id=view["id"],
                secret=self._secret,
            )
        )

    async def shortcut(self, user: str, callback_id: str, label: str) -> dict[str, Any]:
        """``user`` runs the global shortcut ``callback_id``; returns the form it opened."""
        self._noted(Action(user, "", f"runs the shortcut “{label}”"))
        opened = len(self.sim.modals())
        await self._send(slack.global_shortcut(user, callback_id, secret=self._secret))
        modals = self.sim.modals()
        if len(modals) == opened:
            raise AppRefused(f"the shortcut {callback_id!r} opened no form")
        return modals[-1]

    async def submit(
        self, user: str, view: Mapping[str, Any], values: Mapping[str, Any], shown: str
    ) -> httpx.Response:
        """``user`` submits the form ``view`` with ``values`` (``view.state.values``)."""
        self._noted(Action(user, "modal", f"submits the form: {shown}"))
        return await self._send(
            slack.view_submission(
                user,
                values,
                callback_id=view["callback_id"],
                view_id=view["id"],
                private_metadata=view.get("private_metadata", ""),
                secret=self._secret,
            )
        )

    async def open_home(self, user: str) -> None:
        """``user`` opens the app's Home tab (Slack sends the view published before)."""
        self._noted(Action(user, "home", "opens the App Home"))
        view = self.sim.home_view(user)
        await self._send(slack.app_home_opened(user, view=view, secret=self._secret))

    def name(self, user: str) -> str:
        """A person's display name (real name, else handle)."""
        try:
            person = self.sim.workspace.user(user)
        except Exception:  # an id the workspace does not know: show it as it is
            return user
        return person.real_name or person.name

    def dm(self, user: str) -> list[dict[str, Any]]:
        """The bot's messages in its DM with ``user`` (as last updated)."""
        return self.sim.dms(user)


def decoded(value: str) -> Any:
    """A button's value, decoded when it is JSON (the bot's are)."""
    try:
        return json.loads(value)
    except ValueError:
        return value
