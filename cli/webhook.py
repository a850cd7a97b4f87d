"""`auterity webhook serve|token`: the HTTP ingest dealership systems post their facts to
(connectors/webhook_ingest.py) and the tenant tokens it accepts."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from runtime.settings import Settings


def cmd_webhook_serve(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.webhook_ingest import serving

    with serving(settings, args.host, args.port) as server:
        host, port = server.server_address[:2]
        print(f"webhook ingest on http://{host!s}:{port}/v1/facts (dealership.events, "
              f"customers.raw); Ctrl-C stops it", flush=True)
        threading.Event().wait()  # until interrupted (main() turns Ctrl-C into exit 130)
    return 0


def cmd_webhook_token(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.webhook_ingest import REALM
    from runtime.tokens import tenant_token

    print(tenant_token(settings.resolved_webhook_key(), args.tenant, REALM))
    return 0


def add_webhook_commands(sub: Any) -> None:
    p = sub.add_parser("webhook", help="the HTTP ingest for dealership systems' facts",
                       description="Dealership systems (DMS, CRM, phone system) POST facts "
                                   "(service appointments, leads, missed calls, repair "
                                   "orders, ...) as JSON to /v1/facts with a tenant token; "
                                   "they are validated and produced as Avro to "
                                   "dealership.events (contact details to customers.raw).")
    wh = p.add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    s = wh.add_parser("serve", help="serve the ingest until stopped",
                      description="Serve POST /v1/facts on AUTERITY_WEBHOOK_HOST:"
                                  "AUTERITY_WEBHOOK_PORT (default 127.0.0.1:8130).")
    s.add_argument("--host", default=None, help="address to listen on")
    s.add_argument("--port", type=int, default=None, help="port to listen on")
    s.set_defaults(fn=cmd_webhook_serve)
    s = wh.add_parser("token", help="print a dealership's token for the ingest",
                      description="A bearer token that posts facts for TENANT only (an HMAC "
                                  "of <home>/secrets/webhook.key or AUTERITY_WEBHOOK_KEY; "
                                  "replacing the key revokes every token).")
    s.add_argument("tenant", help="the tenant (dealership) id")
    s.set_defaults(fn=cmd_webhook_token)
