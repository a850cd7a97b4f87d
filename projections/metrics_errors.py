"""Errors of the metrics store and its readers (one module, so the store and the read policy
both raise them without importing each other)."""

from __future__ import annotations


class MetricsStoreError(RuntimeError):
    """The metrics store refused or failed a statement."""


class QueryRefused(MetricsStoreError):
    """A read was refused before it ran: not one SELECT, or it names something a reader may
    not use (a file, URL or process function, INTO OUTFILE, SETTINGS, another tenant's
    table, ...). The message says what."""
