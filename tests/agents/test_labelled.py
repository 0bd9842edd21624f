"""Labelled data: workspace CSVs validated row by row, exports of the workspace accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.errors import MatchingDataError
from agents.evaluation import EvalRequest, load_labelled_csv
from feedback.export import CSV_COLUMNS

REQUESTS = [
    EvalRequest("r1", ("export reports to csv", "we need csv exports")),
    EvalRequest("r2", ("dark mode for the dashboard",)),
]


def _csv(tmp_path: Path, content: str, name: str = "labelled.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_a_workspace_csv_is_matched_against_its_requests_without_its_own_rows(
    tmp_path: Path,
) -> None:
    path = _csv(
        tmp_path,
        'text,request_id\nWe need CSV exports,r1\n"dark theme, please",r2\nmy cat is cute,\n',
    )
    data = load_labelled_csv(path, REQUESTS)
    assert [(q.text, q.match) for q in data.queries] == [
        ("We need CSV exports", "r1"),
        ("dark theme, please", "r2"),
        ("my cat is cute", None),
    ]
    assert data.requests[0].texts == ("export reports to csv",)  # its own row held out
    assert data.name == "labelled.csv"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("words,request\nhello,r1\n", "needs a text column"),
        ("text;request_id\nhello;r1\n", "separated by commas"),
        ("text,request_id\n,r1\n", "line 2: the 'text' field is empty"),
        ("text,request_id\nhello,r9\n", "line 2: request 'r9' is not a request"),
        ("text,request_id\n", "no rows"),
        ("", "no header"),
        ("text,request_id\nWe need SSO,r1,extra\n", "line 2: 3 fields, the header has 2"),
        ("text,request_id\nok,r1\nDark mode, please,\n", "line 3: 3 fields, the header has 2"),
        ("text,request_id\nWe need SSO\n", "line 2: 1 field, the header has 2 .with no request"),
        ('text,request_id\nfine,r1\n"unterminated,r1\nmore,r2\n', "line 3: a quote"),
        ('text,request_id\n"x"y,r1\n', "line 2: "),
        ("text,text,request_id\nA,B,r1\n", "'text' appears twice"),
    ],
)
def test_a_bad_csv_says_what_is_wrong_and_where(tmp_path: Path, content: str, problem: str) -> None:
    path = _csv(tmp_path, content, "bad.csv")
    with pytest.raises(MatchingDataError, match=problem):
        load_labelled_csv(path, REQUESTS)


EXPORTED = [
    EvalRequest(
        "r1",
        ("Export reports to CSV", "the customer wants csv", "dark stuff"),
        ("request", "f1", "f9"),
    ),
    EvalRequest("r2", ("Dark mode for the dashboard", "night theme"), ("request", "f2")),
    EvalRequest("r3", ("SSO with Okta",), ("request",)),
]


def _export(rows: list[dict[str, str]]) -> str:
    lines = [",".join(CSV_COLUMNS)]
    for row in rows:
        lines.append(",".join(row.get(column, "") for column in CSV_COLUMNS))
    return "\n".join(lines) + "\n"


def test_an_export_is_read_as_it_comes_and_held_out_by_feedback_id(tmp_path: Path) -> None:
    content = _export(
        [
            {"request_id": "r1", "feedback_id": "f1", "feedback_summary": "CSV export",
             "feedback_quote": "Can we get the report as a CSV?"},
            {"request_id": "r2", "feedback_id": "f2", "feedback_summary": "Dark mode",
             "feedback_quote": ""},
            {"request_id": "r3"},  # a request without feedback: one empty row
        ]
    )  # fmt: skip
    data = load_labelled_csv(_csv(tmp_path, content, "export.csv"), EXPORTED)

    assert [(q.text, q.match) for q in data.queries] == [
        ("Can we get the report as a CSV?", "r1"),  # the customer's words
        ("Dark mode", "r2"),  # the summary when there is no quote
    ]
    kept = {r.id: r.texts for r in data.requests}
    assert kept == {  # f1 and f2 held out by id, whatever text was embedded for them
        "r1": ("Export reports to CSV", "dark stuff"),
        "r2": ("Dark mode for the dashboard",),
        "r3": ("SSO with Okta",),
    }


def test_an_export_row_with_feedback_but_no_words_is_an_error(tmp_path: Path) -> None:
    content = _export([{"request_id": "r1", "feedback_id": "f1"}])
    with pytest.raises(MatchingDataError, match="line 2: feedback 'f1' has no"):
        load_labelled_csv(_csv(tmp_path, content, "export.csv"), EXPORTED)
