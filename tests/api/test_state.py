"""The index while the service runs: `rag ingest` swaps in a new build without a failed request, a request
finishes on the build it started with, and a service started without an index says so until one appears."""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx2
import numpy as np
import pytest

from rag.api import create_app
from rag.api.state import AppState, CoreShare, embedding_slots
from rag.config import Settings
from rag.embedding import Embedder, Kind
from rag.errors import IndexNotFoundError
from rag.pipeline import ingest
from rag.store import open_reader
from tests.api.conftest import parse_sse, running, with_llm
from tests.conftest import BuiltIndex
from tests.fake_llm import FakeLLM

QUESTION = "去年湖州规上工业增加值是多少？"
NEW_FILE = "999_hot_swap.txt"
NEW_TEXT = "湖州市安吉县白茶博物馆今年接待游客12345人次。\n"
NEW_QUESTION = "白茶博物馆今年接待游客多少人次？"
FOLLOW_UP = "那目前已完成多少公里呢？"
HISTORY = [
    {"role": "user", "content": "今年湖州计划新增绿道多少公里？"},
    {"role": "assistant", "content": "44公里[1]。"},
]
STANDALONE = "今年湖州计划新增的绿道目前已完成多少公里？"


def add_article(settings: Settings) -> None:
    (settings.corpus_dir / NEW_FILE).write_text(NEW_TEXT, encoding="utf-8")


@pytest.fixture
def state(settings: Settings) -> Iterator[AppState]:
    state = AppState.load(settings)
    yield state
    state.close()


@pytest.mark.file_store
def test_a_lease_keeps_its_build_working_after_ingest_swaps_and_deletes_it(state: AppState, settings: Settings) -> None:
    old = state.acquire()
    chunks = old.index.chunk_count()
    add_article(settings)

    ingest(settings)

    new = state.acquire()
    assert new is not old
    assert new.index.chunk_count() == chunks + 1
    assert not Path(old.path).exists(), "ingest deleted the build it replaced"
    # SQLite reads through its open file, and the vectors were loaded when the build was opened.
    found = old.answerer.retrieve(QUESTION, 3)
    assert found.passages and old.index.article(found.passages[0].article_id)
    assert old.index.chunk_count() == chunks

    state.release(old)

    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        old.index.chunk_count()  # closed with its last lease
    assert new.index.chunk_count() == chunks + 1
    state.release(new)


@pytest.mark.file_store
def test_a_build_without_leases_is_closed_when_replaced(state: AppState, settings: Settings) -> None:
    old = state.acquire()
    state.release(old)

    ingest(settings, rebuild=True)
    new = state.acquire()
    state.release(new)

    assert new is not old
    with pytest.raises(sqlite3.ProgrammingError):
        old.index.chunk_count()


def test_state_without_an_index_says_what_to_run_and_picks_one_up(tmp_path: Path, built_index: BuiltIndex) -> None:
    settings = Settings(corpus_dir=tmp_path / "corpus", index_root=tmp_path / "indexes")
    state = AppState.load(settings)
    try:
        with pytest.raises(IndexNotFoundError, match="rag ingest"):
            state.acquire()
        assert state.not_ready_reason and "rag ingest" in state.not_ready_reason

        shutil.copytree(built_index.root / "indexes", settings.index_root, symlinks=True)

        build = state.acquire()
        assert build.index.chunk_count() > 0
        assert state.not_ready_reason is None
        state.release(build)
    finally:
        state.close()


