"""The report schedules: daily area insights and the weekly digest, on APScheduler 3.

A :class:`Schedule` is a local time of day in a time zone, every day or on one weekday.
Its *ticks* are the instants that time falls on; :meth:`Schedule.latest_tick` and
:meth:`Schedule.next_tick` compute them from an instant, purely::

    insights = Schedule("area-insights", time(8), ZoneInfo("America/New_York"))
    insights.next_tick(datetime(2027, 3, 13, 14, tzinfo=UTC))  # 2027-03-14 12:00 UTC (EDT)

Each tick starts its workflow with the tick as ``period_end`` and a run id made from
the tick (``area-insights:2026-12-02T13:00:00+00:00``, see :func:`tick_run_id`). The
engine starts one run per run id, so any number of serving processes may run the
schedules: they all start the same tick, and one run exists.

:class:`Schedules` runs them in the serving process::

    async with Schedules.from_settings(settings, engine):
        await stop.wait()

On start it catches up: for each schedule it starts the latest tick at or before now
(only that one, not every tick missed while the process was down). A tick that
already ran has a run under its id, so catching up again starts nothing.

Daylight saving: ticks are computed on local dates (a wall time on a date, then to
UTC), so 08:00 New York is 13:00 UTC in winter and 12:00 UTC in summer, once a day. A
wall time that a spring-forward gap skips (02:30) runs once, shifted by the gap
(03:30); one that a fall-back repeats (01:30) runs once, at its first occurrence.
APScheduler's ``CronTrigger`` (3.11) fires a repeated time twice, so the jobs use
:class:`TickTrigger`, which asks the schedule.

Time: ``clock`` says what "now" is when catching up and when a job starts its tick
(tests pass ``workflows.engine.testing.FakeClock``). APScheduler 3 reads the wall
clock itself to decide when a job is due and has no seam for another clock, so with a
fake clock drive the schedules through :meth:`Schedules.catch_up`.
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger

from feedback.settings import Settings
from workflows.engine import Engine, RunHandle

__all__ = [
    "BATCH_WORKFLOW",
    "DIGEST_WORKFLOW",
    "INSIGHTS_WORKFLOW",
    "Clock",
    "Schedule",
    "Schedules",
    "TickTrigger",
    "batch_schedule",
    "report_schedules",
    "tick_run_id",
]

logger = logging.getLogger(__name__)

INSIGHTS_WORKFLOW = "area-insights"
DIGEST_WORKFLOW = "weekly-digest"
BATCH_WORKFLOW = "notification-batch"
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def tick_run_id(workflow: str, tick: datetime) -> str:
    """The run id of a workflow's run for one tick: ``<workflow>:<tick in UTC, ISO 8601>``.

    Raises:
        ValueError: ``tick`` is naive.
    """
    return f"{workflow}:{_utc(tick).isoformat()}"


@dataclass(frozen=True)
class Schedule:
    """When a workflow runs: a local time of day in a zone, daily or on one weekday.

    Raises:
        ValueError: ``at`` carries a time zone, or ``weekday`` is not 0 (Monday) to 6.
    """

    workflow: str
    """The registered workflow name; it also prefixes each tick's run id."""
    at: time
    """The local wall time of each tick (naive: the zone is ``zone``)."""
    zone: ZoneInfo
    """The zone the wall time and the weekday are read in."""
    weekday: int | None = None
    """0 (Monday) to 6 (Sunday) for a weekly schedule; None: every day."""

    def __post_init__(self) -> None:
        if self.at.tzinfo is not None:
            raise ValueError(f"at={self.at!r} must be a wall time without tzinfo; use zone=")
        if self.weekday is not None and not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday={self.weekday!r} must be 0 (Monday) to 6 (Sunday)")

    def __str__(self) -> str:
        days = "daily" if self.weekday is None else f"{_DAY_NAMES[self.weekday]}s"
        exact = self.at.second or self.at.microsecond
        at = self.at.isoformat() if exact else self.at.isoformat("minutes")
        return f"{self.workflow} ({days} at {at} {self.zone.key})"

    @property
    def period(self) -> timedelta:
        """A day, or a week for a weekly schedule."""
        return timedelta(days=1 if self.weekday is None else 7)

    def latest_tick(self, instant: datetime) -> datetime:
        """The latest tick at or before ``instant``, in UTC.

        Raises:
            ValueError: ``instant`` is naive.
        """
        day = _utc(instant).astimezone(self.zone).date()
        for offset in range(1, -9, -1):  # ticks grow with their local date; a week comes round
            tick = self._tick_on(day + timedelta(days=offset))
            if tick is not None and tick <= instant:
                return tick
        raise AssertionError(f"{self} has no tick in the week before {instant}")  # unreachable

    def next_tick(self, instant: datetime) -> datetime:
        """The first tick strictly after ``instant``, in UTC.

        Raises:
            ValueError: ``instant`` is naive.
        """
        day = _utc(instant).astimezone(self.zone).date()
        for offset in range(-1, 9):
            tick = self._tick_on(day + timedelta(days=offset))
            if tick is not None and tick > instant:
                return tick
        raise AssertionError(f"{self} has no tick in the week after {instant}")  # unreachable

    def run_id(self, tick: datetime) -> str:
        """The run id of this schedule's run for ``tick`` (see :func:`tick_run_id`)."""
        return tick_run_id(self.workflow, tick)

    def _tick_on(self, day: date) -> datetime | None:
        if self.weekday is not None and day.weekday() != self.weekday:
            return None
        # fold=0 (PEP 495): a wall time in a spring-forward gap maps past the gap, one
        # repeated by a fall-back maps to its first occurrence; either way once a day
        return datetime.combine(day, self.at, tzinfo=self.zone).astimezone(UTC)


