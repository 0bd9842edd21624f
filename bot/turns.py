"""Requests take turns, so that a burst's first database write goes out at once.

Requests that arrive together (a burst: Slack redelivering, twenty people reacting at
once) become ready together, and asyncio runs each one until it first waits. Every
acknowledgement ends by waiting for its run to be written, and the engine writes the
runs queued so far in one transaction; but the task that writes them is woken behind
all the requests already ready. So the whole burst is parsed and dispatched first,
then written in one transaction while the processor idles, then answered at once; and
the next burst arrives as one too (``bench/slack_ingest.py`` measured it: batches of
all twenty requests in flight, 4 ms each with nothing else to do).

With :class:`Turns`, one request at a time starts its work, and the next one's turn
comes only after the event loop has gone round once: whatever the previous request
woke (the writer) runs in between. The first write goes out while the next request
is parsed, and the answers leave one by one. A turn is not held while its request
waits: a slow request (a Slack call from a listener) never delays the others.
"""

from __future__ import annotations

import asyncio

__all__ = ["Turns"]


class Turns:
    """First come, first served; a turn lasts until the event loop goes round once."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait for this request's turn (at once when no other request is starting)."""
        await self._lock.acquire()
        asyncio.get_running_loop().call_soon(self._lock.release)
