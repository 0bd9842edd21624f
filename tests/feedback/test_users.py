"""Users: one person is one user, however their e-mail address is written."""

from __future__ import annotations

from feedback import users
from feedback.database import Database


async def test_an_imported_person_is_found_by_e_mail_in_any_case(domain_db: Database) -> None:
    # FINDING 12: `requests import` stores a creator's e-mail lower-cased
    # (ensure_by_email), but users.ensure looks the Slack profile's address up with a
    # case-sensitive `email == ...`. Slack returns addresses as people typed them
    # (Sam.Seller@OurCo.example), so the imported creator is never given their Slack id:
    # a second user row is made for the same person (the unique index on email is
    # case-sensitive too), and the imported requests' creator can never be DMed.
    # (feedback/users.py: ensure, `_find(conn, users.c.email == email)`)
    async with domain_db.transaction() as conn:
        imported = await users.ensure_by_email(
            conn, user_id="u-imported", email="Sam.Seller@OurCo.example", name="Sam Seller"
        )
    async with domain_db.transaction() as conn:
        from_slack = await users.ensure(
            conn,
            user_id="u-U0SAM",
            slack_id="U0SAM",
            name="Sam Seller",
            email="Sam.Seller@OurCo.example",
        )

    assert imported.email == "sam.seller@ourco.example"
    assert from_slack.id == imported.id, "the same person became two users"
