"""The import files' rows, parsed and checked without a database (pure functions).

::

    parsed = parse_accounts(Path("accounts.csv").read_bytes())
    parsed.errors            # (RowError(line=4, reason="arr: ..."), ...)
    parsed.rows              # (AccountRow(line=2, name="Acme Corp", ...), ...)
    parsed.has("channels")   # the file has the column

Files are CSV, UTF-8 (a byte-order mark is fine), with a header line naming the
columns in any order and case. Line numbers count the header as line 1; a row whose
quoted value spans lines is reported at its first line. Blank lines are skipped. Every
problem in the file is collected: rows with problems are left out of ``rows``.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar

from feedback._util import slugify
from feedback.errors import RowError
from feedback.schema import REQUEST_STATUSES

__all__ = [
    "ACCOUNT_COLUMNS",
    "AREA_COLUMNS",
    "REQUEST_COLUMNS",
    "AccountRow",
    "AreaRow",
    "Parsed",
    "RequestRow",
    "parse_accounts",
    "parse_areas",
    "parse_requests",
    "title_key",
]

ACCOUNT_COLUMNS = ("name", "arr", "tier", "crm_id", "owner_email", "domain", "channels")
AREA_COLUMNS = ("name", "slug", "description", "channel")
REQUEST_COLUMNS = ("title", "description", "status", "areas", "creator_email")

RowT = TypeVar("RowT")

_MONEY = re.compile(r"\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DOMAIN = re.compile(
    r"(?=.{1,255}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+"
)
_CHANNEL = re.compile(r"[CG][A-Z0-9]{6,31}")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_LIST = re.compile(r"[\s;,]+")
_MAX_ARR = Decimal(10) ** 12  # Numeric(14, 2)


@dataclass(frozen=True)
class AccountRow:
    """A customer account from ``accounts.csv``.

    Attributes:
        line: Where the row starts in the file.
        name: Required, unique (any case).
        arr: Annual recurring revenue, non-negative.
        tier: Plan or segment; empty when not given.
        crm_id: The CRM's id; when given, the key for re-imports (else ``name`` is).
        owner_email: The account owner.
        domain: The customer's e-mail domain, lower case.
        channels: Slack channel ids that belong to the account.
    """

    line: int
    name: str
    arr: Decimal
    tier: str = ""
    crm_id: str | None = None
    owner_email: str | None = None
    domain: str | None = None
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class AreaRow:
    """A product area from ``areas.csv``.

    Attributes:
        line: Where the row starts in the file.
        name: Required, unique (any case).
        slug: The key for re-imports; made from the name when not given.
        description: What the area covers.
        channel_id: The Slack channel of the area.
    """

    line: int
    name: str
    slug: str
    description: str = ""
    channel_id: str | None = None


@dataclass(frozen=True)
class RequestRow:
    """A feature request from ``requests.csv``.

    Attributes:
        line: Where the row starts in the file.
        title: Required; the key for re-imports (any case, spaces collapsed).
        description: What is asked and why.
        status: One of the request statuses (default ``open``).
        area_slugs: The slugs of its product areas.
        creator_email: Who filed it, when known.
    """

    line: int
    title: str
    description: str = ""
    status: str = "open"
    area_slugs: tuple[str, ...] = ()
    creator_email: str | None = None


@dataclass(frozen=True)
class Parsed(Generic[RowT]):
    """A parsed file: its good rows, its columns, and every problem found.

    Attributes:
        rows: The rows without problems, in file order.
        columns: The columns the header names (lower case).
        errors: The problems, by line.
    """

    rows: tuple[RowT, ...]
    columns: frozenset[str]
    errors: tuple[RowError, ...]

    def has(self, column: str) -> bool:
        """Whether the file has this column (absent columns are left alone on update)."""
        return column in self.columns


def title_key(title: str) -> str:
    """How request titles are compared: any case, runs of spaces as one."""
    return " ".join(title.split()).casefold()


def parse_accounts(data: bytes | str) -> Parsed[AccountRow]:
    """Parse ``accounts.csv``: name, arr (required); tier, crm_id, owner_email, domain, channels.

    Args:
        data: The file's bytes (UTF-8) or text.
    """
    table = _Table.read(data, ACCOUNT_COLUMNS, required=("name", "arr"))
    rows: list[AccountRow] = []
    errors = list(table.errors)
    seen = _Seen()
    for cells in table.records():
        row = AccountRow(
            line=cells.line,
            name=cells.text("name", limit=200, required=True),
            arr=cells.parse("arr", _money, Decimal(0), required=True),
            tier=cells.text("tier", limit=50),
            crm_id=cells.text("crm_id", limit=64) or None,
            owner_email=cells.parse("owner_email", _email, None),
            domain=cells.parse("domain", _domain, None),
            channels=cells.parse("channels", _channels, ()),
        )
        seen.check(cells, "name", row.name.casefold(), row.name)
        if row.crm_id:
            seen.check(cells, "crm_id", row.crm_id, row.crm_id)
        for channel in row.channels:
            seen.check(cells, "channel", channel, channel)
        _keep(cells, row, rows, errors)
    return _parsed(rows, table, errors)


def parse_areas(data: bytes | str) -> Parsed[AreaRow]:
    """Parse ``areas.csv``: name (required); slug, description, channel.

    Args:
        data: The file's bytes (UTF-8) or text.
    """
    table = _Table.read(data, AREA_COLUMNS, required=("name",))
    rows: list[AreaRow] = []
    errors = list(table.errors)
    seen = _Seen()
    for cells in table.records():
        name = cells.text("name", limit=200, required=True)
        row = AreaRow(
            line=cells.line,
            name=name,
            slug=cells.parse("slug", _slug, "") or _slug_from(cells, name),
            description=cells.text("description"),
            channel_id=cells.parse("channel", _channel, None),
        )
        seen.check(cells, "name", row.name.casefold(), row.name)
        if row.slug:
            seen.check(cells, "slug", row.slug, row.slug)
        _keep(cells, row, rows, errors)
    return _parsed(rows, table, errors)


def parse_requests(data: bytes | str) -> Parsed[RequestRow]:
    """Parse ``requests.csv``: title (required); description, status, areas, creator_email.

    Args:
        data: The file's bytes (UTF-8) or text.
    """
    table = _Table.read(data, REQUEST_COLUMNS, required=("title",))
    rows: list[RequestRow] = []
    errors = list(table.errors)
    seen = _Seen()
    for cells in table.records():
        row = RequestRow(
            line=cells.line,
            title=" ".join(cells.text("title", limit=300, required=True).split()),
            description=cells.text("description"),
            status=cells.parse("status", _status, "open"),
            area_slugs=cells.parse("areas", _slugs, ()),
            creator_email=cells.parse("creator_email", _email, None),
        )
        seen.check(cells, "title", title_key(row.title), row.title)
        _keep(cells, row, rows, errors)
    return _parsed(rows, table, errors)


# -- values: each returns the value or raises ValueError with the reason ---------------


def _money(value: str) -> Decimal:
    match = _MONEY.fullmatch(value.replace(" ", ""))
    if match is None:
        if value.lstrip("$").startswith("-"):
            raise ValueError(f"{value!r} is negative; ARR must be 0 or more")
        raise ValueError(
            f"{value!r} is not a plain number; write digits such as 1200000 or 1,200,000.50 "
            f"(commas and a leading $ are fine, suffixes such as K or M are not)"
        )
    amount = Decimal(match[1].replace(",", "") + (match[2] or ""))
    if amount >= _MAX_ARR:
        raise ValueError(f"{value!r} is too large (at most 999,999,999,999.99)")
    return amount


def _email(value: str) -> str:
    if len(value) > 320 or not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an e-mail address (name@company.example)")
    return value.lower()


def _domain(value: str) -> str:
    domain = value.lower().removeprefix("@")
    if not _DOMAIN.fullmatch(domain):
        raise ValueError(
            f"{value!r} is not a bare e-mail domain; write it like acme.example "
            f"(no https://, no path)"
        )
    return domain


def _channel(value: str) -> str:
    if _CHANNEL.fullmatch(value):
        return value
    if value.startswith("#") or value.islower():
        raise ValueError(
            f"{value!r} looks like a channel name; give its id (like C0123ABCD, shown at "
            f"the bottom of the channel's details in Slack)"
        )
    raise ValueError(f"{value!r} is not a Slack channel id (like C0123ABCD)")


def _channels(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_channel(part) for part in _LIST.split(value) if part))


def _slug(value: str) -> str:
    value = value.lower()
    if len(value) > 200 or not _SLUG.fullmatch(value):
        raise ValueError(
            f"{value!r} is not a slug: use lower-case letters, digits and single hyphens "
            f"(like data-import-export)"
        )
    return value


def _slugs(value: str) -> tuple[str, ...]:
    parts = (part.strip() for part in re.split(r"[;,]", value))
    return tuple(dict.fromkeys(_slug(part) for part in parts if part))


def _status(value: str) -> str:
    status = value.lower()
    if status not in REQUEST_STATUSES:
        raise ValueError(f"{value!r} is not a status; use one of {', '.join(REQUEST_STATUSES)}")
    return status


def _slug_from(cells: _Cells, name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    if name and not re.search(r"[A-Za-z0-9]", ascii_name):
        cells.problem(f"slug: cannot make one from the name {name!r}; fill in the slug column")
        return ""
    return slugify(name) if name else ""


# -- reading the table --------------------------------------------------------------


class _Cells:
    """One record's values by column, and the problems found in them."""

    def __init__(self, line: int, values: dict[str, str]) -> None:
        self.line = line
        self.values = values
        self.problems: list[str] = []

    def problem(self, reason: str) -> None:
        self.problems.append(reason)

    def text(self, column: str, *, limit: int | None = None, required: bool = False) -> str:
        value = self.values.get(column, "")
        if required and not value:
            self.problem(f"{column}: is empty; it is required")
        elif limit is not None and len(value) > limit:
            self.problem(f"{column}: is {len(value)} characters long; at most {limit}")
            return value[:limit]
        return value

    def parse(
        self, column: str, parse: Callable[[str], RowT], default: RowT, *, required: bool = False
    ) -> RowT:
        value = self.text(column, required=required)
        if not value:
            return default
        try:
            return parse(value)
        except ValueError as exc:
            self.problem(f"{column}: {exc}")
            return default


