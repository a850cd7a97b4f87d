"""`auterity tenants ...`: the Postgres reader logins of each dealership.

`add-reader TENANT` creates a login that sees TENANT's rows only, whatever SQL it runs, and
prints its connection string once: the password is random, Postgres keeps only its SCRAM
verifier, and nothing here writes it down. `--pii` makes a login for `restricted_pii_fields`
(the raw values media steps extracted) instead of the redacted state tables. `rotate`
replaces a login's password, `remove` drops the login, `list` shows them all (never a
password). The work is in projections/tenant_readers.py; this runs as the database owner.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from runtime.settings import Settings


def _owner(settings: Settings) -> Any:
    import psycopg

    return psycopg.connect(settings.resolved_database_url(), autocommit=True)


def _print_login(login: Any, settings: Settings, as_json: bool) -> None:
    from projections.tenant_readers import login_url

    url = login_url(settings.resolved_database_url(), login.role, login.password)
    if as_json:
        print(json.dumps({"role": login.role, "tenant_id": login.tenant_id,
                          "kind": login.kind, "url": url}))
        return
    print(f"tenant {login.tenant_id}: {login.kind} login {login.role}")
    print(url)
    print("The password is shown only now; `auterity tenants rotate ROLE` makes a new one.")


def cmd_tenants(args: argparse.Namespace, settings: Settings) -> int:
    from projections import tenant_readers

    with _owner(settings) as conn:
        if args.action == "add-reader":
            kind: tenant_readers.Kind = "pii_reader" if args.pii else "reader"
            _print_login(tenant_readers.add_reader(conn, args.target, kind), settings,
                         args.json)
        elif args.action == "rotate":
            _print_login(tenant_readers.rotate_password(conn, args.target), settings,
                         args.json)
        elif args.action == "remove":
            gone = tenant_readers.remove_reader(conn, args.target)
            print(f"removed {gone.kind} login {gone.role} of tenant {gone.tenant_id}")
        else:
            for login in tenant_readers.list_readers(conn, args.target):
                row = {"role": login.role, "tenant_id": login.tenant_id, "kind": login.kind,
                       "created_at": login.created_at.isoformat() if login.created_at else None}
                print(json.dumps(row) if args.json else
                      f"{row['role']:<34} {row['kind']:<10} {row['tenant_id']:<24} "
                      f"{row['created_at']}")
    return 0


def add_tenant_commands(sub: Any) -> None:
    s = sub.add_parser(
        "tenants", help="Postgres reader logins per dealership (row-level security)",
        description="A reader login sees one tenant's rows and nothing else, whatever SQL it "
                    "runs: the login decides the tenant. add-reader TENANT prints a new "
                    "login's connection string (the password is shown once); rotate ROLE "
                    "gives it a new password; remove ROLE drops it; list [TENANT] shows the "
                    "logins.")
    s.add_argument("action", choices=["add-reader", "rotate", "remove", "list"])
    s.add_argument("target", nargs="?", help="TENANT (add-reader, list) or ROLE (rotate, remove)")
    s.add_argument("--pii", action="store_true",
                   help="add-reader: a login for restricted_pii_fields (raw PII) instead")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(fn=_checked)


def _checked(args: argparse.Namespace, settings: Settings) -> int:
    if args.action != "list" and not args.target:
        what = "TENANT" if args.action == "add-reader" else "ROLE"
        raise ValueError(f"{args.action} needs {what}")
    if args.pii and args.action != "add-reader":
        raise ValueError("--pii goes with add-reader")
    return cmd_tenants(args, settings)
