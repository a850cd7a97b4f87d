"""Shared fixtures. Integration tests run against the real Kafka, Postgres and chDB that the
project itself starts (compose.stack); a service that cannot start FAILS the run."""

from __future__ import annotations

import processors  # noqa: F401 - sets the offline environment defaults first
