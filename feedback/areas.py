"""Product areas: each has a name, a slug, a description and a Slack channel."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback.errors import NotFound
from feedback.schema import areas

__all__ = ["Area", "get", "listing"]


@dataclass(frozen=True)
class Area:
    """A product area.

    Attributes:
        id: Its id.
        name: Display name.
        slug: URL-friendly name.
        description: What the area covers (used to place new requests).
        channel_id: Where its new requests and insights are posted.
    """

    id: str
    name: str
    slug: str
    description: str = ""
    channel_id: str | None = None


async def get(conn: AsyncConnection, area_id: str) -> Area:
    """The area with this id. Raises NotFound."""
    row = (await conn.execute(select(areas).where(areas.c.id == area_id))).mappings().first()
    if row is None:
        raise NotFound("area", area_id)
    return _area(row)


async def listing(conn: AsyncConnection) -> list[Area]:
    """Every area, by name."""
    rows = await conn.execute(select(areas).order_by(areas.c.name))
    return [_area(row) for row in rows.mappings()]


def _area(row: RowMapping) -> Area:
    return Area(
        id=row["id"],
        name=row["name"],
        slug=row["slug"],
        description=row["description"],
        channel_id=row["channel_id"],
    )
