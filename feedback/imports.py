"""CSV imports of accounts, product areas and existing requests.

::

    result = await import_accounts(db, "accounts.csv")
    str(result)        # "imported 12 accounts: 10 new, 2 updated"

Rules, the same for every file (the columns are in :mod:`feedback.csv_rows`):

- All or nothing: every bad row is collected (line number and reason) and then
  :class:`~feedback.errors.ImportFileError` is raised with nothing imported. The writes
  are one transaction.
- Re-importing updates in place. Accounts are keyed by ``crm_id`` when the row has one
  (an account found by name that has no CRM id yet adopts it), else by name (any case);
  areas by slug; requests by title (any case, spaces collapsed), since their slugs
  are made by the bot. A title that already names two requests is an error.
- A column the file lacks is left alone on update; a column it has is written, and an
  empty cell clears the value. The one exception: an empty ``creator_email`` keeps the
  request's creator. An unknown ``creator_email`` becomes a user without a Slack id,
  who is matched by e-mail when they first use Slack.
- An account's ``channels`` are exactly its channels afterwards; a channel listed
  under another account moves.
- Requests are embedded (title and description, batches of 64) when new or when their
  text changed, and the vectors are stored with :mod:`feedback.embeddings`. The texts
  are embedded before the write transaction opens, so a slow embedder does not hold
  the database's write lock; the rows are checked again inside it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from os import PathLike
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from feedback import embeddings
from feedback import requests as requests_q
from feedback import users as users_q
from feedback._util import insert_ignore, new_id, upsert, utcnow
from feedback.csv_rows import (
    AccountRow,
    Parsed,
    RequestRow,
    parse_accounts,
    parse_areas,
    parse_requests,
    title_key,
)
from feedback.database import Database
from feedback.errors import ImportFileError, RowError
from feedback.schema import account_channels, accounts, areas, request_areas, request_embeddings
from feedback.schema import requests as requests_t

__all__ = [
    "EMBED_BATCH",
    "EXAMPLES",
    "ImportResult",
    "Progress",
    "TextEmbedder",
    "import_accounts",
    "import_areas",
    "import_requests",
]

EMBED_BATCH = 64
"""Texts per call to the embedder."""

EXAMPLES = Path(__file__).parent / "examples"
"""The shipped example files (for the demo and the docs): ``accounts.csv`` (8 customers),
``areas.csv`` (5 product areas) and ``requests.csv`` (40 backlog requests); import them
in that order."""

Progress = Callable[[int, int], None]
"""Called with (texts embedded so far, texts to embed) after each batch."""

StrPath = str | PathLike[str]


class TextEmbedder(Protocol):
    """What the request import needs of an embedder (``agents.Embedder`` has it)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]: ...


@dataclass(frozen=True)
class ImportResult:
    """What an import did.

    Attributes:
        kind: ``accounts``, ``areas`` or ``requests``.
        created: Rows that were new.
        updated: Existing rows that changed.
        unchanged: Existing rows that were already as the file says.
    """

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        """Rows imported."""
        return self.created + self.updated + self.unchanged

    def __str__(self) -> str:
        noun = self.kind[:-1] if self.total == 1 else self.kind
        text = f"imported {self.total} {noun}: {self.created} new, {self.updated} updated"
        return text + (f", {self.unchanged} unchanged" if self.unchanged else "")


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def count(self, target: str | None, changed: bool) -> None:
        if target is None:
            self.created += 1
        elif changed:
            self.updated += 1
        else:
            self.unchanged += 1

    def result(self, kind: str) -> ImportResult:
        return ImportResult(kind, self.created, self.updated, self.unchanged)


# -- accounts -----------------------------------------------------------------------


async def import_accounts(db: Database, path: StrPath) -> ImportResult:
    """Create or update accounts and their channels from a CSV file.

    Args:
        db: The domain database (migrated).
        path: The file: name, arr (required); tier, crm_id, owner_email, domain, channels.

    Returns:
        How many accounts were new, updated and unchanged.

    Raises:
        ImportFileError: Some rows are bad; nothing was imported.
        OSError: The file cannot be read.
    """
    parsed = parse_accounts(await _read(path))
    async with db.transaction() as conn:
        known = await _Accounts.load(conn)
        targets = [(row, known.match(row)) for row in parsed.rows]
        _raise_if_bad(path, parsed.errors, [p for _, (_, p) in targets if p is not None])
        counts = _Counts()
        now = utcnow()
        for row, (target, _) in targets:
            changed = await _write_account(conn, parsed, row, target, known, now)
            counts.count(target, changed)
        return counts.result("accounts")


