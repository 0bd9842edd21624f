"""The extraction scorer, and the offline extractor's figures on the labelled threads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.llm import ExtractedItem, Extraction, ThreadMessage, fallback_extraction
from agents.llm.extract_eval import (
    LabelledThread,
    load_extraction_set,
    score_extractions,
    score_thread,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "extraction_threads.json"

THREAD = LabelledThread(
    id="pdf-csv",
    messages=(
        ThreadMessage("maria", "Could we get PDF export? Also the CSV import drops emoji rows"),
        ThreadMessage("sam", "Thanks, logging this for product", role="colleague"),
    ),
    expected=(("pdf",), ("csv", "emoji")),
    known_accounts=("Acme",),
    account=None,
)


def item(quote: str, summary: str | None = None, pain: str = "") -> ExtractedItem:
    return ExtractedItem(summary=summary or quote, pain=pain or quote, quote=quote, severity="low")


def extraction(*items: ExtractedItem, account: str | None = None) -> Extraction:
    return Extraction(items=items, account=account, customer_specific=False, source="fallback")


def test_a_right_split_scores_full_marks() -> None:
    found = extraction(item("Could we get PDF export?"), item("The CSV import drops emoji rows"))
    score = score_thread(THREAD, found)
    assert (score.produced, score.claimed, score.expected, score.greeting_free) == (2, 2, 2, 2)
    assert (score.leaks, score.account_ok, score.problems) == (0, True, ())


def test_merged_duplicate_noisy_and_leaking_items_do_not_count() -> None:
    merged = score_thread(THREAD, extraction(item("PDF export, and CSV drops emoji")))
    assert (merged.claimed, len(merged.problems)) == (0, 3)  # merged, and both missed
    twice = score_thread(THREAD, extraction(item("PDF export"), item("PDF export please")))
    assert twice.claimed == 1
    assert "duplicate" in twice.problems[0]
    leak = score_thread(THREAD, extraction(item("PDF export", pain="logging this PDF")))
    assert (leak.claimed, leak.leaks) == (0, 1)
    noise = score_thread(THREAD, extraction(item("Thanks!"), account="Acme"))
    assert (noise.claimed, noise.account_ok) == (0, False)


def test_report_figures() -> None:
    good = extraction(item("Could we get PDF export?"), item("CSV import drops emoji rows"))
    greeting = extraction(item("Hey team, PDF export please"))
    report = score_extractions([(THREAD, good), (THREAD, greeting)])
    assert (report.threads, report.produced, report.expected) == (2, 3, 4)
    assert report.precision == pytest.approx(3 / 3)
    assert report.recall == pytest.approx(3 / 4)
    assert report.exact_count == pytest.approx(1 / 2)
    assert report.no_greeting == pytest.approx(2 / 3)
    assert report.account_accuracy == 1.0
    empty = score_extractions([])
    assert (empty.precision, empty.recall, empty.account_accuracy) == (1.0, 1.0, None)


def test_load_rejects_other_files(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"format": "match-eval/1"}))
    with pytest.raises(ValueError, match="extraction-eval/1"):
        load_extraction_set(path)


def test_the_labelled_set_covers_the_cases() -> None:
    threads = load_extraction_set(DATA)
    dev = [t for t in threads if t.split == "dev"]
    assert len(dev) >= 40
    assert len({t.id for t in threads}) == len(threads)
    assert sum(len(t.expected) >= 2 for t in dev) >= 10
    assert sum(not t.expected for t in dev) >= 5
    assert any(m.role == "bot" for t in dev for m in t.messages)
    assert sum(any(m.role == "colleague" for m in t.messages) for t in dev) >= 10


@pytest.mark.parametrize("split", ["dev", "all"])
def test_offline_extractor_splits_well(split: str) -> None:
    threads = [t for t in load_extraction_set(DATA) if split in ("all", t.split)]
    report = score_extractions(
        (t, fallback_extraction(t.messages, known_accounts=t.known_accounts)) for t in threads
    )
    problems = [f"{s.id}: {p}" for s in report.scores for p in s.problems]
    assert report.precision >= 0.9, problems
    assert report.recall >= 0.85, problems
    assert report.exact_count >= 0.85, problems
    assert report.no_greeting == 1.0, problems
    assert report.leaks == 0, problems
