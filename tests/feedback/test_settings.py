"""Settings: read once from the environment; a bad value is named in one line."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from feedback.errors import ConfigurationError
from feedback.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    for name in ("DATABASE_URL", "APPROVAL_TIMEOUT", "APPROVAL_REMINDER", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_run_offline_on_the_embedded_database() -> None:
    settings = load_settings()

    assert settings.database_url == "sqlite+aiosqlite:///var/feedback-bot.db"
    assert settings.approval_timeout == timedelta(days=7)
    assert settings.embedder == "local"
    assert not settings.openai_api_key.get_secret_value()


def test_durations_take_seconds_or_iso_8601(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVAL_TIMEOUT", "P2D")
    monkeypatch.setenv("APPROVAL_REMINDER", "90")

    settings = load_settings()

    assert settings.approval_timeout == timedelta(days=2)
    assert settings.approval_reminder == timedelta(seconds=90)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DATABASE_URL", "mysql://x", "DATABASE_URL: Value error, use sqlite+aiosqlite"),
        ("APPROVAL_TIMEOUT", "soon", "APPROVAL_TIMEOUT: "),
        ("APPROVAL_REMINDER", "0", "APPROVAL_REMINDER: Value error, must be a positive"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL: Value error, must be an http(s) URL"),
    ],
)
def test_a_bad_setting_is_named_in_one_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError) as caught:
        load_settings()

    assert str(caught.value).startswith(says)
    assert "\n" not in str(caught.value)


def test_the_example_environment_file_is_valid() -> None:
    settings = Settings(_env_file=ROOT / ".env.example")  # type: ignore[call-arg]

    assert settings.approval_reminder == timedelta(days=1)
    assert settings.feedback_emoji == "gtm-feedback"
    assert settings.slack_api_url == "https://slack.com/api/"


def test_every_setting_is_documented_in_the_example_environment_file() -> None:
    documented = (ROOT / ".env.example").read_text()
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        choices = getattr(alias, "choices", None)
        names.add(str(choices[0]) if choices else name.upper())

    missing = sorted(n for n in names if not re.search(rf"^#? ?{n}=", documented, re.MULTILINE))
    assert not missing, f"document these in .env.example: {missing}"


def test_several_feedback_emojis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FEEDBACK_EMOJI", " gtm-feedback, :feedback: ")

    assert load_settings().feedback_emojis == {"gtm-feedback", "feedback"}
    monkeypatch.setenv("FEEDBACK_EMOJI", "gtm-feedback,,")
    with pytest.raises(ConfigurationError, match="FEEDBACK_EMOJI"):
        load_settings()


def test_secrets_stay_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")

    assert "xoxb-very-secret" not in repr(load_settings())


def test_the_reminder_must_come_before_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPROVAL_REMINDER", "P7D")
    monkeypatch.setenv("APPROVAL_TIMEOUT", "P7D")

    with pytest.raises(ConfigurationError, match=r"^APPROVAL_REMINDER must be shorter than"):
        load_settings()
