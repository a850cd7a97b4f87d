"""The local stack for one bench run: it stops exactly what it started.

`stack_session(settings)` brings Kafka and Postgres up (compose/stack.py) and checks they are
healthy. On leaving the block - normally, on an error or on Ctrl-C - it stops each service
that it started itself; a service that already ran before (a demo or test stack under the
same AUTERITY_HOME) or an external one (AUTERITY_KAFKA_BOOTSTRAP, DATABASE_URL) is left
running. "Started here" means the service's pid changed across the start: none before, or a
dead one, and a live one after.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from bench.table import log
from compose import stack
from runtime.readiness import ServiceHealth
from runtime.settings import Settings

_SERVICES: tuple[tuple[str, Callable[[Settings], int | None],
                       Callable[[Settings], ServiceHealth], Callable[[Settings], str]], ...] = (
    ("kafka", stack.kafka_pid, stack.start_kafka, stack.stop_kafka),
    ("postgres", stack.postgres_pid, stack.start_postgres, stack.stop_postgres),
)


@contextmanager
def stack_session(settings: Settings) -> Iterator[list[ServiceHealth]]:
    """Kafka and Postgres up and healthy inside the block; on exit, the ones started here stop."""
    settings.home.mkdir(parents=True, exist_ok=True)
    with ExitStack() as started:
        health: list[ServiceHealth] = []
        for name, pid_of, start, stop in _SERVICES:
            before = pid_of(settings)
            try:
                health.append(start(settings))
            finally:  # a start that fails half way may still leave a process behind
                after = pid_of(settings)
                if after is not None and after != before:
                    started.callback(_stop, stop, settings)
                elif after is not None:
                    log(f"{name} ran before this bench run: it is left running")
            if not health[-1].healthy:
                raise RuntimeError(f"{name} is not healthy: {health[-1].detail}")
        yield health


def _stop(stop: Callable[[Settings], str], settings: Settings) -> None:
    log(f"{stop(settings)} (started by this bench run)")
