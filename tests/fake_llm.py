"""A real OpenAI-compatible chat-completions server on 127.0.0.1, scripted per test.

It speaks the protocol the openai client expects (JSON completions, SSE streams, `GET /v1/models`), so tests
exercise the real HTTP client, its timeouts and its error handling instead of mocks:

    with FakeLLM() as server:                     # or the `fake_llm` fixture
        server.reply = "湖州市新建5G基站773个。"
        server.fail_status = 500                  # every behaviour is a plain attribute
        client = LLMClient(base_url=server.base_url, model="fake-model")
        assert server.requests[-1].body["model"] == "fake-model"

Every response closes its connection, so no handler thread lingers on keep-alive and `close()` returns at once.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

Reply = str | Callable[[list[dict[str, str]]], str]
Malformed = Literal["not_json", "no_choices"]

DEFAULT_REPLY = "湖州市2023年新建5G基站773个[1]。"


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: Any  # the parsed JSON body; None for a GET


class FakeLLM:
    """The server and its script. Change the attributes at any time; the next request follows them."""

    def __init__(self) -> None:
        self.reply: Reply = DEFAULT_REPLY
        self.delta_chars = 4  # a streamed reply arrives in deltas of this many characters
        self.stream_gap_s = 0.0  # pause before each streamed delta
        self.usage_chunk = False  # end streams with a usage-only chunk even when the request did not ask
        self.fail_status: int | None = None  # answer chat requests with this status and an error body...
        self.fail_times: int | None = None  # ...this many times, then normally (None: every time)
        self.malformed: Malformed | None = None  # answer 200 with a body that is not JSON, or JSON without choices
        self.delay_s = 0.0  # wait this long before answering
        self.break_stream_after: int | None = None  # close the connection after this many deltas, without [DONE]
        self.close_delimited = False  # stream without chunked framing, the body ending when the connection closes
        self.required_api_key: str | None = None  # answer 401 unless `Authorization: Bearer <this>`
        self.requests: list[RecordedRequest] = []

        self._failures = 0
        self._closing = threading.Event()
        self._server = _Server(self)
        # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default, and every test pays it.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-llm", daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    def reply_to(self, messages: list[dict[str, str]]) -> str:
        return self.reply(messages) if callable(self.reply) else self.reply

    def next_failure(self) -> int | None:
        """The status to answer this chat request with, or None to answer it normally."""
        if self.fail_status is None or (self.fail_times is not None and self._failures >= self.fail_times):
            return None
        self._failures += 1
        return self.fail_status

    def pause(self, seconds: float) -> bool:
        """Sleep, cut short by `close()`; True when the server is closing and the handler should give up."""
        return self._closing.wait(seconds) if seconds > 0 else self._closing.is_set()

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()  # joins the handler threads (daemon_threads is off)
        self._thread.join()

    def __enter__(self) -> FakeLLM:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so server_close() waits for every handler and no socket outlives the test

    def __init__(self, fake: FakeLLM) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked streams need it; a chunked stream cut short is a protocol error
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def handle(self) -> None:
        # The client may have given up (a timeout test): then there is nothing left to answer.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def do_GET(self) -> None:
        self._record(body=None)
        if self.path != "/v1/models":
            self._send_error(404, f"no route {self.path}", "invalid_request_error")
            return
        models = [{"id": "fake-model", "object": "model", "created": int(time.time()), "owned_by": "fake-llm"}]
        self._send_json(200, {"object": "list", "data": models})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"null")
        self._record(body=body)
        fake = self.server.fake
        if self.path != "/v1/chat/completions":
            self._send_error(404, f"no route {self.path}", "invalid_request_error")
        elif not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send_error(400, "'messages' is a required property", "invalid_request_error")
        elif fake.required_api_key is not None and self.headers.get("Authorization") != (
            f"Bearer {fake.required_api_key}"
        ):
            self._send_error(401, "Incorrect API key provided.", "invalid_request_error")
        elif fake.pause(fake.delay_s):
            return
        elif (status := fake.next_failure()) is not None:
            self._send_error(status, "The server had an error while processing your request.", "server_error")
        elif body.get("stream"):
            self._stream(body)
        else:
            self._complete(body)

    def _complete(self, request: dict[str, Any]) -> None:
        fake = self.server.fake
        if fake.malformed == "not_json":
            self._send(200, b'{"id": "chatcmpl-fake", "choices": [', "application/json")
            return
        text = fake.reply_to(request["messages"])
        completion: dict[str, Any] = {
            **_envelope(request, "chat.completion"),
            "usage": _usage(request, text),
        }
        if fake.malformed != "no_choices":
            message = {"role": "assistant", "content": text}
            completion["choices"] = [{"index": 0, "message": message, "finish_reason": "stop"}]
        self._send_json(200, completion)

    def _stream(self, request: dict[str, Any]) -> None:
        fake = self.server.fake
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if not fake.close_delimited:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

        text = fake.reply_to(request["messages"])
        deltas = [text[i : i + fake.delta_chars] for i in range(0, len(text), fake.delta_chars)]
        self._event(_chunk(request, {"role": "assistant", "content": ""}))
        for sent, delta in enumerate(deltas):
            if sent == fake.break_stream_after:
                return  # no terminating chunk: the client sees the connection drop mid-body
            if fake.pause(fake.stream_gap_s):
                return
            if fake.malformed == "not_json":
                self._event_data(b"{not json")
            elif fake.malformed == "no_choices":
                self._event({**_envelope(request, "chat.completion.chunk"), "delta": delta})
            else:
                self._event(_chunk(request, {"content": delta}))
        self._event(_chunk(request, {}, finish_reason="stop"))
        wants_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        if wants_usage or fake.usage_chunk:
            self._event({**_envelope(request, "chat.completion.chunk"), "choices": [], "usage": _usage(request, text)})
        self._event_data(b"[DONE]")
        if not fake.close_delimited:
            self._write_chunk(b"")

    def _event(self, payload: dict[str, Any]) -> None:
        self._event_data(json.dumps(payload, ensure_ascii=False).encode())

    def _event_data(self, data: bytes) -> None:
        event = b"data: " + data + b"\n\n"
        if self.server.fake.close_delimited:
            self.wfile.write(event)
        else:
            self._write_chunk(event)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _send_error(self, status: int, message: str, error_type: str) -> None:
        self._send_json(status, {"error": {"message": message, "type": error_type, "param": None, "code": None}})

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(body)

    def _record(self, body: Any) -> None:
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.fake.requests.append(RecordedRequest(self.command, self.path, headers, body))


def _envelope(request: dict[str, Any], kind: str) -> dict[str, Any]:
    return {"id": "chatcmpl-fake", "object": kind, "created": int(time.time()), "model": request.get("model")}


def _chunk(request: dict[str, Any], delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return {**_envelope(request, "chat.completion.chunk"), "choices": [choice]}


def _usage(request: dict[str, Any], text: str) -> dict[str, int]:
    prompt_chars = sum(len(m.get("content", "")) for m in request.get("messages", []))
    return {"prompt_tokens": prompt_chars, "completion_tokens": len(text), "total_tokens": prompt_chars + len(text)}