def test_ingest_while_serving_fails_no_request_and_serves_the_new_build(settings: Settings) -> None:
    failures: list[str] = []
    served = 0
    stop = threading.Event()

    def ask_in_a_loop(base_url: str) -> None:
        nonlocal served
        with httpx2.Client(base_url=base_url, timeout=60) as client:
            while not stop.is_set():
                try:
                    search = client.get("/api/search", params={"q": QUESTION, "k": 3})
                    answer = client.post("/api/ask", json={"question": QUESTION, "k": 3})
                    with client.stream("POST", "/api/ask", json={"question": QUESTION, "stream": True}) as stream:
                        events = [e.event for e in parse_sse(stream.iter_lines())]
                except httpx2.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                for response in (search, answer):
                    if response.status_code != 200:
                        failures.append(f"{response.request.url}: {response.status_code} {response.text}")
                if events[-1:] != ["done"]:
                    failures.append(f"stream ended {events[-1:]}")
                served += 3

    # No rate limit: the two clients ask as fast as they can for as long as the builds take.
    with running(create_app(settings.model_copy(update={"rate_limit_per_minute": 0}))) as base_url:
        threads = [threading.Thread(target=ask_in_a_loop, args=(base_url,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            for step in range(3):
                stop.wait(0.3)
                if step == 1:
                    add_article(settings)
                ingest(settings, rebuild=step != 1)
            stop.wait(0.3)
        finally:
            stop.set()
            for thread in threads:
                thread.join()

        assert failures == []
        assert served >= 6
        ready = httpx2.get(f"{base_url}/readyz").json()
        found = httpx2.get(f"{base_url}/api/search", params={"q": NEW_QUESTION, "k": 1}).json()

    assert {key: ready[key] for key in ("ready", "reason", "articles")} == {
        "ready": True,
        "reason": None,
        "articles": 41,
    }
    assert ready["build"] == open_reader(settings).build_id  # the build the last ingest made
    assert found["passages"][0]["source_file"] == NEW_FILE


@pytest.mark.file_store
def test_a_request_begun_before_a_swap_finishes_on_its_own_build(settings: Settings, fake_llm: FakeLLM) -> None:
    swapped = threading.Event()

    def condense_slowly(messages: list[dict[str, str]]) -> str:
        if "完整问题：" in messages[-1]["content"]:  # the follow-up is condensed first, retrieval comes after
            swapped.wait(10)
            return STANDALONE
        return "目前已完成31公里[1]。"

    fake_llm.reply = condense_slowly
    responses: list[httpx2.Response] = []
    with running(create_app(with_llm(settings, fake_llm))) as base_url:
        body = {"question": FOLLOW_UP, "history": HISTORY}
        asking = threading.Thread(target=lambda: responses.append(httpx2.post(f"{base_url}/api/ask", json=body)))
        asking.start()
        while not fake_llm.chat_requests:  # the request holds its lease and waits for the LLM
            time.sleep(0.01)
        old_build = settings.index_dir.resolve()
        add_article(settings)
        ingest(settings)
        ready = httpx2.get(f"{base_url}/readyz").json()  # this request opens the new build
        swapped.set()
        asking.join()

    assert ready["articles"] == 41
    assert not old_build.exists()
    assert responses[0].status_code == 200, responses[0].text
    answer = responses[0].json()
    assert answer["standalone_question"] == STANDALONE
    assert answer["citations"] and answer["citations"][0]["source_file"] != NEW_FILE


def test_service_without_an_index_answers_503_and_starts_serving_when_one_appears(
    tmp_path: Path, built_index: BuiltIndex
) -> None:
    settings = Settings(corpus_dir=tmp_path / "corpus", index_root=tmp_path / "indexes")
    chat = {"model": "huzhou-rag", "messages": [{"role": "user", "content": QUESTION}]}

    with running(create_app(settings)) as base_url, httpx2.Client(base_url=base_url, timeout=60) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        ask = client.post("/api/ask", json={"question": QUESTION})
        search = client.get("/api/search", params={"q": QUESTION})
        completion = client.post("/v1/chat/completions", json=chat)
        models = client.get("/v1/models")

        shutil.copytree(built_index.root / "indexes", settings.index_root, symlinks=True)

        ready_later = client.get("/readyz")
        search_later = client.get("/api/search", params={"q": QUESTION})

    assert ready.status_code == 503
    assert "rag ingest" in ready.json()["reason"]
    for response in (ask, search):
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "index_not_ready"
        assert "rag ingest" in response.json()["error"]["message"]
    assert completion.status_code == 503
    assert completion.json()["error"]["type"] == "server_error"
    assert "rag ingest" in completion.json()["error"]["message"]
    assert models.status_code == 200
    assert ready_later.status_code == 200
    assert search_later.status_code == 200


@pytest.mark.parametrize(
    ("cores", "openmp_threads", "slots"),
    [(2, "", 1), (2, "2", 1), (2, "1", 2), (16, "4", 4), (8, "4,2", 2), (4, "many", 1), (1, "8", 1)],
)
def test_embedding_calls_at_once_are_the_cores_over_each_calls_threads(
    cores: int, openmp_threads: str, slots: int
) -> None:
    assert embedding_slots(cores, openmp_threads) == slots


class _Overlap(Embedder):
    """Counts how many of its calls overlap; each call holds its turn for a moment."""

    model_id, dim = "overlap", 2

    def __init__(self) -> None:
        self.running = self.most = 0
        self._count = threading.Lock()

    def embed_batch(self, texts: Sequence[str], kind: Kind) -> np.ndarray:
        with self._count:
            self.running += 1
            self.most = max(self.most, self.running)
        time.sleep(0.05)
        with self._count:
            self.running -= 1
        return np.ones((len(texts), self.dim), dtype=np.float32)


@pytest.mark.parametrize("slots", [1, 2])
def test_core_share_runs_no_more_calls_at_once_than_its_slots(slots: int) -> None:
    inner = _Overlap()
    shared = CoreShare(inner, slots)
    threads = [threading.Thread(target=shared.embed_query, args=("5G基站",)) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inner.most == slots
