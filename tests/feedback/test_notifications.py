"""Notification settings per person, and the lines queued for their daily DM."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedback import notifications, outbox, users
from feedback.database import Database
from feedback.errors import NotFound
from feedback.notifications import InvalidSetting, NotificationSettings

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


async def _person(db: Database, slack_id: str = "U0SAM") -> str:
    async with db.transaction() as conn:
        user = await users.ensure(conn, user_id=f"u-{slack_id}", slack_id=slack_id, name="Sam")
    return user.id


async def test_everyone_hears_at_once_until_they_choose(domain_db: Database) -> None:
    sam = await _person(domain_db)

    async with domain_db.read() as conn:
        settings = await notifications.get_settings(conn, sam)

    assert settings == NotificationSettings(links="now", shipped="now")
    assert settings.of("links") == "now"


async def test_each_setting_is_saved_on_its_own(domain_db: Database) -> None:
    sam = await _person(domain_db)

    async with domain_db.transaction() as conn:
        after_links = await notifications.set_setting(conn, sam, "links", "daily")
    async with domain_db.transaction() as conn:
        after_shipped = await notifications.set_setting(conn, sam, "shipped", "off")
    async with domain_db.read() as conn:
        read_back = await notifications.get_settings(conn, sam)

    assert after_links == NotificationSettings(links="daily", shipped="now")
    assert after_shipped == read_back == NotificationSettings(links="daily", shipped="off")


@pytest.mark.parametrize(
    ("kind", "value", "says"),
    [
        ("links", "weekly", "'weekly' is not a setting for links: use one of now, daily, off"),
        ("digest", "now", "'digest' is not a kind of notification: use one of links, shipped"),
    ],
)
async def test_a_bad_setting_is_refused_and_named(
    domain_db: Database, kind: str, value: str, says: str
) -> None:
    sam = await _person(domain_db)

    async with domain_db.transaction() as conn:
        with pytest.raises(InvalidSetting) as caught:
            await notifications.set_setting(conn, sam, kind, value)

    assert str(caught.value) == says
    assert isinstance(caught.value, ValueError)
    async with domain_db.read() as conn:
        assert await notifications.get_settings(conn, sam) == NotificationSettings()


async def test_a_setting_for_nobody_is_not_found(domain_db: Database) -> None:
    async with domain_db.transaction() as conn:
        with pytest.raises(NotFound):
            await notifications.set_setting(conn, "u-nobody", "links", "off")


async def test_a_line_is_queued_once_per_key(domain_db: Database) -> None:
    sam = await _person(domain_db)

    async with domain_db.transaction() as conn:
        first = await notifications.enqueue(
            conn, key="f1:0:linked", user_id=sam, kind="links", text="one", created_at=T0
        )
        again = await notifications.enqueue(
            conn, key="f1:0:linked", user_id=sam, kind="links", text="one again"
        )
        await notifications.enqueue(
            conn,
            key="shipped:r1:1:u",
            user_id=sam,
            kind="shipped",
            text="two",
            created_at=T0 + timedelta(minutes=1),
        )
    async with domain_db.read() as conn:
        waiting = await notifications.pending(conn, sam)
        people = await notifications.people_waiting(conn)

    assert (first, again) == (True, False)
    assert [(line.kind, line.text) for line in waiting] == [("links", "one"), ("shipped", "two")]
    assert people == [sam]


async def test_a_line_of_an_unknown_kind_is_refused(domain_db: Database) -> None:
    sam = await _person(domain_db)

    async with domain_db.transaction() as conn:
        with pytest.raises(InvalidSetting, match="'news' is not a kind"):
            await notifications.enqueue(conn, key="k", user_id=sam, kind="news", text="x")


async def test_a_batch_takes_the_waiting_lines_and_sent_ones_leave_the_queue(
    domain_db: Database,
) -> None:
    sam = await _person(domain_db)
    async with domain_db.transaction() as conn:
        for n in range(2):
            await notifications.enqueue(
                conn,
                key=f"k{n}",
                user_id=sam,
                kind="links",
                text=f"line {n}",
                created_at=T0 + timedelta(minutes=n),
            )

    async with domain_db.transaction() as conn:
        taken = await notifications.add_to_batch(conn, sam, "batch:sam:2026-12-01")
        lines = await notifications.in_batch(conn, sam, "batch:sam:2026-12-01")
        await notifications.mark_sent(conn, [line.key for line in lines])
    async with domain_db.read() as conn:
        waiting = await notifications.pending(conn, sam)
        people = await notifications.people_waiting(conn)
        sent = await notifications.in_batch(conn, sam, "batch:sam:2026-12-01")

    assert taken == 2
    assert [line.text for line in lines] == ["line 0", "line 1"]
    assert waiting == [] and people == []
    assert all(line.sent_at is not None for line in sent)


async def test_lines_of_a_posted_batch_stay_with_it_and_unposted_ones_move_on(
    domain_db: Database,
) -> None:
    sam = await _person(domain_db)
    async with domain_db.transaction() as conn:
        await notifications.enqueue(conn, key="a", user_id=sam, kind="links", text="a")
        await notifications.add_to_batch(conn, sam, "batch:posted")
        await outbox.claim(conn, "batch:posted", "D1")
        await outbox.sent(conn, "batch:posted", "D1", "1.0")
        await notifications.enqueue(conn, key="b", user_id=sam, kind="links", text="b")
        await notifications.add_to_batch(conn, sam, "batch:never-posted")
        await notifications.enqueue(conn, key="c", user_id=sam, kind="shipped", text="c")

    async with domain_db.transaction() as conn:
        taken = await notifications.add_to_batch(conn, sam, "batch:next")
        lines = await notifications.in_batch(conn, sam, "batch:next")

    assert taken == 2
    assert sorted(line.key for line in lines) == ["b", "c"]
