"""A real uvicorn server on 127.0.0.1 (in a thread of the test process) over a private copy of the built index.

    with running(create_app(settings)) as base_url:
        httpx2.get(f"{base_url}/api/search", params={"q": "5G基站"})

Servers are module-scoped where the tests only read: starting one costs the index and model load.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from rag.api import create_app
from rag.config import Settings
from tests.conftest import BuiltIndex
from tests.fake_llm import FakeLLM

START_TIMEOUT_S = 60


@contextmanager
def running(app: FastAPI) -> Iterator[str]:
    """Serve `app` until the block ends; yields its base URL. Open connections must be closed by then."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start; see the log above")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()  # uvicorn closes it too; closing twice is harmless
        assert not thread.is_alive(), "the test server did not stop"


def copy_index(built_index: BuiltIndex, root: Path) -> Settings:
    """A private copy of the built corpus and index under `root`, and settings for it (no LLM)."""
    shutil.copytree(built_index.root / "corpus", root / "corpus")
    shutil.copytree(built_index.root / "indexes", root / "indexes", symlinks=True)
    return Settings(corpus_dir=root / "corpus", index_root=root / "indexes")


def with_llm(settings: Settings, fake: FakeLLM) -> Settings:
    """`settings` whose LLM is the fake server: no retries and a short timeout, so failures are quick."""
    values = {
        "llm_base_url": fake.base_url,
        "llm_model": "fake-model",
        "llm_api_key": SecretStr("sk-test"),
        "llm_retries": 0,
        "llm_timeout_s": 2,
    }
    return settings.model_copy(update=values)


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory, built_index: BuiltIndex) -> Settings:
    return copy_index(built_index, tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def base_url(module_settings: Settings) -> Iterator[str]:
    """The service without an LLM: answers are extractive."""
    with running(create_app(module_settings)) as url:
        yield url


@pytest.fixture(scope="module")
def llm_base_url(module_settings: Settings, module_fake_llm: FakeLLM) -> Iterator[str]:
    """The service with the fake LLM."""
    with running(create_app(with_llm(module_settings, module_fake_llm))) as url:
        yield url


@dataclass(frozen=True)
class Event:
    event: str | None
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


def parse_sse(lines: Iterable[str]) -> Iterator[Event]:
    """Server-Sent Events from a response's lines (https://html.spec.whatwg.org/#event-stream-interpretation)."""
    event: str | None = None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield Event(event, "\n".join(data))
            event, data = None, []
        elif line.startswith("event:"):
            event = line.removeprefix("event:").strip()
        elif line.startswith("data:"):
            data.append(line.removeprefix("data:").removeprefix(" "))
    if data:
        yield Event(event, "\n".join(data))
