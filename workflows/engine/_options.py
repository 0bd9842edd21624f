"""The engine's tuning knobs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineOptions:
    """Tuning knobs of an :class:`Engine` (all durations in seconds).

    Attributes:
        lease_ttl: How long a worker's claim on a run lasts without a heartbeat (sent
            every quarter of it, or every poll interval if shorter). A worker on another
            host that dies has its runs taken over within this time; on the same host,
            within a heartbeat (and at once by a worker starting there).
        idle_window: How long a run may wait in memory before it is unloaded.
        poll_interval: Longest pause between sweeps (and between checks when
            notifications are unavailable, as on SQLite across processes).
        max_recoveries: Takeovers from dead workers in a row before a run is
            stopped as ``crashed``.
        pool_size: Database connections (PostgreSQL).
        connect_timeout: How long opening the engine retries an unreachable database.
        sqlite_synchronous: SQLite's ``synchronous`` pragma (FULL survives power loss;
            NORMAL survives process crashes and is faster).
    """

    lease_ttl: float = 4.0
    idle_window: float = 1.0
    poll_interval: float = 1.0
    max_recoveries: int = 10
    pool_size: int = 10
    connect_timeout: float = 60.0
    sqlite_synchronous: str = "FULL"

    @property
    def heartbeat(self) -> float:
        """How often a worker renews its leases and looks for dead workers on its host."""
        return min(self.lease_ttl / 4, self.poll_interval)
