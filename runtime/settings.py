"""Runtime configuration, read from environment variables (all documented in the README).

Every variable has a default that works on a fresh machine with the embedded local stack.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.secrets import read_or_create_key

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
    # Kafka authentication (README "Kafka authentication and ACLs"). Every client acts as one
    # principal (runtime/kafka_auth.py). The embedded broker is always SASL_PLAINTEXT with
    # SCRAM on loopback; an external broker takes these from the environment.
    kafka_security_protocol: Literal["SASL_PLAINTEXT", "SASL_SSL", "PLAINTEXT"] = Field(
        default="SASL_PLAINTEXT", description="how clients talk to the broker. PLAINTEXT "
        "(no authentication, no ACLs) only for an external broker without security")
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = Field(
        default="SCRAM-SHA-256", description="SASL mechanism; the embedded broker takes SCRAM "
        "only (its users are created with this mechanism at storage format)")
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="CA bundle to verify an external broker's certificate with "
        "SASL_SSL; unset = the system's CAs")
    kafka_credentials_file: Path | None = Field(
        default=None, description="JSON file {principal: {username, password}}; unset = "
        "<home>/kafka/credentials.json, which the embedded broker writes (mode 0600) with "
        "random passwords at its first start. Per-principal env variables win over it")
    kafka_manage_acls: bool = Field(
        default=True, description="`auterity stack up` creates the ACLs the pipeline needs "
        "(as the admin principal; the embedded broker always gets them). false = an operator "
        "manages an external broker's ACLs")
    # Per principal: AUTERITY_KAFKA_<PRINCIPAL>_USERNAME (default: the principal's name, e.g.
    # `pii-step`) and AUTERITY_KAFKA_<PRINCIPAL>_PASSWORD (default: from the credentials file).
    kafka_admin_username: str | None = None
    kafka_admin_password: SecretStr | None = None
    kafka_ingest_username: str | None = None
    kafka_ingest_password: SecretStr | None = None
    kafka_pii_step_username: str | None = None
    kafka_pii_step_password: SecretStr | None = None
    kafka_projections_username: str | None = None
    kafka_projections_password: SecretStr | None = None
    kafka_restricted_username: str | None = None
    kafka_restricted_password: SecretStr | None = None
    kafka_step_metrics_username: str | None = None
    kafka_step_metrics_password: SecretStr | None = None
    kafka_reader_username: str | None = None
    kafka_reader_password: SecretStr | None = None
    database_url: str | None = Field(
        default=None, validation_alias="DATABASE_URL", description="unset = embedded Postgres"
    )
    clickhouse_url: str | None = Field(
        default=None, validation_alias="CLICKHOUSE_URL", description="unset = embedded chDB"
    )
    clickhouse_database: str = "auterity"
    metrics_port: int = Field(default=8124, description="read-only query port of the chDB owner")
    # the metrics query endpoint (projections/metrics_query.py): limits on every read
    metrics_query_timeout_s: float = Field(
        default=10.0, description="a metrics read running longer is stopped (max_execution_time)")
    metrics_query_memory_mb: int = Field(default=1024, description="memory limit per metrics read")
    metrics_query_max_rows: int = Field(default=100_000,
                                        description="a metrics read returning more rows fails")
    metrics_query_threads: int = Field(default=2, description="threads per metrics read")
    metrics_query_concurrency: int = Field(
        default=4, description="metrics reads the endpoint runs at once; more are refused (503)")
    metrics_endpoint_key: str | None = Field(
        default=None, description="HMAC key of the metrics endpoint's tokens; unset = a random "
        "key kept in <home>/secrets/metrics-endpoint.key")
    sales_team: str = Field(default="", description="the salespeople the assign_lead agent "
                            "spreads leads over: `id:Name,id:Name`")
    clock: Literal["wall", "file"] = Field(
        default="wall", description="the clock workflow runs live in: the wall clock, or "
        "`file` (<home>/clock.json) that tests move and the demo accelerates (runtime/clock.py)")
    webhook_host: str = Field(default="127.0.0.1", description="address the dealership "
                              "webhook ingest (`auterity webhook serve`) listens on")
    webhook_port: int = Field(default=8130, description="port of the dealership webhook ingest")
    webhook_key: str | None = Field(
        default=None, description="HMAC key of the webhook ingest's tenant tokens (`auterity "
        "webhook token TENANT`); unset = a random key kept in <home>/secrets/webhook.key")
    topic_prefix: str = "auterity."
    app_id: str = "auterity-pipeline"
    worker_instance: str | None = Field(
        default=None, description="this worker's static group membership id (a worker "
        "restarted after a crash takes its partitions back at once); unset = dynamic "
        "membership. The supervisor (`auterity run`, the demo) sets one per worker it runs. "
        "Two live workers with one id fence each other out.")
    worker_name: str = Field(
        default="worker", pattern=r"^worker(-[0-9]+)?$",
        description="which of the supervisor's workers this is (`worker`, `worker-2`, ...): "
        "names its ready file and Faust data directory")
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
    agent_plugins: str = Field(default="", description="extra AI agents the worker runs: "
                               "comma-separated module:function, each called with the LLM "
                               "gateway and returning AiAgent instances (streams/agent_plugins.py)")
    # agent deliveries (connectors/delivery): off until a server is named
    smtp_host: str | None = Field(default=None, description="SMTP server for send_email; "
                                  "unset: email deliveries fail as not configured")
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="STARTTLS before login")
    smtp_from: str = Field(default="Auterity <noreply@auterity.local>",
                           description="From: of delivered emails")
    sms_gateway_url: str | None = Field(default=None, description="HTTP SMS gateway endpoint "
                                        "for send_sms (POST JSON, Idempotency-Key header)")
    sms_gateway_token: SecretStr | None = Field(default=None,
                                                description="bearer token for the SMS gateway")
    delivery_timeout_s: float = Field(default=30.0, description="per SMTP/HTTP attempt")
    # enrichment sources of the customer intelligence agent (connectors/enrichment): off until
    # named. Per source <NAME> (dynamic, read by connectors.enrichment.sources):
    # AUTERITY_ENRICHMENT_<NAME>_URL (required), _KEY (secret), _KINDS (default
    # vehicle,organization), _HEADER (default Authorization, sent as `Bearer <key>`)
    enrichment_sources: str = Field(default="", description="external enrichment providers: "
                                    "comma-separated names (e.g. vindecoder,firmographics), "
                                    "each needing AUTERITY_ENRICHMENT_<NAME>_URL")
    enrichment_timeout_s: float = Field(default=10.0, gt=0,
                                        description="per enrichment HTTP attempt")

    @property
    def kafka_servers(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def kafka_credentials_path(self) -> Path:
        return self.kafka_credentials_file or self.kafka_dir / "credentials.json"

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

    @property
    def secrets_dir(self) -> Path:
        """Owner-only (0700) directory of the keys; no query surface can name it."""
        return self.home / "secrets"

    @property
    def pg_owner_passfile(self) -> Path:
        """The embedded Postgres owner's password (a libpq password file, mode 0600, in the
        0700 secrets directory), written at the server's first start (compose/postgres_auth.py):
        every login needs a password."""
        return self.home / "secrets" / "postgres-owner.pgpass"

    def resolved_database_url(self) -> str:
        """The Postgres URL: DATABASE_URL, or the embedded server's socket URL (as the owner,
        with the owner's password file)."""
        if self.database_url:
            return self.database_url
        return (f"postgresql://postgres@/postgres?host={self.pg_dir}"
                f"&passfile={self.pg_owner_passfile}")

    def resolved_pseudonym_key(self) -> bytes:
        """The pseudonym HMAC key: AUTERITY_PSEUDONYM_KEY, or a random key kept in
        <home>/secrets/pseudonym.key (0600; a key left at <home>/pseudonym.key by an older
        version is moved there, so pseudonyms stay the same)."""
        if self.pseudonym_key:
            return self.pseudonym_key.encode()
        return read_or_create_key(self.secrets_dir / "pseudonym.key",
                                  legacy=self.home / "pseudonym.key")

    def resolved_webhook_key(self) -> bytes:
        """The HMAC key the webhook ingest's tenant tokens are made with (runtime/tokens.py)."""
        if self.webhook_key:
            return self.webhook_key.encode()
        return read_or_create_key(self.secrets_dir / "webhook.key")

    def resolved_metrics_endpoint_key(self) -> bytes:
        """The HMAC key the metrics endpoint's tokens are made with (projections/metrics_auth)."""
        if self.metrics_endpoint_key:
            return self.metrics_endpoint_key.encode()
        return read_or_create_key(self.secrets_dir / "metrics-endpoint.key")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
