"""PostgreSQL LISTEN/NOTIFY wake-ups, on a dedicated asyncpg connection.

Notifications only make things faster: every waiter also polls, so a lost
connection (or SQLite, which has no notifications) delays wake-ups by at most the
poll interval. The listener reconnects with back-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import URL

log = logging.getLogger(__name__)

CHANNELS = ("wf_wake", "wf_done", "wf_cancel")


class Listener:
    """Calls ``on_notify(channel, payload)`` for each notification on our channels."""

    def __init__(self, url: URL, on_notify: Callable[[str, str], None]) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="workflows-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _deliver(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        try:
            self._on_notify(channel, payload)
        except Exception:
            log.exception("notification handler failed")

    async def _run(self) -> None:
        import asyncpg

        delay = 0.1
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(self._dsn)
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                for channel in CHANNELS:
                    await conn.add_listener(channel, self._deliver)
                delay = 0.1
                await lost.wait()
                log.warning("notification connection lost; polling until it is back")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("cannot listen for notifications (%s); retrying in %.1fs", exc, delay)
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close(timeout=2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