@dataclass
class _Accounts:
    rows: dict[str, dict[str, Any]]
    channels: dict[str, set[str]]
    by_crm: dict[str, str] = field(default_factory=dict)
    by_name: dict[str, str] = field(default_factory=dict)
    claimed: dict[str, int] = field(default_factory=dict)

    @classmethod
    async def load(cls, conn: AsyncConnection) -> _Accounts:
        rows = {r["id"]: dict(r) for r in (await conn.execute(select(accounts))).mappings()}
        channels: dict[str, set[str]] = defaultdict(set)
        for channel_id, account_id in await conn.execute(select(account_channels)):
            channels[account_id].add(channel_id)
        known = cls(rows, channels)
        for account_id, row in rows.items():
            known.by_name[row["name"].casefold()] = account_id
            if row["crm_id"]:
                known.by_crm[row["crm_id"]] = account_id
        return known

    def match(self, row: AccountRow) -> tuple[str | None, RowError | None]:
        """The account this row updates (``None``: a new one), or why it cannot."""
        named = self.by_name.get(row.name.casefold())
        target = self.by_crm.get(row.crm_id) if row.crm_id else None
        if target is None:
            target = named
            other_crm = self.rows[named]["crm_id"] if named else None
            if row.crm_id and other_crm and other_crm != row.crm_id:
                return None, RowError(
                    row.line,
                    f"name {row.name!r} belongs to the account with crm_id {other_crm!r}, "
                    f"not {row.crm_id!r}; fix the crm_id or the name",
                )
        elif named is not None and named != target:
            return None, RowError(
                row.line,
                f"name {row.name!r} is taken by another account "
                f"(crm_id {self.rows[named]['crm_id']!r}); rename that one first",
            )
        if target is not None:
            first = self.claimed.setdefault(target, row.line)
            if first != row.line:
                return None, RowError(
                    row.line, f"updates the same account as line {first}; merge the two rows"
                )
        return target, None


async def _write_account(
    conn: AsyncConnection,
    parsed: Parsed[AccountRow],
    row: AccountRow,
    target: str | None,
    known: _Accounts,
    now: datetime,
) -> bool:
    values: dict[str, Any] = {"name": row.name, "arr": row.arr}
    for column in ("tier", "crm_id", "owner_email", "domain"):
        if parsed.has(column):
            values[column] = getattr(row, column)
    if target is None:
        target = new_id()
        await conn.execute(
            accounts.insert().values(id=target, created_at=now, updated_at=now, **values)
        )
        changed = True
    else:
        before = known.rows[target]
        changed = any(_differs(before[k], v) for k, v in values.items())
        if changed:
            await conn.execute(
                update(accounts).where(accounts.c.id == target).values(updated_at=now, **values)
            )
    if parsed.has("channels"):
        wanted = set(row.channels)
        if wanted != known.channels.get(target, set()):
            changed = True
            await conn.execute(
                delete(account_channels).where(
                    account_channels.c.account_id == target,
                    account_channels.c.channel_id.not_in(wanted),
                )
            )
            for channel_id in row.channels:  # a channel of another account moves here
                await upsert(
                    conn,
                    account_channels,
                    {"channel_id": channel_id, "account_id": target},
                    keys=("channel_id",),
                )
    return changed


def _differs(before: Any, after: Any) -> bool:
    if isinstance(after, Decimal):
        return Decimal(before) != after
    return bool(before != after)


# -- areas --------------------------------------------------------------------------


async def import_areas(db: Database, path: StrPath) -> ImportResult:
    """Create or update product areas from a CSV file.

    Args:
        db: The domain database (migrated).
        path: The file: name (required); slug (default: made from the name),
            description, channel.

    Returns:
        How many areas were new, updated and unchanged.

    Raises:
        ImportFileError: Some rows are bad; nothing was imported.
        OSError: The file cannot be read.
    """
    parsed = parse_areas(await _read(path))
    async with db.transaction() as conn:
        rows = {r["slug"]: dict(r) for r in (await conn.execute(select(areas))).mappings()}
        names = {row["name"].casefold(): slug for slug, row in rows.items()}
        problems = [
            RowError(
                row.line,
                f"name {row.name!r} is taken by the area {names[row.name.casefold()]!r}; "
                f"use that slug or another name",
            )
            for row in parsed.rows
            if names.get(row.name.casefold(), row.slug) != row.slug
        ]
        _raise_if_bad(path, parsed.errors, problems)
        counts = _Counts()
        for row in parsed.rows:
            values: dict[str, Any] = {"name": row.name, "slug": row.slug}
            if parsed.has("description"):
                values["description"] = row.description
            if parsed.has("channel"):
                values["channel_id"] = row.channel_id
            before = rows.get(row.slug)
            changed = before is None or any(before[k] != v for k, v in values.items())
            if before is None:
                await conn.execute(areas.insert().values(id=new_id(), **values))
            elif changed:
                await conn.execute(update(areas).where(areas.c.id == before["id"]).values(values))
            counts.count(None if before is None else before["id"], changed)
        return counts.result("areas")


