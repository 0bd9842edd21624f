"""Parsing the import files: pure functions, no database."""

from __future__ import annotations

from decimal import Decimal

import pytest

from feedback.csv_rows import (
    AccountRow,
    AreaRow,
    RequestRow,
    parse_accounts,
    parse_areas,
    parse_requests,
    title_key,
)
from feedback.errors import RowError
from feedback.imports import EXAMPLES


def _lines(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def _reasons(errors: tuple[RowError, ...]) -> list[tuple[int, str]]:
    return [(e.line, e.reason) for e in errors]


def _starts(errors: tuple[RowError, ...], expected: list[tuple[int, str]]) -> bool:
    """Each error has the expected line and its reason starts with the expected text."""
    return len(errors) == len(expected) and all(
        e.line == line and e.reason.startswith(start)
        for e, (line, start) in zip(errors, expected, strict=True)
    )


# -- accounts -----------------------------------------------------------------------


def test_accounts_parse_every_column() -> None:
    parsed = parse_accounts(
        _lines(
            "name,arr,tier,crm_id,owner_email,domain,channels",
            'Acme Corp,"$1,200,000",enterprise,CRM1,Dana@OurCo.example,Acme.Example,'
            "C0ACME0001 C0ACME0002;C0ACME0003",
            "Globex,845000.5,,,,,",
        )
    )
    assert parsed.errors == ()
    assert parsed.rows == (
        AccountRow(
            line=2,
            name="Acme Corp",
            arr=Decimal("1200000"),
            tier="enterprise",
            crm_id="CRM1",
            owner_email="dana@ourco.example",
            domain="acme.example",
            channels=("C0ACME0001", "C0ACME0002", "C0ACME0003"),
        ),
        AccountRow(line=3, name="Globex", arr=Decimal("845000.5")),
    )
    assert parsed.has("channels") and not parse_accounts("name,arr\n").has("channels")


def test_header_names_are_trimmed_and_any_case_and_order() -> None:
    parsed = parse_accounts(" ARR , Name \n10,Initech\n")
    assert parsed.rows == (AccountRow(line=2, name="Initech", arr=Decimal(10)),)


@pytest.mark.parametrize(
    ("arr", "reason"),
    [
        ("1.2M", "arr: '1.2M' is not a plain number; write digits such as 1200000"),
        ("12,00,000", "is not a plain number"),
        ("-5", "arr: '-5' is negative; ARR must be 0 or more"),
        ("1.234", "is not a plain number"),
        ("1000000000000", "is too large"),
        ("", "arr: is empty; it is required"),
    ],
)
def test_bad_arr_is_reported_with_its_line(arr: str, reason: str) -> None:
    parsed = parse_accounts(_lines("name,arr", "Acme,10", f'Globex,"{arr}"', "Initech,20"))
    [error] = parsed.errors
    assert error.line == 3
    assert reason in error.reason
    assert [row.name for row in parsed.rows] == ["Acme", "Initech"]


def test_arr_suffixes_are_named_in_the_message() -> None:
    [error] = parse_accounts("name,arr\nAcme,$1.2M\n").errors
    assert "commas and a leading $ are fine, suffixes such as K or M are not" in error.reason


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("owner_email", "dana", "owner_email: 'dana' is not an e-mail address"),
        ("domain", "https://acme.example/", "domain: 'https://acme.example/' is not a bare"),
        ("channels", "#general", "channels: '#general' looks like a channel name; give its id"),
        ("channels", "C0ACME0001;X123", "channels: 'X123' is not a Slack channel id"),
        ("crm_id", "x" * 65, "crm_id: is 65 characters long; at most 64"),
        ("tier", "t" * 51, "tier: is 51 characters long; at most 50"),
    ],
)
def test_bad_account_values(column: str, value: str, reason: str) -> None:
    parsed = parse_accounts(f"name,arr,{column}\nAcme,1,\nGlobex,2,{value}\n")
    [error] = parsed.errors
    assert error.line == 3
    assert error.reason.startswith(reason)
    assert [row.name for row in parsed.rows] == ["Acme"]


def test_every_problem_of_a_row_is_listed() -> None:
    [error] = parse_accounts("name,arr,owner_email\n,abc,nobody\n").errors
    assert error.line == 2
    assert error.reason.startswith("name: is empty; it is required; arr: 'abc' is not")
    assert "owner_email: 'nobody' is not an e-mail address" in error.reason


def test_duplicate_keys_in_the_file_name_the_first_line() -> None:
    parsed = parse_accounts(
        _lines(
            "name,arr,crm_id,channels",
            "Acme,1,CRM1,C0ACME0001",
            "Globex,2,CRM2,C0GLOBEX01",
            "ACME,3,CRM3,",
            "Initech,4,CRM1,C0ACME0001",
        )
    )
    assert _reasons(parsed.errors) == [
        (4, "name 'ACME' is already on line 2; each may appear once"),
        (
            5,
            "crm_id 'CRM1' is already on line 2; each may appear once; "
            "channel 'C0ACME0001' is already on line 2; each may appear once",
        ),
    ]


# -- the file as a whole ------------------------------------------------------------


def test_quoted_fields_keep_commas_quotes_and_line_breaks() -> None:
    parsed = parse_requests(
        _lines(
            "title,description",
            '"Export, then email","Weekly, to ""finance"";',
            'across two lines"',
            "Dark mode,",
            "Bad status,x,extra",
        )
    )
    assert parsed.rows[0] == RequestRow(
        line=2, title="Export, then email", description='Weekly, to "finance";\nacross two lines'
    )
    assert parsed.rows[1].line == 4
    assert _reasons(parsed.errors) == [
        (
            5,
            "has 3 values but the header names 2 columns; put values that contain commas "
            'in double quotes ("Acme, Inc.")',
        )
    ]


