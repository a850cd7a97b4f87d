"""Password authentication on the embedded Postgres: no login without its password.

pgserver initialises its data directory with `trust` authentication: anyone who reaches the
socket could log in as any role, the owner included, and tenant isolation by login role would
mean nothing. At every start of the embedded server this module
- gives the owner (`postgres`) a random password, kept in a libpq password file in the
  secrets directory (Settings.pg_owner_passfile, `<home>/secrets/`, 0700; the file 0600,
  created once) that every component's connection string names;
- rewrites pg_hba.conf to SCRAM for every role and connection type (no replication) and
  reloads it;
- checks that a login without the password is refused.
If the password file is lost or replaced, the OS account that runs the stack (which owns the
data directory anyway) logs in once by peer authentication and sets the password again.

An external Postgres (DATABASE_URL) is left alone: its pg_hba.conf must require passwords
(the pgvector image in compose/docker-compose.yml does for TCP).
"""

from __future__ import annotations

import os
import pwd
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from runtime.postgres import scalar
from runtime.settings import Settings

OWNER = "postgres"
IDENT_MAP = "auterity_owner"  # only used while the owner's password is set again
HBA = """\
# Written by auterity (compose/postgres_auth.py) at every start of the embedded server:
# every login needs its password (SCRAM). The owner's is in <home>/secrets/
# postgres-owner.pgpass; a tenant reader gets its own from `auterity tenants add-reader`.
local   all   all                  scram-sha-256
host    all   all   127.0.0.1/32   scram-sha-256
host    all   all   ::1/128        scram-sha-256
"""


def owner_password(passfile: Path) -> str:
    """The owner's password from `passfile`, made (random, mode 0600) if there is none."""
    passfile.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if passfile.parent.stat().st_mode & 0o777 != 0o700:
        passfile.parent.chmod(0o700)
    if not passfile.exists():
        tmp = passfile.with_suffix(f".{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"*:*:*:{OWNER}:{secrets.token_urlsafe(32)}\n")
        try:
            os.link(tmp, passfile)  # atomic: the first writer wins, the others read its file
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    line = passfile.read_text().strip().splitlines()[0]
    return line.split(":", 4)[4]


def _write_conf(path: Path, text: str) -> bool:
    """Write `text` to the server's file `path` (keeping its owner and mode); False if it was
    already there."""
    if path.exists() and path.read_text() == text:
        return False
    st = path.stat()
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text)
    os.chmod(tmp, st.st_mode & 0o777)
    if os.geteuid() == 0:
        os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, path)
    return True


def _reload(settings: Settings) -> None:
    """SIGHUP the embedded postmaster: it rereads pg_hba.conf and pg_ident.conf."""
    pid = int((settings.pg_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    os.kill(pid, signal.SIGHUP)


def _connect_as_owner(settings: Settings, timeout: float) -> psycopg.Connection[Any]:
    """A connection as the owner: with its password file or, when that file was lost or
    replaced, once by peer authentication of the OS account that runs the stack (which owns
    the data directory anyway), so that the password can be set again."""
    try:
        return psycopg.connect(settings.resolved_database_url(), autocommit=True,
                               connect_timeout=5)
    except psycopg.OperationalError as exc:
        if "password" not in str(exc):
            raise
    account = pwd.getpwuid(os.geteuid()).pw_name
    _write_conf(settings.pg_dir / "pg_ident.conf", f"{IDENT_MAP}   {account}   {OWNER}\n")
    _write_conf(settings.pg_dir / "pg_hba.conf",
                f"local   all   {OWNER}   peer map={IDENT_MAP}\n" + HBA)
    _reload(settings)
    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg.connect(f"postgresql://{OWNER}@/postgres?host={settings.pg_dir}"
                                   "&passfile=/nonexistent/auterity-no-password",
                                   autocommit=True, connect_timeout=5)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _refused_without_password(settings: Settings) -> bool:
    try:
        psycopg.connect(f"postgresql://{OWNER}@/postgres?host={settings.pg_dir}"
                        "&passfile=/nonexistent/auterity-no-password", connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return "password" in str(exc)
    return False


def require_passwords(settings: Settings, timeout: float = 10.0) -> None:
    """Make the running embedded server ask every login for its password (idempotent)."""
    if settings.database_url:
        return
    password = owner_password(settings.pg_owner_passfile)
    with _connect_as_owner(settings, timeout) as conn:
        verifier = conn.pgconn.encrypt_password(password.encode(), OWNER.encode(),
                                                b"scram-sha-256")
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(
            sql.Identifier(OWNER), sql.Literal(verifier.decode())))
        if _write_conf(Path(scalar(conn, "SHOW hba_file")), HBA):
            conn.execute("SELECT pg_reload_conf()")
        errors = conn.execute("SELECT line_number, error FROM pg_hba_file_rules "
                              "WHERE error IS NOT NULL").fetchall()
    if errors:
        raise RuntimeError(f"the embedded Postgres rejected its pg_hba.conf: {errors}")
    deadline = time.monotonic() + timeout
    while not _refused_without_password(settings):  # the reload is asynchronous
        if time.monotonic() > deadline:
            raise RuntimeError("the embedded Postgres still accepts logins without a password")
        time.sleep(0.1)
