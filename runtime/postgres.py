"""Small psycopg helpers shared by every layer that reads Postgres."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql as pgsql

from schemas.errors import StoreUnavailable


def scalar(conn: psycopg.Connection[Any], sql: str | pgsql.SQL | pgsql.Composed,
           params: Any = None) -> Any:
    """The first column of the first row of `sql`; ValueError if it returns no row."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise ValueError(f"query returned no row: {sql!r}")
    return row[0]


#: how long opening a connection may take, and one statement on a pipeline connection
CONNECT_TIMEOUT_S = 10
STATEMENT_TIMEOUT_MS = 30_000


def connect(url: str, application_name: str, *,
            statement_timeout_ms: int = STATEMENT_TIMEOUT_MS) -> psycopg.Connection[Any]:
    """An autocommit connection that cannot hang the pipeline (bounded connect and
    statement time), named in pg_stat_activity."""
    return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S,
                           application_name=application_name,
                           options=f"-c statement_timeout={int(statement_timeout_ms)}")


class SharedConnection:
    """One connection used by one thread at a time: `with shared.use() as conn:` holds the
    lock, opens the connection (through `open_connection`) if there is none or it broke.

    Invariant: a failure to reach Postgres or a statement timeout inside the block raises
    `StoreUnavailable` naming `name` (and the next `use` reconnects); SQL errors (a bug, a
    constraint) pass through unchanged."""

    def __init__(self, open_connection: Callable[[], psycopg.Connection[Any]],
                 name: str) -> None:
        self._open = open_connection
        self.name = name
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    @contextmanager
    def use(self) -> Iterator[psycopg.Connection[Any]]:
        with self._lock:
            try:
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self._conn = self._open()
                yield self._conn
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if self._conn is not None and not self._conn.broken:
                    self._conn.close()  # a timed-out statement: start over next time
                self._conn = None
                raise StoreUnavailable(f"{self.name}: Postgres unavailable "
                                       f"({type(exc).__name__})") from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