def report_schedules(settings: Settings) -> tuple[Schedule, Schedule]:
    """The insights (daily) and digest (weekly) schedules the settings ask for."""
    zone = ZoneInfo(settings.timezone)
    return (
        Schedule(INSIGHTS_WORKFLOW, time.fromisoformat(settings.insights_time), zone),
        Schedule(
            DIGEST_WORKFLOW,
            time.fromisoformat(settings.digest_time),
            zone,
            weekday=_WEEKDAYS.index(settings.digest_day),
        ),
    )


def batch_schedule(settings: Settings) -> Schedule:
    """The daily DM of queued notifications (``NOTIFY_BATCH_TIME`` in ``TIMEZONE``)."""
    at = time.fromisoformat(settings.notify_batch_time)
    return Schedule(BATCH_WORKFLOW, at, ZoneInfo(settings.timezone))


# APScheduler ships no type hints, so its base class is Any to mypy.
class TickTrigger(BaseTrigger):  # type: ignore[misc]
    """An APScheduler trigger that fires at a :class:`Schedule`'s ticks.

    Like APScheduler's own triggers it returns, after ``previous_fire_time``, the next
    tick even when that is already past (a late wake-up): the job's
    ``misfire_grace_time`` and ``coalesce`` decide what then runs.
    """

    __slots__ = ("schedule",)

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule

    def __repr__(self) -> str:
        return f"TickTrigger({self.schedule})"

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime:
        since = now if previous_fire_time is None else min(previous_fire_time, now)
        return self.schedule.next_tick(since)


class Clock(Protocol):
    """Where :class:`Schedules` reads the time (``FakeClock`` of the engine's testing fits)."""

    def time(self) -> float:
        """Seconds since the epoch."""
        ...


class _WallClock:
    def time(self) -> float:
        return _time.time()


