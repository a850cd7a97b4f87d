"""Runtime configuration, read from environment variables (all documented in the README).

Every variable has a default that works on a fresh machine with the embedded local stack.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    """All knobs of the pipeline. Env names are the field names upper-cased with `AUTERITY_`."""

    model_config = SettingsConfigDict(env_prefix="AUTERITY_", extra="ignore")

    home: Path = Field(default=REPO_ROOT / ".auterity", description="state directory")
    kafka_bootstrap: str | None = Field(
        default=None, description="external Kafka bootstrap servers; unset = embedded broker"
    )
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap: str = "1g"
    database_url: str | None = Field(
        default=None, validation_alias="DATABASE_URL", description="unset = embedded Postgres"
    )
    clickhouse_url: str | None = Field(
        default=None, validation_alias="CLICKHOUSE_URL", description="unset = embedded chDB"
    )
    clickhouse_database: str = "auterity"
    metrics_port: int = Field(default=8124, description="read-only query port of the chDB owner")
    topic_prefix: str = "auterity."
    app_id: str = "auterity-pipeline"
    worker_instance: str | None = Field(
        default=None, description="this worker's static group membership id (a worker "
        "restarted after a crash takes its partitions back at once); unset = dynamic "
        "membership. The supervisor (`auterity run`, the demo) sets one per worker it runs. "
        "Two live workers with one id fence each other out.")
    worker_session_timeout_s: float = Field(
        default=10.0, description="the broker moves a dead worker's partitions after this")
    pseudonym_key: str | None = Field(default=None, description="HMAC key for pseudonym memory")
    max_text_chars: int = 20_000
    max_message_bytes: int = 8 * 1024 * 1024
    redaction_workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    redaction_batch: int = 32
    redaction_timeout_s: float = Field(
        default=300.0, description="a redaction chunk taking longer is retried alone, then "
        "dead-lettered as `timeout`")
    projection_batch: int = 2000
    # documents and calls (issue 4)
    blob_dir: Path | None = Field(
        default=None, description="content-addressed blob store; unset = <home>/blobs")
    inline_max_bytes: int = Field(
        default=256 * 1024, description="uploads up to this size travel inline in the event")
    max_document_bytes: int = 50 * 1024 * 1024
    max_document_pages: int = 50
    max_audio_bytes: int = 100 * 1024 * 1024
    max_audio_seconds: float = 2 * 3600.0
    media_workers: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1),
                               description="processes for OCR and transcription")
    media_timeout_s: float = Field(default=900.0,
                                   description="a document or call taking longer is dead-lettered")

    @property
    def kafka_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def pg_dir(self) -> Path:
        return self.home / "pg"

    @property
    def chdb_dir(self) -> Path:
        return self.home / "chdb"

    @property
    def kafka_dir(self) -> Path:
        return self.home / "kafka"

    @property
    def blobs_dir(self) -> Path:
        return self.blob_dir or self.home / "blobs"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    def resolved_database_url(self) -> str:
        """The Postgres URL: DATABASE_URL, or the embedded server's socket URL."""
        if self.database_url:
            return self.database_url
        return f"postgresql://postgres:@/postgres?host={self.pg_dir}"

    def resolved_pseudonym_key(self) -> bytes:
        """The pseudonym HMAC key: AUTERITY_PSEUDONYM_KEY, or a random key kept in the state dir."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        path = self.home / "pseudonym.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(os.urandom(32).hex())
            try:
                os.link(tmp, path)  # atomic: the first writer wins, the others read its key
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return path.read_text().strip().encode()


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
