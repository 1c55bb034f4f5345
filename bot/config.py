"""Settings from the environment and `.env`, validated once, with clear errors.

Every setting has a sane default so that `digest-bot run` works on a fresh
clone; Slack tokens are the only thing needed to go live. A wrong value stops
start-up with a message naming the variable, never a traceback.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.archive.git_remote import GitRemote, checkout_path
from bot.store.database import DEFAULT_DB_URL
from bot.weekly.schedule import cron_trigger


def make_url_or_none(url: str) -> URL | None:
    try:
        return make_url(url)
    except ArgumentError:
        return None

#: The example archive shipped with the project: the default when none is configured.
EXAMPLE_ARCHIVE = Path(__file__).resolve().parent.parent / "examples" / "archive"
#: The bot's own files (the DIGEST_ARCHIVE_GIT checkout), next to the default SQLite store.
DEFAULT_DATA_DIR = "data"
DEFAULT_API_URL = "https://slack.com/api/"
DEFAULT_SCHEDULE = "0 9 * * FRI"
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")
_CHANNEL_RE = re.compile(r"^[A-Z0-9][A-Z0-9]{2,}$|^#?[a-z0-9][a-z0-9._-]*$")


def crontab_setting(value: str, *, example: str, otherwise: str | None = None) -> str:
    """A crontab setting checked with the very reading the scheduler will use, spaces collapsed.

    `otherwise` names what else the setting may be ("empty ..., 'off',"): those
    values pass as written (lower case) and the error lists them; without it a
    reason that already quotes the value is given as it is.
    """
    value = " ".join(value.split())
    if otherwise is not None and value.lower() in ("", "off"):
        return value.lower()
    try:
        cron_trigger(value, ZoneInfo("UTC"))
    except ValueError as err:
        reason = str(err)
        if otherwise is not None:
            reason = f"{value!r} is not {otherwise} or a crontab expression like {example!r}: {reason}"
        elif value not in reason:
            reason = f"{value!r} is not a crontab expression like {example!r}: {reason}"
        raise ValueError(reason) from err
    return value


class ConfigError(ValueError):
    """A setting is wrong; the message names it and says what is expected."""


def _env(name: str) -> AliasChoices:
    return AliasChoices(name)


class Settings(BaseSettings):
    """Every setting of the bot; the field aliases are the environment variable names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    archive: Path | None = Field(None, validation_alias=_env("DIGEST_ARCHIVE"))
    archive_git: str | None = Field(None, validation_alias=_env("DIGEST_ARCHIVE_GIT"))
    data_dir: Path = Field(Path(DEFAULT_DATA_DIR), validation_alias=_env("DIGEST_DATA_DIR"))
    db_url: str = Field(DEFAULT_DB_URL, validation_alias=_env("DIGEST_DB_URL"))
    lang: Literal["en", "ja"] = Field("en", validation_alias=_env("DIGEST_LANG"))
    timezone: str = Field("UTC", validation_alias=_env("DIGEST_TIMEZONE"))
    schedule: str = Field(DEFAULT_SCHEDULE, validation_alias=_env("DIGEST_SCHEDULE"))
    recap_schedule: str = Field("", validation_alias=_env("DIGEST_RECAP_SCHEDULE"))
    channel: str | None = Field(None, validation_alias=_env("DIGEST_CHANNEL"))
    channels: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict, validation_alias=_env("DIGEST_CHANNELS"))
    topics: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias=_env("DIGEST_TOPICS"))
    slack_bot_token: str | None = Field(None, validation_alias=_env("SLACK_BOT_TOKEN"))
    slack_signing_secret: str | None = Field(None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    slack_app_token: str | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    slack_api_url: str = Field(DEFAULT_API_URL, validation_alias=_env("SLACK_API_URL"))
    port: int = Field(3000, ge=1, le=65535, validation_alias=_env("PORT"))
    bind_address: str = Field("0.0.0.0", validation_alias=_env("DIGEST_BIND_ADDRESS"))
    answer_workers: int = Field(4, ge=1, le=64, validation_alias=_env("DIGEST_ANSWER_WORKERS"))
    queue_limit: int = Field(500, ge=1, le=100_000, validation_alias=_env("DIGEST_QUEUE_LIMIT"))
    questions_per_minute: int = Field(6, ge=0, le=1000, validation_alias=_env("DIGEST_QUESTIONS_PER_MINUTE"))
    max_papers_per_digest: int = Field(300, ge=1, le=10_000, validation_alias=_env("DIGEST_MAX_PAPERS_PER_DIGEST"))
    sync_minutes: int = Field(15, ge=0, le=24 * 60, validation_alias=_env("DIGEST_SYNC_MINUTES"))
    index_dir: Path | None = Field(None, validation_alias=_env("DIGEST_INDEX_DIR"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", validation_alias=_env("DIGEST_LOG_LEVEL"))
    # The optional language model that writes answers' prose (any OpenAI-compatible server).
    llm_url: str | None = Field(None, validation_alias=_env("DIGEST_LLM_URL"))
    llm_model: str | None = Field(None, validation_alias=_env("DIGEST_LLM_MODEL"))
    llm_api_key: str | None = Field(None, validation_alias=_env("DIGEST_LLM_API_KEY"))
    llm_timeout: float = Field(20.0, gt=0, le=600, validation_alias=_env("DIGEST_LLM_TIMEOUT"))
    # Optional dense retrieval for questions (`bot.search.dense`; the `dense` extra).
    dense: bool = Field(False, validation_alias=_env("DIGEST_DENSE"))
    dense_max_papers: int = Field(20_000, ge=1, le=1_000_000, validation_alias=_env("DIGEST_DENSE_MAX_PAPERS"))

    @field_validator(
        "slack_bot_token", "slack_signing_secret", "slack_app_token", "channel", "archive", "archive_git",
        "index_dir", "llm_url", "llm_model", "llm_api_key", mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """An empty line in `.env` (as `.env.example` has them) means the default, never `.`."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("archive_git")
    @classmethod
    def _archive_git(cls, value: str | None) -> str | None:
        if value is None:
            return None
        GitRemote.parse(value)  # the very reading the bot will use
        return value.strip()

    @field_validator("data_dir", mode="before")
    @classmethod
    def _data_dir(cls, value: object) -> object:
        return DEFAULT_DATA_DIR if isinstance(value, str) and not value.strip() else value

    @field_validator("db_url", mode="before")
    @classmethod
    def _db_url(cls, value: object) -> object:
        return DEFAULT_DB_URL if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _one_archive(self) -> Settings:
        if self.archive is not None and self.archive_git is not None:
            raise ValueError(
                "DIGEST_ARCHIVE and DIGEST_ARCHIVE_GIT are both set: set DIGEST_ARCHIVE for a folder "
                "you keep up to date, or DIGEST_ARCHIVE_GIT for a repository the bot clones and fetches"
            )
        return self

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with 'xoxb-' (OAuth & Permissions page)")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with 'xapp-' (Basic Information page)")
        return value

    @field_validator("bind_address")
    @classmethod
    def _bind_address(cls, value: str) -> str:
        value = value.strip()
        host = value[1:-1] if value.startswith("[") and value.endswith("]") else value
        try:
            ipaddress.ip_address(host)
        except ValueError:
            if not _HOSTNAME_RE.match(host):
                raise ValueError(
                    f"{value!r} is not an address to listen on: use 0.0.0.0 (every interface), "
                    "127.0.0.1 (this machine only), :: or a host name"
                ) from None
        return host

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as 'Asia/Tokyo' or 'UTC'") from err
        return value.strip()

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return crontab_setting(value, example="0 9 * * FRI")

    @field_validator("recap_schedule")
    @classmethod
    def _recap_schedule(cls, value: str) -> str:
        return crontab_setting(
            value, example="0 17 * * FRI", otherwise="empty (the recap follows the week's digests), 'off',"
        )

    @property
    def recap_after_posting(self) -> bool:
        """The recap is posted right after a week's digests (no DIGEST_RECAP_SCHEDULE of its own)."""
        return self.recap_schedule == ""

    @field_validator("llm_url")
    @classmethod
    def _llm_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(
                "must be the http(s) base URL of an OpenAI-compatible API, e.g. http://localhost:11434/v1 (Ollama)"
            )
        return value.rstrip("/")

    @model_validator(mode="after")
    def _llm_complete(self) -> Settings:
        if self.llm_url and not self.llm_model:
            raise ValueError("DIGEST_LLM_URL is set but DIGEST_LLM_MODEL is not: name the model, e.g. llama3.1:8b")
        if self.llm_model and not self.llm_url:
            raise ValueError("DIGEST_LLM_MODEL is set but DIGEST_LLM_URL is not: give the server's base URL")
        return self

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        value = value.strip()
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str | None) -> str | None:
        if value is not None and not _CHANNEL_RE.match(value.strip()):
            raise ValueError(f"{value!r} is not a channel id such as C0123ABCD or a name such as #general")
        return value.strip() if value else value

    @field_validator("channels", mode="before")
    @classmethod
    def _channels(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        result: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in value.split(","))):
            slug, sep, channel = (s.strip() for s in part.partition("="))
            if not sep or not _SLUG_RE.match(slug) or not _CHANNEL_RE.match(channel):
                raise ValueError(f"{part!r} is not 'topic=CHANNEL' (e.g. 'sd=C0123,fl=#federated')")
            result[slug] = channel
        return result

    @field_validator("topics", mode="before")
    @classmethod
    def _topics(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        slugs = tuple(s.strip() for s in value.split(",") if s.strip())
        for slug in slugs:
            if not _SLUG_RE.match(slug):
                raise ValueError(f"{slug!r} is not a topic slug (lowercase letters, digits, '-' or '_')")
        return slugs

    @property
    def archive_path(self) -> Path:
        """The archive to read: DIGEST_ARCHIVE, the DIGEST_ARCHIVE_GIT checkout, else the examples."""
        if self.archive is not None:
            return self.archive
        if self.archive_git is not None:
            return checkout_path(GitRemote.parse(self.archive_git), self.data_dir)
        return EXAMPLE_ARCHIVE

    @property
    def search_index_dir(self) -> Path:
        """Where the search index lives: DIGEST_INDEX_DIR, else `search-index/` beside an
        SQLite store's file, else `search-index/` in DIGEST_DATA_DIR (each replica keeps its own)."""
        if self.index_dir is not None:
            return self.index_dir
        url = make_url_or_none(self.db_url)
        if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            return Path(url.database).expanduser().parent / "search-index"
        return self.data_dir / "search-index"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def channel_for(self, slug: str) -> str | None:
        """Where a topic's digests go: its DIGEST_CHANNELS entry, else DIGEST_CHANNEL."""
        return self.channels.get(slug) or self.channel

    def missing_for_live(self) -> list[str]:
        """The settings still needed to connect to Slack, in the order to set them."""
        missing = []
        if not self.slack_bot_token:
            missing.append("SLACK_BOT_TOKEN")
        if not self.slack_app_token and not self.slack_signing_secret:
            missing.append("SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)")
        return missing


def load_settings(env_file: Path | str | None = ".env", **overrides: Any) -> Settings:
    """Settings from the environment (and `env_file`), or a ConfigError naming what is wrong."""
    try:
        return Settings(_env_file=env_file, **overrides)
    except ValidationError as err:
        lines = []
        for error in err.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            if not error["loc"]:  # a rule about several settings names them itself
                lines.append(message)
                continue
            field = str(error["loc"][0])
            lines.append(f"{_ENV_NAMES.get(field, field)}: {message}")
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None


_ENV_NAMES = {
    name: next(iter(field.validation_alias.choices))
    for name, field in Settings.model_fields.items()
    if isinstance(field.validation_alias, AliasChoices)
}