# -- requests -----------------------------------------------------------------------


async def import_requests(
    db: Database,
    path: StrPath,
    embedder: TextEmbedder,
    *,
    progress: Progress | None = None,
) -> ImportResult:
    """Create or update requests from a CSV file, and embed the new and changed ones.

    Args:
        db: The domain database (migrated; the areas imported first).
        path: The file: title (required); description, status, areas (slugs separated
            by ``;``), creator_email.
        embedder: Embeds each request's title and description.
        progress: Called with (embedded, to embed) as the batches complete.

    Returns:
        How many requests were new, updated and unchanged.

    Raises:
        ImportFileError: Some rows are bad; nothing was imported.
        OSError: The file cannot be read.
        ValueError: The embedder returned vectors of the wrong shape.
        Exception: Whatever the embedder raises (``agents.EmbedderError``); nothing
            was imported.
    """
    parsed = parse_requests(await _read(path))
    async with db.read() as conn:
        plan = await _RequestPlan.make(conn, parsed, embedder.name)
    _raise_if_bad(path, parsed.errors, plan.errors)
    vectors = await _embed(embedder, plan.texts_to_embed(), progress)
    async with db.transaction() as conn:
        plan = await _RequestPlan.make(conn, parsed, embedder.name)  # again: it may have moved
        _raise_if_bad(path, (), plan.errors)
        missing = [text for text in plan.texts_to_embed() if text not in vectors]
        vectors |= await _embed(embedder, missing, None)
        return await plan.write(conn, embedder.name, vectors)