class _Seen:
    """Keys already used in the file, to report duplicates with the first line."""

    def __init__(self) -> None:
        self.first: dict[tuple[str, str], int] = {}

    def check(self, cells: _Cells, kind: str, key: str, shown: str) -> None:
        if not key:
            return
        first = self.first.setdefault((kind, key), cells.line)
        if first != cells.line:
            cells.problem(f"{kind} {shown!r} is already on line {first}; each may appear once")


def _keep(cells: _Cells, row: RowT, rows: list[RowT], errors: list[RowError]) -> None:
    if cells.problems:
        errors.append(RowError(cells.line, "; ".join(cells.problems)))
    else:
        rows.append(row)


def _parsed(rows: list[RowT], table: _Table, errors: list[RowError]) -> Parsed[RowT]:
    return Parsed(tuple(rows), table.columns, tuple(sorted(errors, key=lambda e: e.line)))


@dataclass
class _Table:
    header: tuple[str, ...]
    body: list[tuple[int, list[str]]]
    errors: list[RowError]

    @property
    def columns(self) -> frozenset[str]:
        return frozenset(self.header)

    @classmethod
    def read(cls, data: bytes | str, known: Sequence[str], *, required: Sequence[str]) -> _Table:
        text, problem = _decode(data)
        if problem is not None:
            return cls((), [], [problem])
        if not text.strip():
            return cls(
                (),
                [],
                [
                    RowError(
                        1, f"the file is empty; line 1 must name the columns: {','.join(known)}"
                    )
                ],
            )
        records, unreadable = _records(text)
        if not records:
            return cls((), [], unreadable)
        header = tuple(name.strip().lower() for name in records[0][1])
        problems = _header_errors(header, known, required)
        if problems:  # with a bad header the values cannot be told apart
            return cls(header, [], problems + unreadable)
        return cls(header, records[1:], unreadable)

    def records(self) -> Iterator[_Cells]:
        width = len(self.header)
        for line, record in self.body:
            values = [value.strip() for value in record]
            if not any(values):
                continue  # a blank line
            cells = _Cells(line, dict(zip(self.header, values, strict=False)))
            if any(values[width:]):
                cells.problem(
                    f"has {len(values)} values but the header names {width} columns; put "
                    f'values that contain commas in double quotes ("Acme, Inc.")'
                )
            yield cells


def _decode(data: bytes | str) -> tuple[str, RowError | None]:
    if isinstance(data, str):
        return data.removeprefix("\ufeff"), None
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return "", RowError(
            line,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as "
            f"'CSV UTF-8' and import it again",
        )


def _records(text: str) -> tuple[list[tuple[int, list[str]]], list[RowError]]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records: list[tuple[int, list[str]]] = []
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return records, []
        except csv.Error as exc:
            reason = f"unreadable CSV ({exc}); check the double quotes from this line on"
            return records, [RowError(line, reason)]
        records.append((line, record))


def _header_errors(
    header: tuple[str, ...], known: Sequence[str], required: Sequence[str]
) -> list[RowError]:
    reasons = []
    for position, name in enumerate(header, start=1):
        if not name:
            reasons.append(f"column {position} of the header has no name")
        elif name not in known:
            reasons.append(f"unknown column {name!r}; the columns are {', '.join(known)}")
        elif header.index(name) != position - 1:
            reasons.append(f"column {name!r} appears twice")
    reasons += [f"missing required column {name!r}" for name in required if name not in header]
    return [RowError(1, reason) for reason in reasons]
