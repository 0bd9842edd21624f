"""What the *Open* button shows: a request's card, read from the database."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.modals import RequestCard
from feedback import accounts, areas, items, users
from feedback import requests as requests_db
from feedback.errors import NotFound

__all__ = ["load_card"]


async def load_card(conn: AsyncConnection, request_id: str, viewer: str) -> RequestCard:
    """The card of a request as ``viewer`` (a Slack id) sees it.

    Raises:
        NotFound: No such request.
    """
    request = await requests_db.get(conn, request_id)
    known = {a.id: a.name for a in await areas.listing(conn)}
    filed = await items.for_request(conn, request_id)
    asking: dict[str, tuple[str, Decimal]] = {}
    for account_id in dict.fromkeys(i.account_id for i in filed if i.account_id):
        account = await accounts.get(conn, account_id)
        asking[account.id] = (account.name, account.arr)
    customers = tuple(sorted(asking.values(), key=lambda c: (-c[1], c[0])))
    try:
        can_ship = (await users.get_by_slack_id(conn, viewer)).is_product_team
    except NotFound:
        can_ship = False
    return RequestCard(
        request_id=request.id,
        title=request.title,
        slug=request.slug,
        status=request.status,
        description=request.description,
        areas=tuple(known[a] for a in request.area_ids if a in known),
        feedback=len(filed),
        customers=customers,
        arr=sum((arr for _, arr in customers), Decimal(0)),
        quotes=tuple((i.quote, i.permalink) for i in reversed(filed[-5:])),
        can_ship=can_ship,
    )