@dataclass
class _RequestPlan:
    parsed: Parsed[RequestRow]
    rows: dict[str, dict[str, Any]]
    area_ids: dict[str, str]
    current_areas: dict[str, set[str]]
    embedded: dict[str, str]
    targets: list[tuple[RequestRow, str | None]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @classmethod
    async def make(
        cls, conn: AsyncConnection, parsed: Parsed[RequestRow], embedder: str
    ) -> _RequestPlan:
        r = requests_t
        rows = {
            row["id"]: dict(row)
            for row in (
                await conn.execute(
                    select(r.c.id, r.c.title, r.c.description, r.c.status, r.c.slug, r.c.creator_id)
                )
            ).mappings()
        }
        current: dict[str, set[str]] = defaultdict(set)
        for request_id, area_id in await conn.execute(select(request_areas)):
            current[request_id].add(area_id)
        e = request_embeddings
        stored = await conn.execute(
            select(e.c.request_id, e.c.text).where(
                e.c.embedder == embedder, e.c.text_id == embeddings.REQUEST_TEXT
            )
        )
        area_ids = {slug: id_ for id_, slug in await conn.execute(select(areas.c.id, areas.c.slug))}
        plan = cls(parsed, rows, area_ids, current, dict(stored.all()))
        plan._match()
        return plan

    def _match(self) -> None:
        by_title: dict[str, list[str]] = defaultdict(list)
        for request_id, existing in self.rows.items():
            by_title[title_key(existing["title"])].append(request_id)
        for row in self.parsed.rows:
            found = by_title.get(title_key(row.title), [])
            unknown = [slug for slug in row.area_slugs if slug not in self.area_ids]
            if len(found) > 1:
                slugs = ", ".join(sorted(self.rows[i]["slug"] for i in found))
                self.errors.append(
                    RowError(
                        row.line,
                        f"title {row.title!r} names {len(found)} requests ({slugs}); "
                        f"rename all but one of them first",
                    )
                )
            elif unknown:
                known = ", ".join(sorted(self.area_ids)) or "none yet"
                self.errors.append(
                    RowError(
                        row.line,
                        f"areas: unknown {', '.join(map(repr, unknown))}; the areas are "
                        f"{known} (import areas.csv first)",
                    )
                )
            else:
                self.targets.append((row, found[0] if found else None))

    def text_of(self, row: RequestRow, target: str | None) -> str:
        if target is not None and not self.parsed.has("description"):
            return requests_q.embedding_text(row.title, self.rows[target]["description"])
        return requests_q.embedding_text(row.title, row.description)

    def texts_to_embed(self) -> list[str]:
        texts = (self.text_of(row, target) for row, target in self.targets)
        stored = (self.embedded.get(target) if target else None for _, target in self.targets)
        return [text for text, old in zip(texts, stored, strict=True) if text != old]

    async def write(
        self, conn: AsyncConnection, embedder: str, vectors: dict[str, npt.NDArray[np.float32]]
    ) -> ImportResult:
        counts = _Counts()
        now = utcnow()
        for row, target in self.targets:
            creator_id = await _creator(conn, row.creator_email)
            if target is None:
                request_id = new_id()
                await requests_q.create(
                    conn,
                    request_id=request_id,
                    title=row.title,
                    description=row.description,
                    creator_id=creator_id,
                    area_ids=[self.area_ids[slug] for slug in row.area_slugs],
                    status=row.status,
                    now=now,
                )
                changed = True
            else:
                request_id = target
                changed = await self._update(conn, row, target, creator_id, now)
            text = self.text_of(row, target)
            if text != self.embedded.get(request_id):
                await embeddings.save(
                    conn,
                    request_id=request_id,
                    embedder=embedder,
                    text_id=embeddings.REQUEST_TEXT,
                    text=text,
                    vector=vectors[text],
                )
            counts.count(target, changed)
        return counts.result("requests")

    async def _update(
        self,
        conn: AsyncConnection,
        row: RequestRow,
        request_id: str,
        creator_id: str | None,
        now: datetime,
    ) -> bool:
        before = self.rows[request_id]
        values: dict[str, Any] = {"title": row.title}
        if self.parsed.has("description"):
            values["description"] = row.description
        if self.parsed.has("status"):
            values["status"] = row.status
        if creator_id is not None:  # an empty creator_email keeps the creator
            values["creator_id"] = creator_id
        changed = any(before[k] != v for k, v in values.items())
        if values.get("status", before["status"]) != before["status"]:
            values["shipped_at"] = now if row.status == "shipped" else None
        if changed:
            await conn.execute(
                update(requests_t)
                .where(requests_t.c.id == request_id)
                .values(updated_at=now, **values)
            )
        if self.parsed.has("areas"):
            wanted = {self.area_ids[slug] for slug in row.area_slugs}
            if wanted != self.current_areas.get(request_id, set()):
                changed = True
                await conn.execute(
                    delete(request_areas).where(
                        request_areas.c.request_id == request_id,
                        request_areas.c.area_id.not_in(wanted),
                    )
                )
                for area_id in wanted:
                    await insert_ignore(
                        conn, request_areas, {"request_id": request_id, "area_id": area_id}
                    )
        return changed


async def _creator(conn: AsyncConnection, email: str | None) -> str | None:
    if email is None:
        return None
    name = " ".join(part.capitalize() for part in email.split("@")[0].replace("_", ".").split("."))
    user = await users_q.ensure_by_email(conn, user_id=new_id(), email=email, name=name or email)
    return user.id


async def _embed(
    embedder: TextEmbedder, texts: Sequence[str], progress: Progress | None
) -> dict[str, npt.NDArray[np.float32]]:
    out: dict[str, npt.NDArray[np.float32]] = {}
    if progress is not None and texts:
        progress(0, len(texts))
    for start in range(0, len(texts), EMBED_BATCH):
        batch = list(texts[start : start + EMBED_BATCH])
        vectors = np.asarray(await embedder.embed(batch), dtype=np.float32)
        if vectors.shape != (len(batch), embedder.dim):
            raise ValueError(
                f"embedder {embedder.name!r} returned an array of shape {vectors.shape} for "
                f"{len(batch)} texts; expected ({len(batch)}, {embedder.dim})"
            )
        out.update(zip(batch, vectors, strict=True))
        if progress is not None:
            progress(start + len(batch), len(texts))
    return out


# -- shared -------------------------------------------------------------------------


async def _read(path: StrPath) -> bytes:
    return await asyncio.to_thread(Path(path).read_bytes)


def _raise_if_bad(path: StrPath, *groups: Sequence[RowError]) -> None:
    errors = sorted((e for group in groups for e in group), key=lambda e: e.line)
    if errors:
        raise ImportFileError(str(path), errors)
