"""Per-tenant spend of the current UTC day, the basis of budget decisions.

The ledger lives in the process that routes calls (one per process: the worker builds one
gateway and hands it to every AI step). `seed` loads what tenants had spent today before this
ledger existed (ClickHouse `ai_model_usage`, read by the caller: a processor knows no store)
so a restart does not reset a budget; `start_seeding` does that in the background and retries
until the store answers, logging while budgets are unseeded.

Invariants: amounts are only ever added for the current day; a new day starts at 0. The seeded
baseline and this process's own additions are kept apart, so seeding twice replaces the
baseline instead of doubling it, and a baseline covers only spend recorded BEFORE
`ledger.created_at` (this process's own calls are added as they happen), so nothing is
counted twice. Limitation: another process's spend after this one started is not seen.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol

log = logging.getLogger("auterity.llm.spend")


def _today() -> date:
    return datetime.now(UTC).date()


class SpendSource(Protocol):
    """Spend per tenant recorded on UTC day `day` before the instant `before` (USD)."""

    def __call__(self, day: date, before: datetime) -> dict[str, float]: ...


class SpendLedger:
    def __init__(self, today: Callable[[], date] = _today) -> None:
        self._today = today
        self._spent: dict[str, tuple[date, float]] = {}
        self._seeded: dict[str, tuple[date, float]] = {}
        self._lock = threading.Lock()
        self.created_at = datetime.now(UTC)
        self.seeded_at: datetime | None = None
        self.seed_error: str | None = None

    @staticmethod
    def _of_today(entry: tuple[date, float] | None, today: date) -> float:
        return entry[1] if entry is not None and entry[0] == today else 0.0

    def spent(self, tenant_id: str) -> float:
        with self._lock:
            today = self._today()
            return (self._of_today(self._seeded.get(tenant_id), today)
                    + self._of_today(self._spent.get(tenant_id), today))

    def totals(self) -> dict[str, float]:
        """Every tenant's spend today (seeded baseline + this process), tenants with none left
        out."""
        with self._lock:
            today = self._today()
            tenants = set(self._seeded) | set(self._spent)
            out = {t: self._of_today(self._seeded.get(t), today)
                   + self._of_today(self._spent.get(t), today) for t in sorted(tenants)}
        return {t: usd for t, usd in out.items() if usd > 0}

    def add(self, tenant_id: str, usd: float) -> None:
        if usd <= 0:
            return
        with self._lock:
            today = self._today()
            day, prev = self._spent.get(tenant_id, (today, 0.0))
            self._spent[tenant_id] = (today, (prev if day == today else 0.0) + usd)

    @property
    def seeded(self) -> bool:
        return self.seeded_at is not None

    def seed(self, spent_today: dict[str, float], day: date | None = None) -> None:
        """Set the baseline: what each tenant spent on `day` (default: today) before this
        ledger was created. A baseline for a day that is no longer today is ignored (the new
        day starts at 0); seeding again replaces the previous baseline."""
        with self._lock:
            today = self._today()
            day = day or today
            self._seeded = {t: (day, float(usd)) for t, usd in spent_today.items()
                            if usd > 0 and day == today}
            self.seeded_at = datetime.now(UTC)
            self.seed_error = None

    def seed_from(self, source: SpendSource) -> int:
        """Seed from `source` (spend of the creation day before `created_at`); the number of
        tenants seeded. Raises what `source` raises, after recording it in `seed_error`."""
        try:
            spent = source(self.created_at.date(), self.created_at)
        except Exception as exc:
            self.seed_error = f"{type(exc).__name__}: {str(exc)[:300]}"
            raise
        self.seed(spent, self.created_at.date())
        return len(spent)


def start_seeding(ledger: SpendLedger, source: SpendSource, *, retry_s: float = 5.0,
                  max_retry_s: float = 60.0, stop: threading.Event | None = None,
                  on_change: Callable[[], None] | None = None) -> threading.Thread:
    """Seed `ledger` from `source` on a daemon thread, retrying (with backoff up to
    `max_retry_s`) until it succeeds or `stop` is set. Every failure is logged as a warning
    saying budgets are unseeded; success is logged with the amounts. `on_change` is called
    after every attempt (e.g. to publish the gateway's state)."""
    stop = stop or threading.Event()

    def run() -> None:
        wait, attempt = retry_s, 0
        while not stop.is_set():
            attempt += 1
            try:
                n = ledger.seed_from(source)
            except Exception as exc:  # noqa: BLE001 - logged; the worker keeps running
                log.warning(
                    "LLM budgets NOT seeded (attempt %d): cannot read today's spend: %s; "
                    "until then budgets count only this process's spend since %s; "
                    "retrying in %.0fs", attempt, ledger.seed_error or exc,
                    ledger.created_at.isoformat(timespec="seconds"), wait)
                if on_change is not None:
                    on_change()  # the failure is state worth publishing too
                stop.wait(wait)
                wait = min(wait * 2, max_retry_s)
                continue
            totals = ledger.totals()
            log.info("LLM budgets seeded from recorded usage: %d tenant(s), $%.6f spent today",
                     n, sum(totals.values()))
            if on_change is not None:
                on_change()
            return

    thread = threading.Thread(target=run, name="llm-spend-seed", daemon=True)
    thread.start()
    return thread
