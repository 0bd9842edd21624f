"""``feedback-bot db upgrade`` and the import commands: output, messages, exit statuses."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

import agents
from agents import FakeEmbedder
from bot.cli import ProgressBar, main
from feedback.imports import EXAMPLES


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def fake_embedder(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``get_embedder`` hands out a FakeEmbedder; returns the names asked for."""
    asked: list[str] = []

    def get(name: str, **options: Any) -> FakeEmbedder:
        asked.append(name)
        return FakeEmbedder(dim=16)

    monkeypatch.setattr(agents, "get_embedder", get)
    return asked


def test_db_upgrade_then_imports(
    empty_db_url: str,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    fake_embedder: list[str],
) -> None:
    url = ["--database-url", empty_db_url]
    assert _run(capsys, "db", "upgrade", *url) == (
        0,
        "created the feedback tables (revision 0003)\n",
        "",
    )
    assert (
        _run(capsys, "db", "upgrade", *url)[1]
        == "the feedback tables are up to date (revision 0003)\n"
    )
    assert _run(capsys, "accounts", "import", str(EXAMPLES / "accounts.csv"), *url) == (
        0,
        "imported 8 accounts: 8 new, 0 updated\n",
        "",
    )
    assert _run(capsys, "areas", "import", str(EXAMPLES / "areas.csv"), *url)[:2] == (
        0,
        "imported 5 areas: 5 new, 0 updated\n",
    )
    status, out, err = _run(capsys, "requests", "import", str(EXAMPLES / "requests.csv"), *url)
    assert (status, out) == (0, "imported 40 requests: 40 new, 0 updated\n")
    assert err == f"\rembedding requests [{'#' * 30}] 40/40\n"  # not a terminal: the end only
    assert fake_embedder == ["local"]
    status, out, _ = _run(capsys, "accounts", "import", str(EXAMPLES / "accounts.csv"), *url)
    assert (status, out) == (0, "imported 8 accounts: 0 new, 0 updated, 8 unchanged\n")


def test_database_url_comes_from_the_environment(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    assert _run(capsys, "db", "upgrade")[0] == 0
    assert _run(capsys, "areas", "import", str(EXAMPLES / "areas.csv"))[:2] == (
        0,
        "imported 5 areas: 5 new, 0 updated\n",
    )


def test_imports_need_the_tables(
    empty_db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _run(
        capsys, "accounts", "import", str(EXAMPLES / "accounts.csv"), "--database-url", empty_db_url
    )
    assert (status, out) == (2, "")
    assert err.startswith("feedback-bot accounts import: error: ")
    assert err.endswith("has no feedback tables yet: run `feedback-bot db upgrade` first\n")
    assert err.count("\n") == 1


def test_a_bad_file_lists_its_rows_and_exits_1(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "db", "upgrade", "--database-url", db_url)[0] == 0
    bad = cli_env / "accounts.csv"
    bad.write_text("name,arr\nAcme,1\nGlobex,$1.2M\nInitech,-4\n")
    status, out, err = _run(capsys, "accounts", "import", str(bad), "--database-url", db_url)
    assert (status, out) == (1, "")
    assert err.splitlines()[0] == (
        f"feedback-bot accounts import: error: {bad}: 2 bad row(s), nothing imported; fix "
        f"them and re-run:"
    )
    assert err.splitlines()[1].startswith("  line 3: arr: '$1.2M' is not a plain number")
    assert err.splitlines()[2] == "  line 4: arr: '-4' is negative; ARR must be 0 or more"
    assert "Traceback" not in err


def test_a_missing_file_exits_1(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "db", "upgrade", "--database-url", db_url)[0] == 0
    status, _, err = _run(capsys, "areas", "import", "nope.csv", "--database-url", db_url)
    assert status == 1
    assert err == (
        "feedback-bot areas import: error: [Errno 2] No such file or directory: 'nope.csv'\n"
    )


def test_a_bad_setting_exits_2_with_one_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u@h/db")
    status, out, err = _run(capsys, "db", "upgrade")
    assert (status, out) == (2, "")
    assert err == (
        "feedback-bot db upgrade: error: DATABASE_URL: Value error, use "
        "sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db\n"
    )


def test_openai_without_a_key_exits_2(
    db_url: str, cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(capsys, "db", "upgrade", "--database-url", db_url)[0] == 0
    path = str(EXAMPLES / "requests.csv")
    status, _, err = _run(
        capsys, "requests", "import", path, "--embedder", "openai", "--database-url", db_url
    )
    assert status == 2
    assert err.startswith(
        "feedback-bot requests import: error: the openai embedder needs an API key"
    )


def test_the_embedder_setting_is_the_default(
    db_url: str,
    cli_env: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fake_embedder: list[str],
) -> None:
    monkeypatch.setenv("FEEDBACK_EMBEDDER", "openai")
    assert _run(capsys, "db", "upgrade", "--database-url", db_url)[0] == 0
    path = cli_env / "requests.csv"
    path.write_text("title\nSSO\n")
    assert _run(capsys, "requests", "import", str(path), "--database-url", db_url)[0] == 0
    assert (
        _run(
            capsys, "requests", "import", str(path), "--embedder", "local", "--database-url", db_url
        )[0]
        == 0
    )
    assert fake_embedder == ["openai", "local"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_redraws_on_a_terminal() -> None:
    terminal = _Terminal()
    bar = ProgressBar("embedding", width=4, stream=terminal)
    for done in (0, 2, 4):
        bar(done, 4)
    assert terminal.getvalue() == (
        "\rembedding [....] 0/4\rembedding [##..] 2/4\rembedding [####] 4/4\n"
    )
    log = io.StringIO()
    bar = ProgressBar("embedding", width=4, stream=log)
    bar(0, 4)
    bar(4, 4)
    assert log.getvalue() == "\rembedding [####] 4/4\n"
