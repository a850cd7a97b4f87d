"""Who is asking the metrics endpoint: bearer tokens made with the endpoint's HMAC key
(runtime/tokens.py, realm `metrics`).

- the operator token (`operator_token`) reads every table, read-only: status, the demo,
  tests, and any process that can read `<home>/secrets/` (where the key lives);
- a tenant token (`tenant_token`) reads only that tenant's rows. The tenant is inside the
  token and the MAC covers it, so a reader cannot choose another tenant: it has only the
  tokens it was handed. Mint one with `auterity metrics-token TENANT`.

Changing the key revokes every token.
"""

from __future__ import annotations

from runtime.tokens import InvalidToken, operator_token, tenant_of, tenant_token

__all__ = ["InvalidToken", "operator_token", "tenant_of", "tenant_token"]
