"""Per-tenant reader logins for Postgres: the credential decides the tenant, not the session.

A reader login is a LOGIN role with a random name and a random password, mapped by oid to
exactly one tenant in `tenant_readers` (projections/postgres_schema.py). Row-level security
shows it that tenant's rows and nothing else, whatever SQL it runs. Two kinds:
- `reader`: a member of `auterity_reader`: SELECT on the redacted state tables;
- `pii_reader`: a member of `auterity_pii_reader`: SELECT on `restricted_pii_fields` only.

Invariants:
- the password is generated here, returned once and never stored by us: Postgres keeps
  only its SCRAM verifier, computed client-side (the plaintext never reaches the server, so
  no server log can hold it);
- a login inherits its group's grants but cannot SET ROLE to the group (PostgreSQL 16+
  grant options), has no other attribute (NOSUPERUSER, NOCREATEDB, NOCREATEROLE,
  NOREPLICATION, NOBYPASSRLS) and does not inherit grants anyone adds later (NOINHERIT);
- only roles this module created (those in `tenant_readers`) are ever rotated or dropped;
- removing a login deletes its mapping first (an open session of it sees no rows from then
  on), ends its sessions and drops the role, in one transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote, urlencode

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from projections.postgres_schema import PII_READER_ROLE, READER_ROLE, migrate

Kind = Literal["reader", "pii_reader"]
GROUP: dict[str, str] = {"reader": READER_ROLE, "pii_reader": PII_READER_ROLE}
MAX_TENANT_ID = 200


@dataclass(frozen=True)
class TenantLogin:
    role: str
    tenant_id: str
    kind: str
    created_at: datetime | None = None
    password: str | None = None  # only when just created or rotated


def _verifier(conn: psycopg.Connection[Any], role: str, password: str) -> sql.Literal:
    raw = conn.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256")
    return sql.Literal(raw.decode())


def add_reader(conn: psycopg.Connection[Any], tenant_id: str, kind: Kind = "reader"
               ) -> TenantLogin:
    """A new login that reads `tenant_id`'s rows only; its password is in the result."""
    if kind not in GROUP:
        raise ValueError(f"kind must be one of {sorted(GROUP)}, not {kind!r}")
    if not tenant_id or len(tenant_id) > MAX_TENANT_ID or not tenant_id.isprintable():
        raise ValueError(f"a tenant id is 1-{MAX_TENANT_ID} printable characters")
    migrate(conn)
    role = f"{GROUP[kind]}_{secrets.token_hex(6)}"
    password = secrets.token_urlsafe(24)
    with conn.transaction():
        conn.execute(sql.SQL(
            "CREATE ROLE {} LOGIN NOINHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE "
            "NOREPLICATION NOBYPASSRLS PASSWORD {}").format(
                sql.Identifier(role), _verifier(conn, role, password)))
        conn.execute(sql.SQL("GRANT {} TO {} WITH INHERIT TRUE, SET FALSE").format(
            sql.Identifier(GROUP[kind]), sql.Identifier(role)))
        row = conn.execute(
            "INSERT INTO tenant_readers (role_oid, role_name, tenant_id, kind) "
            "SELECT oid, rolname, %s, %s FROM pg_roles WHERE rolname = %s "
            "RETURNING created_at", (tenant_id, kind, role)).fetchone()
    assert row is not None
    return TenantLogin(role, tenant_id, kind, row[0], password)


def _mapped(conn: psycopg.Connection[Any], role: str) -> TenantLogin:
    row = conn.execute(
        "SELECT t.tenant_id, t.kind, t.created_at FROM tenant_readers t "
        "JOIN pg_roles r ON r.oid = t.role_oid WHERE r.rolname = %s", (role,)).fetchone()
    if row is None:
        raise KeyError(f"{role} is not a tenant reader login (see `auterity tenants list`)")
    return TenantLogin(role, row[0], row[1], row[2])


def rotate_password(conn: psycopg.Connection[Any], role: str) -> TenantLogin:
    """A new password for the tenant login `role` (the old one stops working)."""
    migrate(conn)
    login = _mapped(conn, role)
    password = secrets.token_urlsafe(24)
    conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
        sql.Identifier(role), _verifier(conn, role, password)))
    return TenantLogin(login.role, login.tenant_id, login.kind, login.created_at, password)


def remove_reader(conn: psycopg.Connection[Any], role: str) -> TenantLogin:
    """Unmap, disconnect and drop the tenant login `role`."""
    migrate(conn)
    with conn.transaction():
        login = _mapped(conn, role)
        conn.execute("DELETE FROM tenant_readers WHERE role_name = %s", (role,))
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE usename = %s", (role,))
        conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
    return login


def list_readers(conn: psycopg.Connection[Any], tenant_id: str | None = None
                 ) -> list[TenantLogin]:
    """The tenant logins (of `tenant_id`, or all), oldest first."""
    migrate(conn)
    rows = conn.execute(
        "SELECT r.rolname, t.tenant_id, t.kind, t.created_at FROM tenant_readers t "
        "JOIN pg_roles r ON r.oid = t.role_oid WHERE %s::text IS NULL OR t.tenant_id = %s "
        "ORDER BY t.created_at, r.rolname", (tenant_id, tenant_id)).fetchall()
    return [TenantLogin(*r) for r in rows]


def login_url(base_url: str, role: str, password: str) -> str:
    """`base_url` (the owner's connection string) as a `postgresql://` URL for `role`.

    The owner's password or password file is not carried over."""
    params = {k: v for k, v in conninfo_to_dict(base_url).items()
              if k not in ("user", "password", "passfile") and v is not None}
    host = str(params.pop("host", ""))
    port = params.pop("port", None)
    dbname = str(params.pop("dbname", ""))
    netloc = f"{quote(role, safe='')}:{quote(password, safe='')}@"
    if host and not host.startswith("/") and "," not in host:
        netloc += f"[{host}]" if ":" in host else host
        if port:
            netloc += f":{port}"
    else:
        if host:
            params["host"] = host
        if port:
            params["port"] = port
    query = urlencode({k: str(v) for k, v in params.items()}, safe="/", quote_via=quote)
    return f"postgresql://{netloc}/{quote(dbname, safe='')}" + (f"?{query}" if query else "")