class Schedules:
    """Runs schedules in this process: an APScheduler job each, and a catch-up on start.

    Use as an async context manager (or call :meth:`start` and :meth:`stop`). Start it
    after the engine's worker, so that runs started here go straight to that worker.

    Args:
        engine: Where the runs are started; its registry must know each workflow.
        schedules: What to run (see :func:`report_schedules`).
        clock: What "now" is for the catch-up and for each tick (default: the system
            clock).

    Raises:
        ValueError: Two schedules start the same workflow.
    """

    def __init__(
        self, engine: Engine, schedules: Iterable[Schedule], *, clock: Clock | None = None
    ) -> None:
        self.engine = engine
        self.schedules = tuple(schedules)
        names = [schedule.workflow for schedule in self.schedules]
        if len(set(names)) != len(names):
            raise ValueError(f"two schedules start the same workflow: {names}")
        self.started_ticks: dict[str, datetime] = {}
        """The latest tick each workflow was started for by this instance."""
        self._clock = clock or _WallClock()
        self._scheduler: AsyncIOScheduler | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @classmethod
    def from_settings(
        cls, settings: Settings, engine: Engine, *, clock: Clock | None = None
    ) -> Schedules:
        """The insights, digest and notification-batch schedules of ``settings``, on ``engine``.

        Import ``workflows.reports`` and ``workflows.batches`` first (their workflows
        must be registered).
        """
        schedules = (*report_schedules(settings), batch_schedule(settings))
        return cls(engine, schedules, clock=clock)

    def __repr__(self) -> str:
        return f"Schedules({', '.join(map(str, self.schedules))})"

    async def __aenter__(self) -> Schedules:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.stop()

    async def start(self) -> None:
        """Register a job per schedule, start the scheduler, then catch up.

        The jobs are registered first, so a tick that falls while catching up is
        either caught up or fired (or both, which starts one run).

        Raises:
            WorkflowNotRegistered: A schedule's workflow is not imported (found now,
                not at the first tick).
            RuntimeError: Already started.
        """
        if self._scheduler is not None:
            raise RuntimeError(f"{self!r} is already started")
        for schedule in self.schedules:
            self.engine.registry.get(schedule.workflow)
        scheduler = AsyncIOScheduler(timezone=UTC)
        for schedule in self.schedules:
            scheduler.add_job(
                self._job,
                TickTrigger(schedule),
                args=(schedule,),
                id=schedule.workflow,
                name=str(schedule),
                # a late tick (suspended host, blocked loop) still runs until the next is
                # due; then coalesce runs only the newest, as the catch-up does
                misfire_grace_time=int(schedule.period.total_seconds()),
                coalesce=True,
                max_instances=1,
            )
        scheduler.start()
        self._scheduler = scheduler
        try:
            await self.catch_up()
        except BaseException:
            await self.stop()  # `async with` calls no __aexit__ when entering fails
            raise
        for name, tick in self.next_ticks().items():
            logger.info("schedule %s: next tick %s", name, tick.isoformat())

    async def stop(self) -> None:
        """Stop the scheduler, letting a run start that is under way finish."""
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        scheduler.pause()  # submits no more jobs
        await asyncio.sleep(0)  # a job submitted just before the pause begins, and counts
        await self._idle.wait()
        shut_down = asyncio.Event()  # AsyncIOScheduler shuts down on the loop's next turn
        scheduler.add_listener(lambda _: shut_down.set(), EVENT_SCHEDULER_SHUTDOWN)
        scheduler.shutdown(wait=False)
        await shut_down.wait()

    async def catch_up(self) -> list[RunHandle]:
        """Start each schedule's latest tick at or before now, unless it already ran.

        Returns:
            A handle per schedule, on the tick's run (new, or the one already there).
        """
        return [await self._start_latest(schedule) for schedule in self.schedules]

    def next_ticks(self) -> dict[str, datetime]:
        """When each workflow is next due, by the running scheduler (empty when stopped)."""
        if self._scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    async def _start_latest(self, schedule: Schedule) -> RunHandle:
        now = datetime.fromtimestamp(self._clock.time(), UTC)
        tick = schedule.latest_tick(now)
        run_id = schedule.run_id(tick)
        handle = await self.engine.start(schedule.workflow, tick, run_id=run_id)
        self.started_ticks[schedule.workflow] = tick
        logger.info(
            "schedule %s: run %s started (or found, if it ran)",
            schedule,
            run_id,
            extra={"run_id": run_id},
        )
        return handle

    async def _job(self, schedule: Schedule) -> None:
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._start_latest(schedule)
        except Exception:
            logger.exception(
                "schedule %s: could not start this tick's run; it starts at the next "
                "start-up unless a later tick has run by then",
                schedule,
            )
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()


def _utc(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{instant!r} is naive; pass a timezone-aware datetime")
    return instant.astimezone(UTC)
