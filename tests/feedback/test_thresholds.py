"""Thresholds that learn: decisions become labelled examples; applied thresholds are audited.

On SQLite and PostgreSQL (``db_url``), through the domain functions and the CLI.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from feedback import approvals, audit, items, migrate, users
from feedback import thresholds as thresholds_db
from feedback._util import utcnow
from feedback.database import Database
from feedback.errors import NotFound

SCORER = "local:all-MiniLM-L6-v2-int8"
SYSTEM = "system:process-feedback"


async def _item(conn: object, item_id: str) -> None:
    await items.create(
        conn,  # type: ignore[arg-type]
        [
            items.NewItem(
                id=item_id,
                quote=f"words of {item_id}",
                pain=f"pain of {item_id}",
                summary="",
                severity="medium",
                source="reaction",
                submitter_id="u-sam",
            )
        ],
    )


async def _match(
    conn: object, item_id: str, tier: str, best: float, *, guarded: bool = False
) -> None:
    evidence = thresholds_db.match_evidence(
        turn=0,
        tier=tier,
        scorer=SCORER,
        best=best,
        runner_up=best - 0.2,
        best_request="r-best",
        guarded=guarded,
        reason="",
    )
    await audit.record(
        conn,  # type: ignore[arg-type]
        actor=SYSTEM,
        action="match",
        feedback_id=item_id,
        after=evidence,
    )


async def _answer(conn: object, item_id: str, turn: int, decision: dict[str, str] | None) -> None:
    approval_id = f"match:{item_id}:{turn}"
    await approvals.open_question(
        conn,  # type: ignore[arg-type]
        approval_id=approval_id,
        feedback_id=item_id,
        kind="match",
        approver_id="u-sam",
        hook_token=f"hook-{approval_id}",
        candidates=[{"request_id": "r-best", "score": 0.8}],
    )
    if decision is not None:
        await approvals.decide(conn, approval_id, user_id="u-sam", decision=decision)  # type: ignore[arg-type]


async def seed_decisions(
    db: Database,
    *,
    right: int = 0,
    other: int = 0,
    new: int = 0,
    not_feedback: int = 0,
    undone: int = 0,
    kept: int = 0,
    unanswered: int = 0,
    kept_score: float = 0.95,
) -> None:
    """Labelled decisions: answered questions, undone and kept automatic links."""
    async with db.transaction() as conn:
        await users.ensure(conn, user_id="u-sam", slack_id="U0SAM", name="Sam")
        plan = (
            [("ask", 0.8, {"choice": "link", "request_id": "r-best"})] * right
            + [("ask", 0.78, {"choice": "link", "request_id": "r-other"})] * other
            + [("ask", 0.7, {"choice": "new"})] * new
            + [("ask", 0.72, {"choice": "not_feedback"})] * not_feedback
            + [("undo", 0.9, {"choice": "link", "request_id": "r-other"})] * undone
            + [("kept", kept_score, {})] * kept
            + [("unanswered", 0.75, {})] * unanswered
        )
        for n, (kind, best, decision) in enumerate(plan):
            item_id = f"f{n}"
            await _item(conn, item_id)
            await _match(conn, item_id, "ask" if kind in ("ask", "unanswered") else "link", best)
            if kind == "ask":
                await _answer(conn, item_id, 0, decision)
            elif kind == "undo":
                await audit.record(conn, actor=SYSTEM, action="link", feedback_id=item_id)
                await audit.record(conn, actor="u-sam", action="unlink", feedback_id=item_id)
                await _answer(conn, item_id, 1, decision)
            elif kind == "kept":
                await audit.record(conn, actor=SYSTEM, action="link", feedback_id=item_id)
            else:
                await _answer(conn, item_id, 0, None)  # still waiting


async def test_decisions_become_labelled_examples(domain_db: Database) -> None:
    await seed_decisions(
        domain_db, right=2, other=1, new=1, not_feedback=1, undone=1, kept=2, unanswered=1
    )
    async with domain_db.read() as conn:
        now = await thresholds_db.examples(conn)
        later = await thresholds_db.examples(conn, now=utcnow() + timedelta(days=8))

    labels = [(e.kind, e.best, e.top_correct, e.matchable) for e in now]
    assert sorted(labels) == sorted(
        [
            ("ask", 0.8, True, True),
            ("ask", 0.8, True, True),
            ("ask", 0.78, False, True),  # a person picked another candidate
            ("ask", 0.7, False, False),  # new request
            ("ask", 0.72, False, False),  # not feedback
            ("undo", 0.9, False, True),  # undone, then linked elsewhere by a person
        ]
    )  # the kept links are too recent to count; the unanswered question teaches nothing
    assert thresholds_db.counts(later) == {"ask": 5, "undo": 1, "kept": 2}
    assert all(e.scorer == SCORER and e.runner_up == pytest.approx(e.best - 0.2) for e in later)


async def test_applied_thresholds_are_in_force_and_audited(domain_db: Database) -> None:
    async with domain_db.read() as conn:
        assert await thresholds_db.active(conn, SCORER) is None
    for link, source in ((0.9, "files (a.json.gz)"), (0.86, "decisions (120 examples)")):
        async with domain_db.transaction() as conn:
            await thresholds_db.apply(
                conn,
                embedder=SCORER,
                link=link,
                ask=0.6,
                margin=0.03,
                source=source,
                actor="feedback-bot calibrate",
                before=None,
            )
    async with domain_db.transaction() as conn:
        await thresholds_db.apply(
            conn,
            embedder="fake:hashed-words-256",
            link=0.5,
            ask=0.4,
            margin=0.0,
            source="files",
            actor="me",
            before=None,
        )
    async with domain_db.read() as conn:
        active = await thresholds_db.active(conn, SCORER)
        earlier = await thresholds_db.history(conn, SCORER)
        entries = [e for e in await audit.history(conn) if e.action == "thresholds"]

    assert active is not None
    assert (active.link, active.ask, active.margin) == (0.86, 0.6, 0.03)
    assert active.source == "decisions (120 examples)" and active.actor == "feedback-bot calibrate"
    assert [e.link for e in earlier] == [0.86, 0.9]
    assert len(entries) == 3 and entries[-1].after is not None
    assert entries[-1].after["embedder"] == "fake:hashed-words-256"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


async def _seeded(url: str, **counts: int) -> None:
    await migrate.upgrade(url)
    async with Database(url) as db:
        await seed_decisions(db, **counts)


def test_too_few_decisions_keep_the_defaults(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seeded(db_url, right=10, new=5, undone=2))
    code, out, _ = _run(
        capsys, "calibrate", "--from-decisions", "--apply", "--database-url", db_url
    )
    assert code == 1
    assert "17 labelled decisions for local:all-MiniLM-L6-v2-int8: 15 answered questions" in out
    assert "at least 100 are needed" in out and "the thresholds in force stay" in out
    code, out, _ = _run(capsys, "status", "--database-url", db_url)
    assert code == 0
    assert "the embedder's defaults" in out


def test_enough_decisions_derive_thresholds_and_apply_them(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # right answers at 0.8, wrong links (undone) at 0.9, kept links at 0.95
    asyncio.run(_seeded(db_url, right=120, new=30, undone=3, kept=80))
    argv = ["calibrate", "--from-decisions", "--settled-days", "0", "--database-url", db_url]

    code, out, _ = _run(capsys, *argv)
    assert code == 0
    assert "233 labelled decisions" in out and "80 links kept" in out
    for row in ("link precision", "95% lower bound", "share linked", "share asked"):
        assert row in out
    assert "not applied (dry run)" in out
    code, status, _ = _run(capsys, "status", "--database-url", db_url)
    assert "the embedder's defaults" in status

    code, out, _ = _run(capsys, *argv, "--apply")
    assert code == 0 and "applied Thresholds(link=" in out
    code, status, _ = _run(capsys, "status", "--database-url", db_url)
    assert code == 0
    assert "decisions (233 examples: 150 answers, 3 undos, 80 kept links)" in status
    assert "by feedback-bot calibrate" in status
    assert "feedback:   233" in status


async def test_status_counts_what_is_there(domain_db: Database) -> None:
    await seed_decisions(domain_db, right=2, unanswered=1)
    from bot.matching_admin import status, status_lines

    found = await status(domain_db.url, "local")
    lines = "\n".join(status_lines(found))
    assert found["pending"] == 1 and found["feedback"] == {"processing": 3}
    assert "questions:  1 waiting for a person" in lines
    assert "thresholds: Thresholds(link=0.870, ask=0.585, margin=0.020)" in lines


async def test_an_unknown_question_is_not_an_example(domain_db: Database) -> None:
    with pytest.raises(NotFound):
        async with domain_db.read() as conn:
            await approvals.get(conn, "match:nope:0")
    async with domain_db.read() as conn:
        assert await thresholds_db.examples(conn) == []


def _thresholds_entries(url: str) -> list[audit.AuditEntry]:
    async def read() -> list[audit.AuditEntry]:
        async with Database(url) as db, db.read() as conn:
            return [e for e in await audit.history(conn) if e.action == "thresholds"]

    return asyncio.run(read())


def test_applying_the_same_thresholds_twice_writes_one_entry(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seeded(db_url, right=120, new=30, undone=3, kept=80))
    argv = ["calibrate", "--from-decisions", "--settled-days", "0", "--database-url", db_url]

    assert _run(capsys, *argv, "--apply")[0] == 0
    code, out, _ = _run(capsys, *argv, "--apply")

    assert code == 0 and "already in force: nothing applied" in out
    assert len(_thresholds_entries(db_url)) == 1


def test_reset_puts_the_defaults_back_in_force(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seeded(db_url, right=120, new=30, undone=3, kept=80))
    argv = ["calibrate", "--from-decisions", "--settled-days", "0", "--database-url", db_url]
    assert _run(capsys, *argv, "--apply")[0] == 0

    code, out, _ = _run(capsys, "calibrate", "--reset", "--database-url", db_url)
    assert code == 0 and "defaults" in out
    code, status, _ = _run(capsys, "status", "--database-url", db_url)
    assert "thresholds: Thresholds(link=0.870, ask=0.585, margin=0.020)" in status
    assert "the embedder's defaults" in status and "reset" in status
    assert "earlier:  link " in status  # what was in force until the reset
    entries = _thresholds_entries(db_url)
    assert len(entries) == 2 and entries[-1].after is not None and entries[-1].after["reset"]

    code, out, _ = _run(capsys, "calibrate", "--reset", "--database-url", db_url)
    assert code == 0 and "already in force" in out  # nothing to reset: no entry
    assert len(_thresholds_entries(db_url)) == 2


async def test_a_reset_leaves_the_workers_on_the_defaults(domain_db: Database) -> None:
    async with domain_db.transaction() as conn:
        await thresholds_db.apply(
            conn, embedder=SCORER, link=0.9, ask=0.6, margin=0.03, source="files",
            actor="me", before=None,
        )  # fmt: skip
        await thresholds_db.reset(conn, embedder=SCORER, actor="me", before=None)
    async with domain_db.read() as conn:
        assert await thresholds_db.active(conn, SCORER) is None
        [reset, applied] = await thresholds_db.history(conn, SCORER)
    assert reset.reset and not applied.reset and applied.link == 0.9


def test_decisions_without_enough_wrong_or_new_answers_keep_the_thresholds(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 200 decisions, all but 9 confirming the best candidate: nothing says where links go wrong
    asyncio.run(_seeded(db_url, right=120, kept=71, new=6, undone=3))
    argv = ["calibrate", "--from-decisions", "--settled-days", "0", "--apply"]

    code, out, _ = _run(capsys, *argv, "--database-url", db_url)

    assert code == 1
    assert "9 of them say the best candidate was wrong or no request fit" in out
    assert "at least 10 are needed" in out and "the thresholds in force stay" in out
    assert _thresholds_entries(db_url) == []


@pytest.mark.parametrize("days", ["-1", "nan", "inf", "soon"])
def test_settled_days_must_be_a_finite_number_of_days(
    days: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["calibrate", "--from-decisions", "--settled-days", days])
    assert exit_.value.code == 2
    assert "--settled-days: must be a finite number of days, 0 or more" in capsys.readouterr().err


@pytest.mark.parametrize("mode", ["--from-decisions", "--reset"])
def test_json_is_for_files_only(
    mode: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _run(capsys, "calibrate", mode, "--json")
    assert code == 2 and "--json applies to FILE calibration only" in err


def test_decisions_are_read_for_the_configured_embedder(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FEEDBACK_EMBEDDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    scorer = "openai:text-embedding-3-small:1536"

    async def applied() -> None:
        await migrate.upgrade(db_url)
        async with Database(db_url) as db, db.transaction() as conn:
            await thresholds_db.apply(
                conn, embedder=scorer, link=0.6, ask=0.4, margin=0.02, source="files",
                actor="me", before=None,
            )  # fmt: skip

    asyncio.run(applied())
    code, out, _ = _run(capsys, "calibrate", "--from-decisions", "--database-url", db_url)
    assert code == 1 and f"0 labelled decisions for {scorer}" in out
    code, out, _ = _run(capsys, "status", "--database-url", db_url)
    assert code == 0 and f"embedder:   {scorer}" in out and "link=0.600" in out
