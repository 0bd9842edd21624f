"""Logs: text or JSON on stderr, one line per step, never a secret or a customer's words."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.cli import main
from bot.logs import configure_logging, flush_logs
from bot.simulator import slack_requests as slack
from feedback.settings import LogSettings
from tests.bot.app_harness import App
from tests.workflows.harness import ACME_CHANNEL, ASK_TEXT, DANA, LINK_TEXT, SAM


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    flush_logs()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _settings(**values: str) -> LogSettings:
    return LogSettings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_text_lines_by_default_at_the_commands_level() -> None:
    out = io.StringIO()
    configure_logging(_settings(), default_level="INFO", stream=out)

    logging.getLogger("bot.test").info("worker ready (concurrency %d)", 4)
    logging.getLogger("bot.test").debug("not shown")
    flush_logs()

    [line] = out.getvalue().splitlines()
    assert line.endswith(" INFO bot.test: worker ready (concurrency 4)")


def test_json_objects_carry_the_structured_fields() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="json", log_level="debug"), stream=out)

    logging.getLogger("workflows.engine.steps").info(
        "run %s: step %s", "r1", "fetch", extra={"run_id": "r1", "step": "fetch", "attempt": 2}
    )
    flush_logs()

    [entry] = [json.loads(line) for line in out.getvalue().splitlines()]
    assert entry["time"].endswith("Z") and entry["level"] == "INFO"
    assert {k: entry[k] for k in ("logger", "message", "run_id", "step", "attempt")} == {
        "logger": "workflows.engine.steps",
        "message": "run r1: step fetch",
        "run_id": "r1",
        "step": "fetch",
        "attempt": 2,
    }


def test_configuring_again_replaces_the_handler_and_keeps_others() -> None:
    first, second, other = io.StringIO(), io.StringIO(), io.StringIO()
    kept = logging.StreamHandler(other)
    logging.getLogger().addHandler(kept)
    configure_logging(_settings(), default_level="INFO", stream=first)
    configure_logging(_settings(), default_level="INFO", stream=second)

    logging.getLogger("bot.test").warning("once")
    flush_logs()

    assert (first.getvalue(), second.getvalue().count("once"), other.getvalue()) == (
        "",
        1,
        "once\n",
    )


def test_sql_statements_stay_out_even_at_info() -> None:
    configure_logging(_settings(log_level="INFO"), stream=io.StringIO())

    assert not logging.getLogger("sqlalchemy.engine").isEnabledFor(logging.INFO)


def test_a_bad_log_format_stops_any_command_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")

    assert main(["db", "upgrade", "--database-url", "sqlite+aiosqlite:///unused.db"]) == 2

    assert capsys.readouterr().err == (
        "feedback-bot db: error: LOG_FORMAT: Input should be 'text' or 'json'\n"
    )


async def test_at_info_no_secret_and_no_customer_words_are_logged(
    slack_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    settings = slack_app.product.deps.settings
    secrets = [
        settings.slack_bot_token.get_secret_value(),
        settings.slack_signing_secret.get_secret_value(),
    ]
    caplog.set_level(logging.INFO)
    for text in (LINK_TEXT, ASK_TEXT):
        ts = slack_app.sim.post_message(ACME_CHANNEL, DANA, text)
        await slack_app.send(slack.reaction_added(ACME_CHANNEL, ts, SAM, item_user=DANA))
    await slack_app.product.settle()

    formatter = logging.Formatter()
    logged = "\n".join(
        formatter.format(r) + json.dumps(vars(r), default=str)
        for r in caplog.records
        if r.levelno >= logging.INFO
    )
    steps = [r for r in caplog.records if r.name == "workflows.engine.steps"]
    assert len(steps) >= 10  # one per step attempt, with their fields
    assert all(
        {"run_id", "workflow", "step", "attempt", "duration_ms"} <= vars(r).keys() for r in steps
    )
    for secret in secrets:
        assert secret not in logged
    for words in ("dashboards to PDF", "board meetings", "single sign-on", "Okta"):
        assert words not in logged
