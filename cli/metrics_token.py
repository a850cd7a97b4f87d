"""`auterity metrics-token [TENANT]`: a bearer token for the chDB owner's metrics endpoint.

With TENANT the token reads only that dealership's rows of the metrics tables; without, it is
the operator's (every table, still read-only). Tokens are HMACs of the endpoint key in
`<home>/secrets/metrics-endpoint.key` (projections/metrics_auth.py): nothing is stored, and
replacing that key revokes every token.
"""

from __future__ import annotations

import argparse
from typing import Any

from runtime.settings import Settings


def cmd_metrics_token(args: argparse.Namespace, settings: Settings) -> int:
    from projections.metrics_auth import operator_token, tenant_token

    key = settings.resolved_metrics_endpoint_key()
    print(tenant_token(key, args.tenant) if args.tenant else operator_token(key))
    return 0


def add_metrics_token_command(sub: Any) -> None:
    s = sub.add_parser(
        "metrics-token", help="a token for the metrics query endpoint (one tenant's rows)",
        description="Print a bearer token for POST /query on the metrics endpoint "
                    "(127.0.0.1:$AUTERITY_METRICS_PORT). With TENANT it reads only that "
                    "tenant's rows; without, it is the operator's. Send it as "
                    "`Authorization: Bearer <token>`.")
    s.add_argument("tenant", nargs="?", help="the tenant id (default: the operator's token)")
    s.set_defaults(fn=cmd_metrics_token)
