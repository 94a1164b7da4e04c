"""How many OpenMP threads each embedding call gets: every core for a call that runs alone, one per call under load.

    budget = CoreBudget(cores=2)
    with budget.lease() as threads:     # 2 when no other call runs or waits, else 1
        vectors = embedder.embed_batch_threads(texts, "query", threads)

A query's embedding is one matrix product after another, and with the machine otherwise idle it finishes sooner on
every core (about 25 ms on two cores against 38 ms on one, here). Under load the same cores do more work as one
call per core: threads of one call wait for each other at every product, and that waiting is lost. Threads of all
calls together never outnumber the cores: OpenMP threads wait by spinning, and calls whose threads share a core run
many times slower. So a call waits while all cores are taken, and takes all of them only when it is alone, neither
running beside nor queued behind another call.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity), which a container can set below the machine's."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class CoreBudget:
    """Thread-safe: hands out threads to calls so that the calls in flight together hold at most `cores`."""

    def __init__(self, cores: int) -> None:
        if cores < 1:
            raise ValueError(f"a core budget needs at least one core, not {cores}")
        self.cores = cores
        self._held = 0  # threads the calls in flight hold
        self._running = 0
        self._waiting = 0
        self._changed = threading.Condition()

    @contextmanager
    def lease(self) -> Iterator[int]:
        """Wait for a free core; yield the threads this call may use (all cores when it is alone, else one)."""
        with self._changed:
            self._waiting += 1
            while self._held >= self.cores:
                self._changed.wait()
            self._waiting -= 1
            threads = self.cores if self._held == 0 and self._waiting == 0 else 1
            self._held += threads
            self._running += 1
        try:
            yield threads
        finally:
            with self._changed:
                self._held -= threads
                self._running -= 1
                self._changed.notify(threads)  # Condition wakes its waiters first come, first served

    @property
    def held(self) -> int:
        """Threads the calls in flight hold now."""
        with self._changed:
            return self._held

    @property
    def waiting(self) -> int:
        """Calls waiting for a core now."""
        with self._changed:
            return self._waiting
