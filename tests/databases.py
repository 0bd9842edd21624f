"""Find or start a PostgreSQL server for the tests, and hand out clean databases.

Order: ``TEST_DATABASE_URL``; else the local default (127.0.0.1:5432, user postgres,
database test); else a throwaway server started from PostgreSQL's binaries in a temp
directory. Where none works the PostgreSQL tests are skipped loudly, except under
``CI=true``, where they fail.
"""

from __future__ import annotations

import asyncio
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _can_connect(url: str) -> str | None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(candidates[-1]).parent if candidates else None


class ThrowawayServer:
    """A PostgreSQL server in a temp directory, removed on :meth:`stop`."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="feedback-bot-pg-"))
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(self.dir, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]

    def start(self) -> str:
        data = self.dir / "data"
        subprocess.run(
            [
                *self._as,
                str(self.bindir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
            ],
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [
                *self._as,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(data),
                "-w",
                "-l",
                str(self.dir / "log"),
                "-o",
                f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            [
                *self._as,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.dir / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


def find_server() -> tuple[str | None, ThrowawayServer | None, str]:
    """Return (url, server we started or None, explanation when url is None)."""
    reasons = []
    for url in filter(None, [os.environ.get("TEST_DATABASE_URL"), DEFAULT_URL]):
        problem = asyncio.run(_can_connect(url))
        if problem is None:
            return url, None, ""
        reasons.append(f"{make_url(url).render_as_string(hide_password=True)}: {problem}")
    bindir = _pg_bin()
    if bindir is None:
        reasons.append("no PostgreSQL binaries (initdb) to start a throwaway server")
        return None, None, "; ".join(reasons)
    server = ThrowawayServer(bindir)
    try:
        url = server.start()
    except (subprocess.CalledProcessError, OSError, KeyError) as exc:
        server.stop()
        reasons.append(f"throwaway server failed: {exc}")
        return None, None, "; ".join(reasons)
    return url, server, ""


def _identifier(name: str) -> str:
    """A database name made by the tests; checked, since identifiers cannot be bound."""
    if not re.fullmatch(r"[a-z0-9_]{1,63}", name):
        raise ValueError(f"unexpected database name {name!r}")
    return f'"{name}"'


async def create_database(admin_url: str, name: str) -> str:
    """(Re)create database ``name`` on the server of ``admin_url``; return its URL."""
    url = make_url(admin_url)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {_identifier(name)}")
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_database(admin_url: str, name: str) -> None:
    """Drop database ``name`` (at the end of a test session)."""
    dsn = make_url(admin_url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_identifier(name)} WITH (FORCE)")
    finally:
        await conn.close()


KEEP_TABLES = frozenset({"alembic_version"})
"""Tables ``truncate_all`` leaves alone: the migrated schema stays at its revision."""


async def truncate_all(url: str) -> None:
    """Empty every table of the database (between tests), except ``KEEP_TABLES``."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        names = [
            r["tablename"]
            for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            if r["tablename"] not in KEEP_TABLES
        ]
        if names:
            tables = ", ".join(map(_identifier, names))
            await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
