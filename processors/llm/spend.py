"""Per-tenant spend of the current UTC day, the basis of budget decisions.

The ledger lives in the process that routes calls; `seed` loads what the tenant already spent
today (from ClickHouse `ai_model_usage`) when a worker starts, so a restart does not reset a
budget. Invariant: amounts are only ever added for the current day; a new day starts at 0.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime


def _today() -> date:
    return datetime.now(UTC).date()


class SpendLedger:
    def __init__(self, today: Callable[[], date] = _today) -> None:
        self._today = today
        self._spent: dict[str, tuple[date, float]] = {}
        self._lock = threading.Lock()

    def spent(self, tenant_id: str) -> float:
        with self._lock:
            day, usd = self._spent.get(tenant_id, (self._today(), 0.0))
            return usd if day == self._today() else 0.0

    def add(self, tenant_id: str, usd: float) -> None:
        if usd <= 0:
            return
        with self._lock:
            today = self._today()
            day, prev = self._spent.get(tenant_id, (today, 0.0))
            self._spent[tenant_id] = (today, (prev if day == today else 0.0) + usd)

    def seed(self, spent_today: dict[str, float]) -> None:
        for tenant, usd in spent_today.items():
            self.add(tenant, usd)
