"""The one process pool every CPU-bound step runs its jobs in (presidio, Tesseract, Whisper).

A spawn-context `ProcessPoolExecutor` sized to the cores, so the Faust event loop only awaits
futures and heartbeats and rebalances go on while a job runs.

Invariants:
- a job that outlives `timeout_s` fails with StepRejected(`timeout`), and one that kills its
  worker twice fails with StepRejected(`worker_crashed`); either way the pool is replaced, so
  one bad input cannot wedge the step. A job that was merely in flight when another job broke
  the pool is retried once on the new pool, ALONE (no other job runs while a retry does), so
  a poison input breaks only its own retry and never costs its neighbour a dead letter;
- `shutdown` kills the workers at once: a stopping worker process does not wait on a job.
  A job in flight (or asked for) after it is cancelled, never failed: its record is not
  dead-lettered and, unacknowledged, is redelivered to whoever takes the partition;
- pool workers die with the process that started them, even on `kill -9` of the parent: each
  worker asks the kernel for SIGKILL when its parent dies (Linux `PR_SET_PDEATHSIG`) and a
  watchdog thread exits it if the parent is gone anyway (non-Linux, or the parent died before
  the request took effect). multiprocessing's resource tracker then sees its last writer
  close and exits too.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from streams.pool_child import init_child
from streams.step_loop import StepRejected

log = logging.getLogger("auterity.pool")
class StepPool:
    """A spawn process pool for one step's jobs (module-level functions of picklable args)."""

    def __init__(self, name: str, workers: int, timeout_s: float,
                 initializer: Callable[..., object] | None = None,
                 initargs: Sequence[Any] = (), timeout_setting: str = "") -> None:
        self.name = name
        self.timeout_setting = timeout_setting
        self.workers = workers
        self.timeout_s = timeout_s
        self._init = initializer
        self._initargs = tuple(initargs)
        self._pool = self._new()
        self._running = 0
        self._exclusive = False
        self._turns = asyncio.Condition()
        self._closed = False

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=init_child, initargs=(os.getpid(), self._init, self._initargs))

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if broken is not self._pool:
            return  # a concurrent job already replaced it
        self._pool = self._new()
        for proc in list((getattr(broken, "_processes", None) or {}).values()):
            proc.kill()  # a hung tesseract/whisper worker would otherwise linger
        broken.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        """The pids of the pool's live worker processes (for status and tests)."""
        return [p.pid for p in (getattr(self._pool, "_processes", None) or {}).values()
                if p.pid is not None]

    async def _enter(self, alone: bool) -> None:
        async with self._turns:
            await self._turns.wait_for(lambda: not self._exclusive)
            if alone:
                self._exclusive = True
                await self._turns.wait_for(lambda: self._running == 0)
            self._running += 1

    async def _leave(self, alone: bool) -> None:
        async with self._turns:
            self._running -= 1
            if alone:
                self._exclusive = False
            self._turns.notify_all()

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run `fn(*args)` in a worker; StepRejected on timeout or a repeated crash."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            if self._closed:
                raise asyncio.CancelledError(f"{self.name} pool is shut down")
            alone = attempt == 2  # a retry after a broken pool runs by itself
            await self._enter(alone)
            pool = self._pool
            try:
                return await asyncio.wait_for(loop.run_in_executor(pool, fn, *args),
                                              self.timeout_s)
            except TimeoutError:
                self._replace(pool)
                limit = f"{self.timeout_s:.0f}s {self.timeout_setting}".rstrip()
                raise StepRejected("timeout",
                                   f"{fn.__name__} took longer than {limit}") from None
            except BrokenProcessPool as exc:
                if self._closed:
                    raise asyncio.CancelledError(f"{self.name} pool is shut down") from exc
                self._replace(pool)
                if attempt == 2:
                    raise StepRejected("worker_crashed", f"{fn.__name__}: the worker process "
                                       f"died twice on this input ({exc})") from None
                log.warning("%s: the pool broke under %s; retrying once, alone", self.name,
                            fn.__name__)
            finally:
                await self._leave(alone)
        raise AssertionError("unreachable")

    async def warm_up(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn` once per worker (loads the models before the first record arrives)."""
        await asyncio.gather(*(self.run(fn, *args) for _ in range(self.workers)))

    def shutdown(self) -> None:
        """Stop now: cancel queued jobs and kill the workers (a job in flight is abandoned;
        its record was not acknowledged, so it is redelivered)."""
        self._closed = True
        pool = self._pool
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.kill()
        pool.shutdown(wait=False, cancel_futures=True)


def shut_down_with(app: Any, pool: StepPool) -> None:
    """Shut `pool` down when the Faust `app` stops (before its producer is flushed)."""

    @app.on_before_shutdown.connect
    async def _stop_pool(sender: Any, **kwargs: Any) -> None:
        log.info("%s pool: shutting down", pool.name)
        pool.shutdown()
