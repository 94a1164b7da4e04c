"""Replicas: two `rag serve` processes read one Milvus (a Milvus Lite server process on 127.0.0.1, which speaks
Milvus's gRPC protocol), one `rag ingest` writes while a second waits on the store's lock, and after the new
build is live both replicas' /readyz name it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from rag.config import Settings
from rag.errors import IndexLockedError
from rag.store.milvus import collection_prefix, connect
from rag.store.milvus_lock import WriterLock
from tests.conftest import BuiltIndex
from tests.test_cli import RAG

MILVUS_LITE = shutil.which("milvus-lite", path=str(Path(sys.executable).parent)) or "milvus-lite"
# Fixed ports, so a failure names them; engineers sharing one machine give each run its own.
MILVUS_PORT = int(os.environ.get("TEST_MILVUS_PORT", "19531"))
REPLICA_PORTS = tuple(int(p) for p in os.environ.get("TEST_REPLICA_PORTS", "8231,8232").split(","))


def _wait_for_port(port: int, process: subprocess.Popen[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the process on port {port} exited: {process.communicate()[1][-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


@pytest.fixture
def milvus_server(tmp_path: Path, built_milvus: BuiltIndex) -> Iterator[str]:
    data = tmp_path / "milvus-data"
    shutil.copytree(built_milvus.root / "indexes" / "milvus.db", data)
    yield from _served(data)


def _served(data: Path) -> Iterator[str]:
    """A `milvus-lite server` process over the folder `data`, on MILVUS_PORT, while the generator runs."""
    server = subprocess.Popen(
        [MILVUS_LITE, "server", "--data-dir", str(data), "--port", str(MILVUS_PORT)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        _wait_for_port(MILVUS_PORT, server)
        yield f"http://127.0.0.1:{MILVUS_PORT}"
    finally:
        _stop(server)


def _env(tmp_path: Path, uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_STORE="milvus", RAG_MILVUS_URI=uri, OMP_NUM_THREADS="1")
    env.update(RAG_CORPUS_DIR=str(tmp_path / "corpus"), RAG_INDEX_ROOT=str(tmp_path / "indexes"))
    return env


def _ready_build(port: int) -> str:
    body = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30).json()
    assert body["ready"], body
    return str(body["build"])


def test_two_replicas_share_one_milvus_and_follow_a_new_build(tmp_path, milvus_server, built_milvus):
    shutil.copytree(built_milvus.root / "corpus", tmp_path / "corpus")
    env = _env(tmp_path, milvus_server)
    replicas = [
        subprocess.Popen(
            [RAG, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port in REPLICA_PORTS
    ]
    try:
        for port, replica in zip(REPLICA_PORTS, replicas, strict=True):
            _wait_for_port(port, replica)
        first = {_ready_build(port) for port in REPLICA_PORTS}
        assert len(first) == 1

        digest = (tmp_path / "corpus" / "003_5f0dfba9933f395f.txt").read_text(encoding="utf-8")
        (tmp_path / "corpus" / "005_copy.txt").write_text(digest.replace("湖州", "湖州市"), encoding="utf-8")
        writer = subprocess.Popen(
            [RAG, "ingest"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        time.sleep(3)  # it holds the lock while it embeds the new file's chunks
        waiting = subprocess.run([RAG, "ingest"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert waiting.returncode == 2, waiting.stderr
        assert "another `rag ingest` is writing" in waiting.stderr
        _, err = writer.communicate(timeout=600)
        assert writer.returncode == 0, err

        deadline = time.monotonic() + 30
        while {_ready_build(port) for port in REPLICA_PORTS} == first and time.monotonic() < deadline:
            time.sleep(0.5)
        after = {_ready_build(port) for port in REPLICA_PORTS}
        assert len(after) == 1 and after != first
        found = httpx.get(f"http://127.0.0.1:{REPLICA_PORTS[1]}/api/search", params={"q": "5G基站", "k": 5}, timeout=60)
        assert any("773" in p["text"] for p in found.json()["passages"])
    finally:
        for replica in replicas:
            _stop(replica)


# --- writers racing for the lock ---------------------------------------------------------------------------------


@pytest.fixture
def bare_milvus_server(tmp_path: Path) -> Iterator[str]:
    """A Milvus Lite server process over an empty folder."""
    yield from _served(tmp_path / "bare-milvus")


def _race(locks: list[WriterLock]) -> list[WriterLock]:
    """Every lock tries at once, each in its thread; the winners hold theirs until every rival has tried."""
    start, tried = threading.Barrier(len(locks)), threading.Barrier(len(locks))
    won: list[WriterLock] = []

    def race(lock: WriterLock) -> None:
        start.wait()
        try:
            lock.acquire()
            won.append(lock)
        except IndexLockedError:
            pass
        tried.wait()

    threads = [threading.Thread(target=race, args=(lock,)) for lock in locks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return won


def test_writer_locks_racing_in_threads_let_exactly_one_in(tmp_path, bare_milvus_server):
    settings = Settings(index_root=tmp_path / "indexes", store="milvus", milvus_uri=bare_milvus_server)
    clients = [connect(settings, create=True) for _ in range(6)]
    try:
        for _ in range(3):
            won = _race([WriterLock(client, collection_prefix(settings), "the index") for client in clients])
            assert len(won) == 1
            won[0].release()
    finally:
        for client in clients:
            client.close()


RACING_WRITER = """
import sys, time
from rag.config import Settings
from rag.errors import IndexLockedError
from rag.store import store_writer

writer = store_writer(Settings(store="milvus", milvus_uri=sys.argv[1], index_root=sys.argv[2]))
while time.time() < float(sys.argv[3]):
    time.sleep(0.001)
try:
    writer.__enter__()
except IndexLockedError:
    print("locked", flush=True)
    sys.exit(0)
print("won", flush=True)
time.sleep(float(sys.argv[4]))  # held while the others try
writer.__exit__(RuntimeError, RuntimeError("discard"), None)
"""


def test_rag_writers_racing_in_processes_let_exactly_one_in(tmp_path, bare_milvus_server):
    racers = 4
    start_at = time.time() + 8  # every process has imported rag and pymilvus by then
    command = [sys.executable, "-c", RACING_WRITER, bare_milvus_server, str(tmp_path / "indexes"), str(start_at), "5"]
    processes = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(racers)
    ]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outcomes.append(out.strip())
    assert sorted(outcomes) == ["locked"] * (racers - 1) + ["won"]
