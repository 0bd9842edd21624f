"""What ``calibrate`` and ``eval-matching`` read from the workspace: CSVs against stored texts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from agents import get_embedder
from agents.errors import MatchingDataError
from bot.matching_admin import load_sources
from feedback import embeddings
from feedback import requests as requests_db
from feedback.database import Database
from feedback.export import CSV_COLUMNS

EMBEDDER = get_embedder("local").name


async def _stored(db: Database) -> None:
    texts = {
        "r1": {"request": "Export reports to CSV", "f1": "wants CSV", "f9": "csv please"},
        "r2": {"request": "Dark mode", "f2": "night theme"},
    }
    async with db.transaction() as conn:
        for request_id, by_id in texts.items():
            await requests_db.create(
                conn, request_id=request_id, title=by_id["request"], description="",
                creator_id=None,
            )  # fmt: skip
            for text_id, text in by_id.items():
                await embeddings.save(
                    conn, request_id=request_id, embedder=EMBEDDER, text_id=text_id,
                    text=text, vector=np.ones(4, dtype=np.float32),
                )  # fmt: skip


def _export(path: Path, rows: list[dict[str, str]]) -> str:
    lines = [",".join(CSV_COLUMNS)]
    lines += [",".join(row.get(column, "") for column in CSV_COLUMNS) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


async def test_an_export_is_held_out_of_the_stored_texts_by_feedback_id(
    domain_db: Database, tmp_path: Path
) -> None:
    await _stored(domain_db)
    csv_file = _export(
        tmp_path / "export.csv",
        [
            {"request_id": "r1", "feedback_id": "f1", "feedback_quote": "Can I get a CSV?"},
            {"request_id": "r2", "feedback_id": "f2", "feedback_quote": "Dark theme pls"},
        ],
    )

    [data] = await load_sources([csv_file], EMBEDDER, domain_db.url)

    assert not isinstance(data, str)
    assert [(q.text, q.match) for q in data.queries] == [
        ("Can I get a CSV?", "r1"),
        ("Dark theme pls", "r2"),
    ]
    assert {r.id: r.texts for r in data.requests} == {
        "r1": ("Export reports to CSV", "csv please"),  # f1's stored words held out
        "r2": ("Dark mode",),
    }


async def test_a_malformed_row_names_its_line(domain_db: Database, tmp_path: Path) -> None:
    await _stored(domain_db)
    path = tmp_path / "labelled.csv"
    path.write_text("text,request_id\nWe need CSV,r1\nDark mode, please,\n", encoding="utf-8")

    with pytest.raises(MatchingDataError, match="line 3: 3 fields, the header has 2"):
        await load_sources([str(path)], EMBEDDER, domain_db.url)