def test_a_byte_order_mark_is_ignored() -> None:
    data = "\ufeffname,arr\r\nAcme,1\r\n".encode()
    assert parse_accounts(data).rows == (AccountRow(line=2, name="Acme", arr=Decimal(1)),)
    assert parse_accounts(data.decode()).rows[0].name == "Acme"


@pytest.mark.parametrize("data", [b"", b"\n\n", "   \n"])
def test_an_empty_file_is_an_error(data: bytes | str) -> None:
    [error] = parse_areas(data).errors
    assert error.line == 1
    assert error.reason == (
        "the file is empty; line 1 must name the columns: name,slug,description,channel"
    )


def test_a_header_without_rows_is_an_empty_import() -> None:
    parsed = parse_areas("name,slug\n")
    assert (parsed.rows, parsed.errors) == ((), ())


def test_unknown_duplicate_missing_and_unnamed_columns() -> None:
    parsed = parse_accounts("name,ARR,owner,name,\nAcme,1,x,y,\n")
    assert _reasons(parsed.errors) == [
        (
            1,
            "unknown column 'owner'; the columns are name, arr, tier, crm_id, owner_email, "
            "domain, channels",
        ),
        (1, "column 'name' appears twice"),
        (1, "column 5 of the header has no name"),
    ]
    assert parsed.rows == ()
    assert _reasons(parse_requests("description\nx\n").errors) == [
        (1, "missing required column 'title'")
    ]


def test_blank_lines_are_skipped_and_counted() -> None:
    parsed = parse_areas("name\n\nReporting\n ,\n\nMobile\n")
    assert [(row.line, row.name) for row in parsed.rows] == [(3, "Reporting"), (6, "Mobile")]


def test_bytes_that_are_not_utf8_are_reported_at_their_line() -> None:
    [error] = parse_areas(b"name\nReporting\nMobil\xe9\n").errors
    assert error.line == 3
    assert "not UTF-8 text (byte 0xe9); save it as 'CSV UTF-8'" in error.reason


def test_an_unclosed_quote_is_reported_where_it_starts() -> None:
    parsed = parse_areas('name,description\nReporting,ok\nMobile,"never closed\nmore\n')
    assert [row.name for row in parsed.rows] == ["Reporting"]
    [error] = parsed.errors
    assert error.line == 3
    assert "unreadable CSV" in error.reason and "double quotes" in error.reason


# -- areas and requests -------------------------------------------------------------


def test_areas_make_their_slug_from_the_name() -> None:
    parsed = parse_areas(
        _lines(
            "name,slug,description,channel",
            "Security & SSO,,SAML and SCIM,C0AREASEC1",
            "Data Import/Export,Data-Import-Export,,",
        )
    )
    assert parsed.rows == (
        AreaRow(2, "Security & SSO", "security-sso", "SAML and SCIM", "C0AREASEC1"),
        AreaRow(3, "Data Import/Export", "data-import-export"),
    )


def test_bad_area_rows() -> None:
    parsed = parse_areas(
        _lines(
            "name,slug,channel",
            "Reporting,reporting,",
            "Reports,reporting,",
            "Mobile,mobile app,",
            "移动,,",
            "reporting,other,#reporting",
        )
    )
    assert _starts(
        parsed.errors,
        [
            (3, "slug 'reporting' is already on line 2"),
            (4, "slug: 'mobile app' is not a slug: use lower-case letters, digits and single"),
            (5, "slug: cannot make one from the name '移动'; fill in the slug column"),
            (6, "channel: '#reporting' looks like a channel name"),
        ],
    )
    assert "name 'reporting' is already on line 2" in parsed.errors[-1].reason


def test_requests_defaults_and_lists() -> None:
    parsed = parse_requests(
        _lines(
            "title,status,areas,creator_email",
            "  Export   to PDF ,,reporting; Mobile ;,",
            "SSO,Planned,security-sso,Pm@OurCo.example",
        )
    )
    assert parsed.rows == (
        RequestRow(2, "Export to PDF", "", "open", ("reporting", "mobile")),
        RequestRow(3, "SSO", "", "planned", ("security-sso",), "pm@ourco.example"),
    )


def test_bad_request_rows() -> None:
    parsed = parse_requests(
        _lines(
            "title,status,areas",
            "Export to PDF,done,",
            "export  TO pdf,,",
            ",,x",
            "SSO,,security & sso",
            "T" * 301 + ",,",
        )
    )
    assert _starts(
        parsed.errors,
        [
            (2, "status: 'done' is not a status"),
            (3, "title 'export TO pdf' is already on line 2"),
            (4, "title: is empty; it is required"),
            (5, "areas: 'security & sso' is not a slug"),
            (6, "title: is 301 characters long"),
        ],
    )
    assert "use one of open, planned, shipped, deprioritized" in parsed.errors[0].reason


def test_title_key_ignores_case_and_spacing() -> None:
    assert title_key("  Export  to PDF ") == title_key("export to pdf") == "export to pdf"


def test_the_shipped_examples_parse_cleanly() -> None:
    accounts = parse_accounts((EXAMPLES / "accounts.csv").read_bytes())
    areas = parse_areas((EXAMPLES / "areas.csv").read_bytes())
    requests = parse_requests((EXAMPLES / "requests.csv").read_bytes())
    assert (accounts.errors, areas.errors, requests.errors) == ((), (), ())
    assert len(accounts.rows) == 8 and len(areas.rows) == 5 and len(requests.rows) >= 35
    slugs = {area.slug for area in areas.rows}
    assert {slug for row in requests.rows for slug in row.area_slugs} == slugs
    assert all(row.area_slugs for row in requests.rows)
    assert all(row.channels and row.crm_id and row.domain for row in accounts.rows)
