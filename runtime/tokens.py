"""Bearer tokens made with an HTTP surface's HMAC key: who is asking, and for which tenant.

- the operator token (`operator_token`) is the deployment's own: every tenant;
- a tenant token (`tenant_token`) speaks for one tenant. The tenant is inside the token and
  the MAC covers it, so a holder cannot choose another tenant: it has only the tokens it
  was handed.

Tokens are `op.<mac>` and `tenant.<base64url(tenant id)>.<mac>`, with
`mac = HMAC-SHA256(key, "auterity-<realm>\\0" + purpose)` in hex: a token of one surface
(`realm`: the metrics endpoint, the webhook ingest) is no token of another, and changing a
surface's key revokes every token of it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

TENANT_PURPOSE = b"tenant\0"


class InvalidToken(ValueError):
    """No token, or one this surface's key did not make."""


def _mac(key: bytes, realm: str, purpose: bytes) -> str:
    return hmac.new(key, f"auterity-{realm}\0".encode() + purpose, hashlib.sha256).hexdigest()


def operator_token(key: bytes, realm: str = "metrics") -> str:
    return "op." + _mac(key, realm, b"operator")


def tenant_token(key: bytes, tenant: str, realm: str = "metrics") -> str:
    if not tenant:
        raise ValueError("a tenant token needs a tenant id")
    name = base64.urlsafe_b64encode(tenant.encode()).decode().rstrip("=")
    return f"tenant.{name}.{_mac(key, realm, TENANT_PURPOSE + tenant.encode())}"


def tenant_of(key: bytes, token: str, realm: str = "metrics") -> str | None:
    """The tenant `token` speaks for, None for the operator; InvalidToken if the key did
    not make it (for this realm). Compared in constant time."""
    kind, _, rest = token.partition(".")
    if kind == "op" and hmac.compare_digest(token, operator_token(key, realm)):
        return None
    if kind == "tenant":
        name, _, _mac_hex = rest.partition(".")
        try:
            tenant = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise InvalidToken("malformed tenant token") from None
        if tenant and hmac.compare_digest(token, tenant_token(key, tenant, realm)):
            return tenant
    raise InvalidToken("invalid token")
