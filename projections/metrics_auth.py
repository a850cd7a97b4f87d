"""Who is asking the metrics endpoint: bearer tokens made with the endpoint's HMAC key.

- the operator token (`operator_token`) reads every table, read-only: status, the demo,
  tests, and any process that can read `<home>/secrets/` (where the key lives);
- a tenant token (`tenant_token`) reads only that tenant's rows. The tenant is inside the
  token and the MAC covers it, so a reader cannot choose another tenant: it has only the
  tokens it was handed. Mint one with `auterity metrics-token TENANT`.

Tokens are `op.<mac>` and `tenant.<base64url(tenant id)>.<mac>`, with
`mac = HMAC-SHA256(key, purpose)` in hex. Changing the key revokes every token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

TENANT_PURPOSE = b"tenant\0"


class InvalidToken(ValueError):
    """No token, or one this endpoint's key did not make."""


def _mac(key: bytes, purpose: bytes) -> str:
    return hmac.new(key, b"auterity-metrics\0" + purpose, hashlib.sha256).hexdigest()


def operator_token(key: bytes) -> str:
    return "op." + _mac(key, b"operator")


def tenant_token(key: bytes, tenant: str) -> str:
    if not tenant:
        raise ValueError("a tenant token needs a tenant id")
    name = base64.urlsafe_b64encode(tenant.encode()).decode().rstrip("=")
    return f"tenant.{name}.{_mac(key, TENANT_PURPOSE + tenant.encode())}"


def tenant_of(key: bytes, token: str) -> str | None:
    """The tenant `token` reads as, None for the operator; InvalidToken if the key did not
    make it. Compared in constant time."""
    kind, _, rest = token.partition(".")
    if kind == "op" and hmac.compare_digest(token, operator_token(key)):
        return None
    if kind == "tenant":
        name, _, _mac_hex = rest.partition(".")
        try:
            tenant = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidToken("malformed tenant token") from None
        if tenant and hmac.compare_digest(token, tenant_token(key, tenant)):
            return tenant
    raise InvalidToken("invalid token")
