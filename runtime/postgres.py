"""Small psycopg helpers shared by every layer that reads Postgres."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql as pgsql


def scalar(conn: psycopg.Connection[Any], sql: str | pgsql.SQL | pgsql.Composed,
           params: Any = None) -> Any:
    """The first column of the first row of `sql`; ValueError if it returns no row."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise ValueError(f"query returned no row: {sql!r}")
    return row[0]
