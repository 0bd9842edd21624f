"""``new-request``: what follows the creation of a request.

Today it records the request's first snapshot for the run's result; related
requests, the post to the area's channel and the creator's reminder join it next.
"""

from __future__ import annotations

from typing import Any

from feedback import requests as requests_db
from workflows.deps import current
from workflows.engine import step, workflow

__all__ = ["new_request"]


@workflow("new-request")
async def new_request(request_id: str) -> dict[str, Any]:
    """Follow up a new request (run id ``new-request:<request id>``)."""
    return await describe_request(request_id)


@step
async def describe_request(request_id: str) -> dict[str, Any]:
    """The request's title, slug, status and areas."""
    async with current().db.read() as conn:
        request = await requests_db.get(conn, request_id)
    return {
        "request_id": request.id,
        "title": request.title,
        "slug": request.slug,
        "status": request.status,
        "areas": list(request.area_ids),
    }
