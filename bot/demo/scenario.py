"""The demo's scenario: a morning in the workspace, played through Slack's requests.

Each scene is something people do in Slack (post, react, click, type a command, open
the App Home); the bot answers through the real app and workflows. After each action
the scene waits until no run is pending or running (runs waiting for a person or a
timer may stay), then checks what a person would see, so a broken bot fails the demo
with the reason instead of printing a pretty but wrong story.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bot.demo.people import Button, People, buttons
from bot.demo.settle import settled
from bot.demo.stage import Stage
from bot.demo.transcript import Transcript
from feedback.schema import feedback_items, requests
from workflows.engine import Engine
from workflows.reports import area_insights, weekly_digest

__all__ = ["DemoFailed", "Outcome", "play"]

# the cast (bot/demo/workspace.toml)
DANA, MARCUS, SOFIA, PRIYA = "U0DANA", "U0MARCUS", "U0SOFIA", "U0PRIYA"
JORDAN, KAI, NINA = "U0JORDAN", "U0KAI", "U0NINA"
ACME, GLOBEX, INITECH = "C0ACME0001", "C0GLOBEX01", "C0INITECH1"
REPORTING = "C0AREAREP1"
EMOJI = "gtm-feedback"

CONFIDENT = (  # scores 0.91 against the request: a link with room to spare
    "We need to export dashboards to PDF for our board decks and monthly business reviews."
)
UNSURE = "Our IT team wants people to log in with their Okta accounts."
TWO_ASKS = (
    "The Excel export should keep our formatting. Also, the mobile app needs to work "
    "offline in the warehouse."
)
NOTHING_LIKE_IT = "Could you add Gantt charts so we can plan our rollout milestones?"
HAND_TITLE = "Annotations on charts"
HAND_TEXT = "Let people pin a note to a point on a chart, e.g. to explain a dip."
SHIPPED = "Export dashboards to PDF"


class DemoFailed(Exception):
    """The bot did not do what the scene expects; the message says what was missing."""


@dataclass
class Outcome:
    """What the demo did, for its summary."""

    first_run: str = ""
    feedback: int = 0
    requests: int = 0
    checks: list[str] = field(default_factory=list)


class Scene:
    """What every scene needs: the people, the transcript, the engine and checks."""

    def __init__(self, stage: Stage, transcript: Transcript) -> None:
        self.stage = stage
        self.t = transcript
        self.people = People(stage.sim, stage.http, transcript.note, secret=stage.secret)
        self.engine: Engine = stage.running.bot.engine
        self.outcome = Outcome()

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until no run is pending or running, then show what the bot did."""
        try:
            failed = await settled(self.engine, timeout=timeout)
        except TimeoutError:
            raise DemoFailed(f"runs were still busy after {timeout:.0f} s") from None
        if failed:
            raise DemoFailed(f"the run {failed[0].run_id} failed")
        self.t.catch_up()

    def check(self, passed: bool, what: str) -> None:
        if not passed:
            raise DemoFailed(what)
        self.outcome.checks.append(what)

    def last_dm(self, user: str) -> dict[str, Any]:
        dms = self.people.dm(user)
        if not dms:
            raise DemoFailed(f"{self.people.name(user)} got no DM from the bot")
        return dms[-1]

    def dm_channel(self, user: str) -> str:
        channel = self.stage.sim.dm_channel(user)
        if channel is None:
            raise DemoFailed(f"the bot never opened a DM with {self.people.name(user)}")
        return channel

    def bot_reacted(self, channel: str, ts: str) -> bool:
        return any("U0BOT" in who for who in self.stage.sim.reactions(channel, ts).values())


async def play(stage: Stage, transcript: Transcript) -> Outcome:
    """Play every scene; raises :class:`DemoFailed` at the first thing missing."""
    scene = Scene(stage, transcript)
    await confident_match(scene)
    await unsure_match(scene)
    await two_asks(scene)
    await nothing_like_it(scene)
    await by_hand(scene)
    await shipped(scene)
    await reports(scene)
    await app_home(scene)
    async with stage.running.bot.db.read() as conn:
        scene.outcome.feedback = (
            await conn.execute(select(func.count()).select_from(feedback_items))
        ).scalar_one()
    return scene.outcome


async def confident_match(s: Scene) -> None:
    s.t.section("1. A reaction files a customer's words: a confident match")
    ts = s.people.post(JORDAN, ACME, CONFIDENT)
    await s.people.react(DANA, ACME, ts, EMOJI)
    await s.settle()
    s.check(s.bot_reacted(ACME, ts), "the bot marked the message it filed")
    dm = s.last_dm(DANA)
    s.check("Export dashboards to PDF" in str(dm), "Dana was told where the feedback went")
    s.outcome.first_run = (await s.engine.list_runs(workflow="ingest-reaction"))[-1].run_id
    s.t.say("Sofia reacts too: nothing new is filed, she follows the request.")
    await s.people.react(SOFIA, ACME, ts, EMOJI)
    await s.settle()


