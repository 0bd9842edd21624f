"""The one settings object, read once at start-up from the environment (and ``.env``).

::

    settings = load_settings()          # exits start-up with one line naming a bad setting
    settings.database_url, settings.approval_timeout

Durations accept seconds (``90``) or ISO 8601 (``P7D``, ``PT1H``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from feedback.errors import ConfigurationError

__all__ = ["LogSettings", "Settings", "load_log_settings", "load_settings"]

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/feedback-bot.db"

_S = TypeVar("_S", bound=BaseSettings)


class LogSettings(BaseSettings):
    """How the process logs: read by every command before anything else.

    Its own class, so that a command needing no other setting (the simulator, the
    matching evaluation) is not stopped by, say, a bad ``DATABASE_URL``.

    Attributes:
        log_format: ``text`` (one readable line per record) or ``json`` (one object
            per line, for log shippers).
        log_level: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``; unset, ``INFO`` for
            the long-running commands (``serve``, ``worker``) and ``WARNING`` for the
            others.
    """

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] | None = None

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        if isinstance(value, str):
            return value.strip().upper() or None  # LOG_LEVEL= (empty): the default
        return value


class Settings(LogSettings):
    """Everything the bot reads from its environment (the logging settings included).

    Attributes:
        database_url: One database for the engine and the domain.
        slack_bot_token: The bot token (``xoxb-...``).
        slack_signing_secret: Verifies requests from Slack.
        slack_app_token: The app-level token (``xapp-...``) for Socket Mode in development.
        slack_client_id: With ``slack_client_secret``: multi-workspace mode, where
            workspaces install the app through ``/slack/install`` (no bot token is set).
        slack_client_secret: The app's client secret (multi-workspace mode).
        slack_api_url: The Web API root; the Slack simulator's in tests and the demo.
        feedback_emoji: The reaction that files a message; several may be given,
            separated by commas (see :attr:`feedback_emojis`).
        filing_emoji: The reaction the bot adds to a message it is filing.
        approval_reminder: When an unanswered approval gets its one reminder.
        approval_timeout: When an unanswered approval is filed as a new request.
        account_pick_timeout: How long the account picker waits before "unknown".
        request_reminder_delay: When a new request without customer feedback gets a
            reminder to its creator.
        timezone: The team's time zone (IANA name) for the daily and weekly reports.
        insights_time: When each area's insights are posted, ``HH:MM`` every day.
        digest_day: The weekly digest's day (``mon`` ... ``sun``).
        digest_time: The weekly digest's time, ``HH:MM``.
        digest_channel: Where the weekly digest is posted (none: not posted).
        notify_batch_time: When the daily DM of notifications is sent to whoever
            chose "once a day", ``HH:MM`` every day.
        embedder: ``local`` (offline MiniLM) or ``openai``.
        openai_api_key: Enables the LLM tasks; empty means the offline fallbacks.
        openai_base_url: Any OpenAI-compatible API root.
        openai_model: The chat model.
        openai_embedding_model: The embedding model when ``embedder`` is ``openai``.
    """

    database_url: str = Field(
        DEFAULT_DATABASE_URL, validation_alias=AliasChoices("DATABASE_URL", "database_url")
    )
    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")
    slack_app_token: SecretStr = SecretStr("")
    slack_client_id: str = ""
    slack_client_secret: SecretStr = SecretStr("")
    slack_api_url: str = "https://slack.com/api/"
    feedback_emoji: str = "gtm-feedback"
    filing_emoji: str = "eyes"
    approval_reminder: timedelta = timedelta(days=1)
    approval_timeout: timedelta = timedelta(days=7)
    account_pick_timeout: timedelta = timedelta(days=1)
    request_reminder_delay: timedelta = timedelta(hours=1)
    timezone: str = "America/New_York"
    insights_time: str = "08:00"
    digest_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    digest_time: str = "09:00"
    digest_channel: str | None = None
    notify_batch_time: str = "17:00"
    embedder: Literal["local", "openai"] = Field(
        "local", validation_alias=AliasChoices("FEEDBACK_EMBEDDER", "embedder")
    )
    openai_api_key: SecretStr = SecretStr("")
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    openai_embedding_model: str = "text-embedding-3-small"

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///path.db or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator(
        "approval_reminder",
        "approval_timeout",
        "account_pick_timeout",
        "request_reminder_delay",
        mode="before",
    )
    @classmethod
    def _seconds(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            return float(value)  # "90" means 90 seconds
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}: use an IANA name such as America/New_York"
            ) from None
        return value

    @field_validator("insights_time", "digest_time", "notify_batch_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        hours, _, minutes = value.partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60):
            raise ValueError(f"{value!r} is not a time of day: use HH:MM, e.g. 08:00")
        return f"{int(hours):02d}:{int(minutes):02d}"

    @field_validator(
        "approval_reminder", "approval_timeout", "account_pick_timeout", "request_reminder_delay"
    )
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration (seconds, or ISO 8601 like P7D)")
        return value

    @field_validator("feedback_emoji")
    @classmethod
    def _emoji_names(cls, value: str) -> str:
        names = [n.strip().strip(":") for n in value.split(",")]
        if not all(names):
            raise ValueError("give emoji names separated by commas, e.g. gtm-feedback,feedback")
        return ",".join(names)

    @property
    def multi_workspace(self) -> bool:
        """Whether workspaces install the app through OAuth (else one bot token)."""
        return bool(self.slack_client_id and self.slack_client_secret.get_secret_value())

    @property
    def feedback_emojis(self) -> frozenset[str]:
        """The reactions that file a message (names without colons)."""
        return frozenset(self.feedback_emoji.split(","))

    @model_validator(mode="after")
    def _reminder_before_timeout(self) -> Settings:
        if self.approval_reminder >= self.approval_timeout:
            raise ValueError(
                "APPROVAL_REMINDER must be shorter than APPROVAL_TIMEOUT (the reminder "
                "comes before the question closes)"
            )
        return self


def load_log_settings() -> LogSettings:
    """Read the logging settings alone (every command does, first).

    Raises:
        ConfigurationError: ``LOG_FORMAT`` or ``LOG_LEVEL`` is invalid; the message names it.
    """
    return _load(LogSettings)


def load_settings(**overrides: object) -> Settings:
    """Read the settings once; a bad value stops start-up with one line that names it.

    Args:
        overrides: Values that win over the environment (tests, the demo).

    Raises:
        ConfigurationError: A setting is invalid; the message names the variable.
    """
    return _load(Settings, **overrides)


def _load(kind: type[_S], **overrides: object) -> _S:
    try:
        return kind(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:  # a rule across settings names them in its message
            raise ConfigurationError(str(first["msg"]).removeprefix("Value error, ")) from exc
        raise ConfigurationError(f"{str(first['loc'][0]).upper()}: {first['msg']}") from exc
