"""eval-matching and calibrate: labelled files in, metrics and thresholds out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from agents.embedders import get_embedder
from agents.errors import MatchingDataError
from agents.evaluation import evaluate_files, load_match_eval
from agents.thresholds import Thresholds
from bot.cli import main
from tests.fakes import FakeOpenAIServer
from tests.fakes.pytest_plugin import FAKE_OPENAI_KEY, fake_openai

__all__ = ["fake_openai"]

DATA = Path(__file__).resolve().parent / "data"
KEYS = [
    "file",
    "recall_at_1",
    "recall_at_5",
    "auc",
    "link_precision",
    "link_coverage",
    "false_link_rate",
    "ask_share",
    "texts_per_second",
    "links",
    "precision_lower_bound",
    "link_share",
    "guarded",
    "margin_asked",
]

TINY: dict[str, Any] = {
    "format": "match-eval/1",
    "name": "tiny",
    "attribution": "hand-made",
    "license": "CC0",
    "requests": [
        {"id": "r1", "texts": ["export reports to csv"]},
        {"id": "r2", "texts": ["dark mode for the dashboard", "dark theme please"]},
        {"id": "r3", "texts": ["single sign on with okta"]},
    ],
    "queries": [
        {"text": "export reports to csv", "match": "r1"},
        {"text": "dark mode for the dashboard", "match": "r2"},
        {"text": "single sign on with okta", "match": "r1"},  # mislabelled: a wrong link
        {"text": "my cat is cute", "match": None},
        {"text": "download spreadsheets", "match": None},
    ],
}


def write(path: Path, doc: Any) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(doc, handle)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_eval_matching_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "tiny.json.gz", TINY)
    code, out, _ = run(capsys, "eval-matching", str(path), "--embedder", "fake", "--json")
    assert code == 0
    (report,) = json.loads(out)
    assert list(report) == KEYS
    assert report["file"] == "tiny"
    assert report["recall_at_1"] == pytest.approx(2 / 3)
    assert report["recall_at_5"] == 1.0
    assert report["auc"] == 1.0
    assert report["link_precision"] == pytest.approx(2 / 3)
    assert report["link_coverage"] == pytest.approx(2 / 3)
    assert report["false_link_rate"] == 0.0
    assert report["ask_share"] == 0.0
    assert report["texts_per_second"] > 0


def test_eval_matching_table_and_threshold_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "tiny.json.gz", TINY)
    code, out, _ = run(
        capsys,
        "eval-matching",
        str(path),
        str(path),
        "--embedder",
        "fake",
        "--link",
        "1.01",
        "--ask",
        "0.9",
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["file", "recall@1", "recall@5"]
    assert len([line for line in lines if line.startswith("tiny ")]) == 2
    assert "n/a" in lines[1]  # no link at all: link precision is undefined, not 0 or 1
    assert "Thresholds(link=1.010, ask=0.900, margin=0.000)" in out


def test_metric_definitions_are_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["eval-matching", "--help"])
    help_text = capsys.readouterr().out
    for phrase in (
        "link precision",
        "a link on a query without a match is wrong",
        "false link rate",
        "ask share",
        "link coverage",
        "recall@5",
    ):
        assert phrase in help_text


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file"),
        (b"plain text, not gzip", "not a gzip file"),
        (gzip.compress(b"{not json"), "not valid JSON"),
        ({**TINY, "format": "match-eval/2"}, "'format' is 'match-eval/2'"),
        ({**TINY, "requests": {}}, "'requests' must be a non-empty list"),
        ({**TINY, "requests": [{"id": "r1"}]}, "requests[0] ('r1') needs 'texts'"),
        ({**TINY, "requests": [TINY["requests"][0]] * 2}, "request ids repeat: ['r1']"),
        ({**TINY, "queries": [{"text": "x", "match": "r9"}]}, "'r9', which is not a request id"),
        ({**TINY, "queries": [{"text": "x"}]}, "queries[0] needs 'match'"),
        ([1, 2], "top level is list"),
    ],
    # stable ids: the default id of bytes is the bytes themselves, and gzip output embeds
    # the time it was made, so xdist workers would collect different tests
    ids=[
        "missing",
        "not-gzip",
        "not-json",
        "wrong-format",
        "requests-not-a-list",
        "request-without-texts",
        "repeated-request-ids",
        "unknown-match",
        "query-without-match",
        "top-level-list",
    ],
)
def test_malformed_files_name_the_file_and_the_problem(
    tmp_path: Path, content: Any, problem: str
) -> None:
    path = tmp_path / "bad.json.gz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        write(path, content)
    with pytest.raises(MatchingDataError) as caught:
        load_match_eval(path)
    assert str(path) in str(caught.value) and problem in str(caught.value)


def test_the_cli_reports_a_malformed_file_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path / "good.json.gz", TINY)
    bad = write(tmp_path / "bad.json.gz", {**TINY, "format": "other"})
    code, out, err = run(capsys, "eval-matching", str(good), str(bad), "--embedder", "fake")
    assert code == 2 and out == ""
    assert "bad.json.gz" in err and "'format' is 'other'" in err and "Traceback" not in err


def test_calibrate_prints_thresholds_and_coverage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path / "tiny.json.gz", TINY)
    code, out, _ = run(
        capsys,
        "calibrate",
        str(path),
        "--embedder",
        "fake",
        "--precision",
        "0.6",
        "--confidence",
        "0.5",
        "--json",
    )
    result = json.loads(out)
    assert code == 0 and result["reached"] is True
    assert result["thresholds"]["link"] > 0.0  # a link needs at least some shared words
    (stats,) = result["files"]
    assert stats["file"] == "tiny" and stats["link_precision"] >= 0.6
    code, out, _ = run(capsys, "calibrate", str(path), "--embedder", "fake", "--precision", "0.99")
    assert code == 1 and "NOT reached" in out  # one mislabelled query in three links


def test_openai_embedder_from_the_environment(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake_openai: FakeOpenAIServer,
) -> None:
    path = write(tmp_path / "tiny.json.gz", TINY)
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    code, _, err = run(capsys, "eval-matching", str(path), "--embedder", "openai")
    assert code == 2 and "no calibrated thresholds: pass --link and --ask" in err
    code, out, _ = run(
        capsys,
        "eval-matching",
        str(path),
        "--embedder",
        "openai",
        "--dimensions",
        "64",
        "--link",
        "0.9",
        "--ask",
        "0.5",
        "--json",
    )
    assert code == 0 and json.loads(out)[0]["recall_at_1"] == pytest.approx(2 / 3)
    assert {e.body["dimensions"] for e in fake_openai.embedding_requests} == {64}


async def test_local_model_reaches_the_targets_on_banking77_k5() -> None:
    (report,) = await evaluate_files([DATA / "banking77-k5-s0.json.gz"], get_embedder("local"))
    assert report.recall_at_1 is not None and report.recall_at_1 >= 0.77
    assert report.link_precision is not None and report.link_precision >= 0.95
    assert report.false_link_rate is not None and report.false_link_rate <= 0.02
    assert report.link_coverage is not None and report.link_coverage >= 0.15


async def test_reports_count_links_their_bound_and_the_guard(tmp_path: Path) -> None:
    doc = {
        **TINY,
        "requests": [*TINY["requests"], {"id": "r4", "texts": ["upgrade netty to 4.1.89"]}],
        "queries": [*TINY["queries"], {"text": "upgrade netty to 4.1.77", "match": None}],
    }
    path = write(tmp_path / "tiny.json.gz", doc)
    (report,) = await evaluate_files([path], get_embedder("fake"), None)
    assert report.links == 3 and report.guarded == 1
    assert report.link_share == pytest.approx(3 / 6)
    assert report.precision_lower_bound is not None and report.precision_lower_bound < 2 / 3


async def test_guard_stops_and_margin_asks_are_counted_apart(tmp_path: Path) -> None:
    doc = {
        **TINY,
        "requests": [
            *TINY["requests"],
            {"id": "r4", "texts": ["upgrade netty to 4.1.89"]},  # the guard stops 4.1.77
            {"id": "r5", "texts": ["export invoices to excel"]},  # r5 and r6: a tie
            {"id": "r6", "texts": ["export invoices to excel"]},
            {"id": "r7", "texts": ["upgrade jackson to 2.13"]},  # a tie, and 2.14 vs 2.13
            {"id": "r8", "texts": ["upgrade jackson to 2.13"]},
        ],
        "queries": [
            *TINY["queries"],
            {"text": "upgrade netty to 4.1.77", "match": None},
            {"text": "export invoices to excel", "match": "r5"},
            {"text": "upgrade jackson to 2.14", "match": None},
        ],
    }
    path = write(tmp_path / "tiny.json.gz", doc)
    margin = Thresholds(link=0.8, ask=0.5, margin=0.05)
    (report,) = await evaluate_files([path], get_embedder("fake"), margin)

    assert (report.guarded, report.margin_asked) == (2, 1)
    assert report.to_json()["margin_asked"] == 1
