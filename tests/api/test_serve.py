"""`rag serve --workers N`: uvicorn worker processes, each building the app from the environment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from rag.api.server import APP_FACTORY, _NoDelayConfig

START_TIMEOUT_S = 90


def test_serve_with_workers_starts_each_from_the_environment(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["RAG_INDEX_ROOT"] = str(tmp_path / "indexes")
    command = [str(Path(sys.executable).with_name("rag")), "serve", "--port", str(port), "--workers", "2"]
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT)
    try:
        ready = _wait_for(f"http://127.0.0.1:{port}/readyz", process)
        assert ready.status_code == 503, "no index yet"
        assert "rag ingest" in ready.json()["reason"]
        deadline = time.monotonic() + START_TIMEOUT_S
        while log.read_text().count("Application startup complete") < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        workers_threads = {_environment(pid).get("OMP_NUM_THREADS") for pid in _children(process.pid)}
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)

    output_text = log.read_text()
    assert output_text.count("Started server process") == 2, output_text
    assert output_text.count("Application startup complete") == 2, output_text
    # One OpenMP thread per embedding call, not one per core: the requests run in parallel instead.
    assert "2 workers × 1 compute threads" in output_text
    assert workers_threads == {"1"}


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _environment(pid: int) -> dict[str, str]:
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if b"=" in entry)


def _wait_for(url: str, process: subprocess.Popen[bytes]) -> httpx2.Response:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "rag serve exited"
        try:
            return httpx2.get(url, timeout=5)
        except httpx2.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"rag serve did not answer {url} within {START_TIMEOUT_S} s")


def test_the_workers_listening_socket_is_tcp_so_accepted_connections_get_nodelay() -> None:
    # asyncio sets TCP_NODELAY on an accepted connection only when it reports IPPROTO_TCP (uvicorn issue #3149).
    config = _NoDelayConfig(APP_FACTORY, factory=True, workers=2, host="127.0.0.1", port=0)
    with config.bind_socket() as listener:
        assert listener.proto == socket.IPPROTO_TCP
        listener.listen()
        with socket.create_connection(listener.getsockname()), listener.accept()[0] as accepted:
            assert accepted.proto == socket.IPPROTO_TCP
