"""``feedback-bot product-team``: who may decide any question and ship (both databases)."""

from __future__ import annotations

import asyncio

import pytest

from bot.cli import main
from feedback import users
from feedback.database import Database
from feedback.migrate import upgrade


def team(db_url: str, *args: str) -> int:
    return main(["product-team", *args, "--database-url", db_url])


def test_people_named_by_email_join_and_leave_the_team(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(upgrade(db_url))

    assert team(db_url, "add", "Priya@OurCo.example", "alex@ourco.example") == 0
    assert team(db_url, "remove", "alex@ourco.example") == 0
    capsys.readouterr()
    assert team(db_url, "list") == 0

    [line] = capsys.readouterr().out.strip().splitlines()
    assert line.startswith("priya@ourco.example") and "not seen in Slack yet" in line


def test_a_member_is_recognised_when_they_first_use_slack(db_url: str) -> None:
    asyncio.run(upgrade(db_url))
    assert team(db_url, "add", "priya@ourco.example") == 0

    async def first_seen() -> users.User:
        async with Database(db_url) as db, db.transaction() as conn:
            await users.ensure(
                conn,
                user_id="u-U0PRIYA",
                slack_id="U0PRIYA",
                name="Priya",
                email="PRIYA@ourco.example",
            )
            return await users.get_by_slack_id(conn, "U0PRIYA")

    assert asyncio.run(first_seen()).is_product_team


def test_a_bad_address_is_refused_and_changes_nothing(
    db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(upgrade(db_url))

    assert team(db_url, "add", "priya@ourco.example", "nope") == 2
    assert "not an e-mail address: nope" in capsys.readouterr().err
    assert team(db_url, "list") == 0
    assert "nobody is on the product team" in capsys.readouterr().out