async def unsure_match(s: Scene) -> None:
    s.t.section("2. An uncertain match is put to a person, who decides with a click")
    ts = s.people.post(KAI, GLOBEX, UNSURE)
    await s.people.react(MARCUS, GLOBEX, ts, EMOJI)
    await s.settle()
    question = s.last_dm(MARCUS)
    choices = _choices(question)
    s.check(len(choices) >= 2, "Marcus was asked which request it belongs to, with buttons")
    candidate = choices[0]
    await s.people.click(MARCUS, question, candidate, channel=s.dm_channel(MARCUS))
    await s.settle()
    updated = s.last_dm(MARCUS)
    s.check(MARCUS in str(updated), "the question shows who decided")
    s.t.say("A second click on the same question changes nothing:")
    stale = updated | {"blocks": question["blocks"]}  # as a slow client still shows it
    await s.people.click(MARCUS, stale, candidate, channel=s.dm_channel(MARCUS))
    await s.settle()


async def two_asks(s: Scene) -> None:
    s.t.section("3. One message, two asks: filed as two feedback items")
    ts = s.people.post(NINA, INITECH, TWO_ASKS)
    await s.people.react(SOFIA, INITECH, ts, EMOJI)
    await s.settle()
    async with s.stage.running.bot.db.read() as conn:
        rows = await conn.execute(
            select(feedback_items.c.id).where(feedback_items.c.message_ts == ts)
        )
        items = rows.all()
    s.check(len(items) == 2, "Nina's message became two feedback items")
    for choice in _pending_choices(s, SOFIA):
        s.t.say("Sofia answers the question about one of them:")
        await s.people.click(SOFIA, choice[0], choice[1], channel=s.dm_channel(SOFIA))
        await s.settle()


def _choices(message: dict[str, Any]) -> list[Button]:
    """The buttons of a question that pick a request."""
    return [b for b in buttons(message.get("blocks", [])) if b.action_id.startswith("approval")]


def _pending_choices(s: Scene, user: str) -> list[tuple[dict[str, Any], Button]]:
    """The first choice of each question still open in ``user``'s DM."""
    found = []
    for message in s.people.dm(user):
        if choices := _choices(message):
            found.append((message, choices[0]))
    return found


async def nothing_like_it(s: Scene) -> None:
    s.t.section("4. Nothing like it yet: a new request is drafted for the product team")
    ts = s.people.post(JORDAN, ACME, NOTHING_LIKE_IT)
    await s.people.react(DANA, ACME, ts, EMOJI)
    await s.settle()
    posted = [m.get("text", "") for m in s.stage.sim.messages(REPORTING)]
    s.check(any("Gantt" in text for text in posted), "the request was announced to its area")


async def by_hand(s: Scene) -> None:
    s.t.section("5. A request by hand, and a reminder when no customer has asked for it")
    form = await s.people.shortcut(PRIYA, "new_request", "New feature request")
    area = next(b for b in form["blocks"] if b["block_id"] == "area")
    reporting = next(o for o in area["element"]["options"] if o["text"]["text"] == "Reporting")
    values = {
        "title": {"title": {"type": "plain_text_input", "value": HAND_TITLE}},
        "description": {"description": {"type": "plain_text_input", "value": HAND_TEXT}},
        "area": {"area": {"type": "static_select", "selected_option": reporting}},
    }
    await s.people.submit(PRIYA, form, values, f"“{HAND_TITLE}” in Reporting")
    await s.settle()
    delay = s.stage.settings.request_reminder_delay.total_seconds()
    s.t.say(f"({delay:.0f} s later; an hour in production)")
    try:
        await s.stage.sim.wait_for(
            "chat.postMessage",
            where=lambda call: "no customer feedback yet" in str(call.args.get("text")),
            timeout=delay + 30,
        )
    except TimeoutError:
        raise DemoFailed("Priya was not reminded of her request") from None
    s.t.catch_up()


async def shipped(s: Scene) -> None:
    s.t.section("6. Shipped: followers are told, and so is the customer's thread")
    async with s.stage.running.bot.db.read() as conn:
        slug = (
            await conn.execute(select(requests.c.slug).where(requests.c.title == SHIPPED))
        ).scalar_one_or_none()
    if slug is None:
        raise DemoFailed(f"no request titled {SHIPPED!r}")
    answer = await s.people.command(PRIYA, REPORTING, f"ship {slug}")
    s.check(answer.status_code == 200, "Priya's command was accepted")
    await s.settle()
    replies = [m for m in s.stage.sim.messages(ACME) if m.get("thread_ts") and m["user"] == "U0BOT"]
    s.check(bool(replies), "the customer's thread got a reply")


async def reports(s: Scene) -> None:
    s.t.section("7. The morning's insights per area, and the weekly digest")
    s.t.say("(the schedule starts these at 08:00 and on Mondays; the demo starts them now)")
    now = datetime.now(UTC)
    await s.engine.start(area_insights, now, run_id=f"demo-insights:{now.isoformat()}")
    await s.settle()
    await s.engine.start(weekly_digest, now, run_id=f"demo-digest:{now.isoformat()}")
    await s.settle()
    s.check(bool(s.stage.sim.messages(REPORTING)), "the reporting channel got its insights")


async def app_home(s: Scene) -> None:
    s.t.section("8. Dana opens the App Home")
    await s.people.open_home(DANA)
    await s.settle()
    s.check(s.stage.sim.home_view(DANA) is not None, "Dana's App Home was published")
