"""The reader login's connection string: the owner's credentials never carry over."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

from compose.postgres_auth import owner_password
from projections.tenant_readers import login_url


def test_a_socket_url_keeps_the_socket_and_drops_the_owners_password_file():
    url = login_url("postgresql://postgres@/postgres?host=/srv/a%20b/pg"
                    "&passfile=/srv/owner.pgpass", "auterity_reader_ab12", "p@ss:w/rd?&")
    params = conninfo_to_dict(url)
    assert params == {"user": "auterity_reader_ab12", "password": "p@ss:w/rd?&",
                      "dbname": "postgres", "host": "/srv/a b/pg"}


def test_a_tcp_url_keeps_host_port_and_options_but_not_the_owner():
    url = login_url("postgresql://postgres:secret@db.example:6543/auterity?sslmode=require",
                    "auterity_pii_reader_cd34", "pw")
    assert url == "postgresql://auterity_pii_reader_cd34:pw@db.example:6543/auterity?sslmode=require"
    assert "secret" not in url


def test_the_owner_password_is_made_once_owner_only(tmp_path):
    path = tmp_path / "postgres-owner.pgpass"
    first = owner_password(path)
    assert len(first) >= 32 and owner_password(path) == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.read_text() == f"*:*:*:postgres:{first}\n"
