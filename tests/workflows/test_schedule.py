"""The report schedules: ticks across daylight saving (pure), run ids, the catch-up on
start-up, and one run per tick however many serving processes fire it."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from feedback.settings import load_settings
from workflows.engine import Engine, WorkflowNotRegistered, workflow
from workflows.engine.testing import FakeClock
from workflows.schedule import (
    DIGEST_WORKFLOW,
    INSIGHTS_WORKFLOW,
    Schedule,
    Schedules,
    TickTrigger,
    report_schedules,
    tick_run_id,
)

NY = ZoneInfo("America/New_York")
DAY = 86400.0
DAILY = "test-schedule-daily"
WEEKLY = "test-schedule-weekly"


# Stand-ins for area-insights and weekly-digest, under names of this module's own.
@workflow(DAILY)
async def daily_report(period_end: datetime) -> str:
    return period_end.isoformat()


@workflow(WEEKLY)
async def weekly_report(period_end: datetime) -> str:
    return period_end.isoformat()


INSIGHTS = Schedule(DAILY, time(8), NY)
DIGEST = Schedule(WEEKLY, time(9), NY, weekday=0)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def walk(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    """The first ``count`` ticks after ``start``, as a scheduler sees them one by one."""
    ticks = [schedule.next_tick(start)]
    while len(ticks) < count:
        ticks.append(schedule.next_tick(ticks[-1]))
    return ticks


# -- ticks: pure ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "latest", "following"),
    [
        # winter: 08:00 EST is 13:00 UTC; a tick is its own latest, and not its own next
        (utc(2026, 12, 2, 13), utc(2026, 12, 2, 13), utc(2026, 12, 3, 13)),
        (utc(2026, 12, 2, 12, 59, 59), utc(2026, 12, 1, 13), utc(2026, 12, 2, 13)),
        (utc(2026, 12, 2, 13, 0, 1), utc(2026, 12, 2, 13), utc(2026, 12, 3, 13)),
        # summer: 08:00 EDT is 12:00 UTC
        (utc(2026, 7, 1, 12), utc(2026, 7, 1, 12), utc(2026, 7, 2, 12)),
        (utc(2026, 7, 1, 12, 30), utc(2026, 7, 1, 12), utc(2026, 7, 2, 12)),
        # spring forward, Sunday 2027-03-14 02:00 EST -> 03:00 EDT
        (utc(2027, 3, 14, 6, 59), utc(2027, 3, 13, 13), utc(2027, 3, 14, 12)),
        (utc(2027, 3, 14, 11, 59), utc(2027, 3, 13, 13), utc(2027, 3, 14, 12)),
        (utc(2027, 3, 14, 12), utc(2027, 3, 14, 12), utc(2027, 3, 15, 12)),
        (utc(2027, 3, 14, 13), utc(2027, 3, 14, 12), utc(2027, 3, 15, 12)),  # 09:00 EDT
        # fall back, Sunday 2026-11-01 02:00 EDT -> 01:00 EST
        (utc(2026, 11, 1, 12), utc(2026, 10, 31, 12), utc(2026, 11, 1, 13)),  # 07:00 EST
        (utc(2026, 11, 1, 13), utc(2026, 11, 1, 13), utc(2026, 11, 2, 13)),
        (utc(2026, 11, 1, 5, 30), utc(2026, 10, 31, 12), utc(2026, 11, 1, 13)),  # 01:30 twice
        # New York's date is a day behind UTC's in the evening
        (utc(2027, 1, 1, 3), utc(2026, 12, 31, 13), utc(2027, 1, 1, 13)),
        (utc(2027, 1, 1, 0, 0), utc(2026, 12, 31, 13), utc(2027, 1, 1, 13)),
    ],
)
def test_daily_ticks_at_eight_new_york(
    instant: datetime, latest: datetime, following: datetime
) -> None:
    assert INSIGHTS.latest_tick(instant) == latest
    assert INSIGHTS.next_tick(instant) == following


@pytest.mark.parametrize(
    ("schedule", "instant", "latest", "following"),
    [
        # Monday 09:00: a Wednesday looks back to Monday and on to the next
        (DIGEST, utc(2026, 12, 2, 13), utc(2026, 11, 30, 14), utc(2026, 12, 7, 14)),
        # Monday 08:59 local: last week's is the latest
        (DIGEST, utc(2026, 11, 30, 13, 59), utc(2026, 11, 23, 14), utc(2026, 11, 30, 14)),
        (DIGEST, utc(2026, 11, 30, 14), utc(2026, 11, 30, 14), utc(2026, 12, 7, 14)),
        # the week of spring forward: 14:00 UTC before, 13:00 UTC after
        (DIGEST, utc(2027, 3, 10), utc(2027, 3, 8, 14), utc(2027, 3, 15, 13)),
        # Sunday 09:00 on the day of fall back, and the Sunday before it
        (
            Schedule(WEEKLY, time(9), NY, weekday=6),
            utc(2026, 10, 28),
            utc(2026, 10, 25, 13),
            utc(2026, 11, 1, 14),
        ),
        # Monday 09:00 Sydney is Sunday 22:00 UTC (summer there, AEDT +11)
        (
            Schedule(WEEKLY, time(9), ZoneInfo("Australia/Sydney"), weekday=0),
            utc(2026, 12, 6, 21, 59),
            utc(2026, 11, 29, 22),
            utc(2026, 12, 6, 22),
        ),
    ],
)
def test_weekly_ticks(
    schedule: Schedule, instant: datetime, latest: datetime, following: datetime
) -> None:
    assert schedule.latest_tick(instant) == latest
    assert schedule.next_tick(instant) == following


@pytest.mark.parametrize(
    "zone", ["America/New_York", "Europe/London", "Australia/Sydney", "Australia/Lord_Howe", "UTC"]
)
def test_one_tick_a_day_at_the_wall_time_for_over_a_year(zone: str) -> None:
    schedule = Schedule(DAILY, time(8), ZoneInfo(zone))

    ticks = walk(schedule, utc(2026, 6, 1), 400)  # both changes of 2026-27, wherever they fall

    local = [tick.astimezone(schedule.zone) for tick in ticks]
    assert {moment.time() for moment in local} == {time(8)}
    assert [moment.date() for moment in local] == [
        local[0].date() + timedelta(days=n) for n in range(400)
    ]
    for before, tick in itertools.pairwise(ticks):
        assert schedule.latest_tick(tick) == tick
        assert schedule.latest_tick(tick - timedelta(microseconds=1)) == before


def test_new_york_changes_its_utc_hour_on_the_days_the_clocks_change() -> None:
    assert walk(INSIGHTS, utc(2027, 3, 12), 4) == [
        utc(2027, 3, 12, 13),
        utc(2027, 3, 13, 13),
        utc(2027, 3, 14, 12),  # spring forward: 08:00 EDT
        utc(2027, 3, 15, 12),
    ]
    assert walk(INSIGHTS, utc(2026, 10, 30), 4) == [
        utc(2026, 10, 30, 12),
        utc(2026, 10, 31, 12),
        utc(2026, 11, 1, 13),  # fall back: 08:00 EST
        utc(2026, 11, 2, 13),
    ]


def test_a_wall_time_skipped_by_spring_forward_runs_once_past_the_gap() -> None:
    schedule = Schedule(DAILY, time(2, 30), NY)  # 02:30 does not exist on 2027-03-14

    ticks = walk(schedule, utc(2027, 3, 13), 3)

    assert ticks == [utc(2027, 3, 13, 7, 30), utc(2027, 3, 14, 7, 30), utc(2027, 3, 15, 6, 30)]
    assert ticks[1].astimezone(NY).time() == time(3, 30)


def test_a_wall_time_repeated_by_fall_back_runs_once_at_its_first_occurrence() -> None:
    schedule = Schedule(DAILY, time(1, 30), NY)  # 01:30 happens twice on 2026-11-01

    ticks = walk(schedule, utc(2026, 10, 31), 3)

    assert ticks == [utc(2026, 10, 31, 5, 30), utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]
    assert schedule.latest_tick(utc(2026, 11, 1, 6, 30)) == utc(2026, 11, 1, 5, 30)  # 01:30 EST


def test_the_trigger_gives_apscheduler_the_ticks() -> None:
    trigger = TickTrigger(INSIGHTS)

    # added: the first tick after now; fired: the one after it
    assert trigger.get_next_fire_time(None, utc(2027, 3, 13, 14)) == utc(2027, 3, 14, 12)
    assert trigger.get_next_fire_time(utc(2027, 3, 14, 12), utc(2027, 3, 14, 12, 0, 1)) == utc(
        2027, 3, 15, 12
    )
    # woken two days late: the next tick after the last fired, though past (misfire, coalesce)
    assert trigger.get_next_fire_time(utc(2027, 3, 13, 13), utc(2027, 3, 15, 13)) == utc(
        2027, 3, 14, 12
    )
    # a tick exactly at "now" when added is the catch-up's, not the trigger's
    assert trigger.get_next_fire_time(None, utc(2027, 3, 14, 12)) == utc(2027, 3, 15, 12)


def test_instants_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="naive"):
        INSIGHTS.latest_tick(datetime(2026, 12, 2, 13))
    with pytest.raises(ValueError, match="naive"):
        INSIGHTS.next_tick(datetime(2026, 12, 2, 13))


def test_a_schedule_checks_its_fields_and_reads_well() -> None:
    with pytest.raises(ValueError, match="without tzinfo"):
        Schedule(DAILY, time(8, tzinfo=UTC), NY)
    with pytest.raises(ValueError, match="0 \\(Monday\\) to 6"):
        Schedule(WEEKLY, time(9), NY, weekday=7)

    assert str(INSIGHTS) == "test-schedule-daily (daily at 08:00 America/New_York)"
    assert str(DIGEST) == "test-schedule-weekly (Mondays at 09:00 America/New_York)"
    assert str(Schedule(DAILY, time(8, 0, 5), NY)).endswith("at 08:00:05 America/New_York)")
    assert DIGEST.period == timedelta(days=7)


# -- run ids and settings ------------------------------------------------------------------------


def test_the_run_id_is_the_workflow_and_the_tick_in_utc() -> None:
    tick = utc(2026, 12, 2, 13)

    assert tick_run_id("area-insights", tick) == "area-insights:2026-12-02T13:00:00+00:00"
    assert tick_run_id("area-insights", tick.astimezone(NY)) == tick_run_id("area-insights", tick)
    assert INSIGHTS.run_id(tick) == "test-schedule-daily:2026-12-02T13:00:00+00:00"
    with pytest.raises(ValueError, match="naive"):
        tick_run_id("area-insights", datetime(2026, 12, 2, 13))


def test_the_run_ids_are_the_ones_the_report_workflows_expect() -> None:
    reports = pytest.importorskip("workflows.reports")  # imported here: it registers names
    tick = datetime(2026, 12, 7, 9, tzinfo=NY)

    assert tick_run_id(INSIGHTS_WORKFLOW, tick) == reports.insights_run_id(tick)
    assert tick_run_id(DIGEST_WORKFLOW, tick) == reports.digest_run_id(tick)


def test_the_settings_give_the_insights_and_digest_schedules() -> None:
    assert report_schedules(load_settings()) == (
        Schedule("area-insights", time(8), NY),
        Schedule("weekly-digest", time(9), NY, weekday=0),
    )
    settings = load_settings(
        timezone="Europe/Berlin", insights_time="7:30", digest_day="fri", digest_time="16:00"
    )
    berlin = ZoneInfo("Europe/Berlin")
    assert report_schedules(settings) == (
        Schedule("area-insights", time(7, 30), berlin),
        Schedule("weekly-digest", time(16), berlin, weekday=4),
    )


# -- on an engine: catch-up, firing, one run per tick --------------------------------------------


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[Engine]:
    async with (
        Engine(db_url, idle_window=0.1, poll_interval=0.05) as engine,
        engine.worker(concurrency=4),
    ):
        yield engine


async def run_ids(engine: Engine, workflow_name: str) -> list[str]:
    return sorted(run.run_id for run in await engine.list_runs(workflow=workflow_name))


async def until(condition: Callable[[], bool], timeout: float = 4.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def due_soon() -> tuple[Schedule, datetime, datetime]:
    """A daily schedule whose next tick is 1.5 to 2.5 seconds away; now; that tick."""
    now = datetime.now(UTC)
    soon = datetime.fromtimestamp(math.ceil(now.timestamp() + 1.5), UTC)
    return Schedule(DAILY, soon.astimezone(NY).time(), NY), now, soon


async def test_a_tick_missed_while_down_runs_once_at_start_up(engine: Engine) -> None:
    clock = FakeClock(utc(2026, 12, 2, 13, 5).timestamp())  # Wednesday 08:05 in New York

    async with Schedules(engine, [INSIGHTS, DIGEST], clock=clock) as schedules:
        pass

    daily = "test-schedule-daily:2026-12-02T13:00:00+00:00"
    weekly = "test-schedule-weekly:2026-11-30T14:00:00+00:00"  # Monday 09:00
    assert await run_ids(engine, DAILY) == [daily]
    assert await run_ids(engine, WEEKLY) == [weekly]
    assert schedules.started_ticks == {DAILY: utc(2026, 12, 2, 13), WEEKLY: utc(2026, 11, 30, 14)}
    assert await engine.handle(daily).result(timeout=4) == "2026-12-02T13:00:00+00:00"

    async with Schedules(engine, [INSIGHTS, DIGEST], clock=clock):  # started again
        pass

    assert await run_ids(engine, DAILY) == [daily]
    assert await run_ids(engine, WEEKLY) == [weekly]


async def test_after_days_down_only_the_latest_tick_runs(engine: Engine) -> None:
    clock = FakeClock(utc(2026, 12, 2, 13, 5).timestamp())
    schedules = Schedules(engine, [INSIGHTS], clock=clock)
    await schedules.catch_up()

    clock.advance(3 * DAY)  # down over three ticks
    handles = await schedules.catch_up()

    assert await run_ids(engine, DAILY) == [
        "test-schedule-daily:2026-12-02T13:00:00+00:00",
        "test-schedule-daily:2026-12-05T13:00:00+00:00",
    ]
    assert [handle.run_id for handle in handles] == [
        "test-schedule-daily:2026-12-05T13:00:00+00:00"
    ]


@pytest.mark.parametrize(
    ("start", "steps", "ticks"),
    [
        # spring forward: 08:00 EDT (12:00 UTC) is the day's tick, 13:00 UTC is no second one
        (
            utc(2027, 3, 14, 11, 59),
            [0, 60, 3600],
            [utc(2027, 3, 13, 13), utc(2027, 3, 14, 12), utc(2027, 3, 14, 12)],
        ),
        # fall back: 12:00 UTC is 07:00 EST, not yet; 13:00 UTC is 08:00 EST
        (
            utc(2026, 11, 1, 11, 59),
            [0, 60, 3600],
            [utc(2026, 10, 31, 12), utc(2026, 10, 31, 12), utc(2026, 11, 1, 13)],
        ),
    ],
)
async def test_the_eight_oclock_tick_on_a_fake_clock_across_daylight_saving(
    engine: Engine, start: datetime, steps: list[float], ticks: list[datetime]
) -> None:
    clock = FakeClock(start.timestamp())
    schedules = Schedules(engine, [INSIGHTS], clock=clock)

    seen = []
    for seconds in steps:
        clock.advance(seconds)
        await schedules.catch_up()
        seen.append(schedules.started_ticks[DAILY])

    assert seen == ticks
    assert await run_ids(engine, DAILY) == sorted({INSIGHTS.run_id(tick) for tick in ticks})


async def test_the_job_fires_at_its_time(engine: Engine) -> None:
    schedule, now, soon = due_soon()

    async with Schedules(engine, [schedule]) as schedules:
        assert schedules.next_ticks() == {DAILY: soon}
        await until(lambda: schedules.started_ticks[DAILY] == soon)
        assert schedules.next_ticks() == {DAILY: soon + timedelta(days=1)}
    assert schedules.next_ticks() == {}

    run = await engine.get_run(schedule.run_id(soon))
    assert run.created_at >= soon
    assert await engine.handle(run.run_id).result(timeout=4) == soon.isoformat()
    # the catch-up on start started yesterday's tick; the job, today's
    assert await run_ids(engine, DAILY) == sorted(
        [schedule.run_id(schedule.latest_tick(now)), run.run_id]
    )


async def test_two_serving_processes_firing_one_tick_start_one_run(
    engine: Engine, db_url: str
) -> None:
    schedule, now, soon = due_soon()  # a second "process": an engine and schedules of its own
    async with (
        Engine(db_url, idle_window=0.1, poll_interval=0.05) as other,
        other.worker(concurrency=4),
        Schedules(engine, [schedule]) as one,
        Schedules(other, [schedule]) as two,
    ):
        await until(lambda: one.started_ticks[DAILY] == soon and two.started_ticks[DAILY] == soon)

    assert await run_ids(engine, DAILY) == sorted(
        [schedule.run_id(schedule.latest_tick(now)), schedule.run_id(soon)]
    )


async def test_start_checks_the_workflows_are_registered(engine: Engine) -> None:
    schedules = Schedules(engine, [Schedule("area-insights-not-imported", time(8), NY)])

    with pytest.raises(WorkflowNotRegistered, match="area-insights-not-imported"):
        await schedules.start()
    await schedules.stop()  # nothing started: nothing to stop

    with pytest.raises(ValueError, match="same workflow"):
        Schedules(engine, [INSIGHTS, Schedule(DAILY, time(9), NY)])


async def test_starting_twice_is_an_error(engine: Engine) -> None:
    async with Schedules(engine, [INSIGHTS], clock=FakeClock()) as schedules:
        with pytest.raises(RuntimeError, match="already started"):
            await schedules.start()
