"""API keys, CORS, rate limits and metrics, on a small app served by a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx2 as httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Message, Receive, Scope, Send

from rag.answer import Answer
from rag.api.metrics import install_metrics, record_answer
from rag.api.security import APIKeyMiddleware, APIKeys, RateLimitMiddleware, install_security
from rag.config import Settings
from rag.errors import ConfigError
from rag.verify import verify_answer

KEY = "k-0123456789abcdef"
OTHER_KEY = "k-fedcba9876543210"
ALLOWED = "https://news.example.com"
ELSEWHERE = "https://evil.example.org"
GATE_TIMEOUT_S = 5.0


@dataclass
class Streams:
    """What the test app's streaming routes wait for and report."""

    gate: threading.Event = field(default_factory=threading.Event)  # /api/stream sends its second event once set
    closed: threading.Event = field(default_factory=threading.Event)  # /api/endless saw its client leave


def make_app(streams: Streams) -> FastAPI:
    """The routes the real app has, in miniature, and two event streams."""
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz")
    def readyz() -> dict[str, bool]:
        return {"ready": True}

    @app.get("/api/search")
    def api_search(q: str = "") -> dict[str, object]:
        return {"query": q, "hits": []}

    @app.post("/api/ask")
    def api_ask() -> dict[str, str]:
        return {"answer": "773"}

    @app.get("/api/articles/{article_id}")
    def api_article(article_id: str) -> dict[str, str]:
        return {"id": article_id}

    @app.get("/v1/models")
    def models() -> dict[str, object]:
        return {"object": "list", "data": [{"id": "huzhou-rag", "object": "model"}]}

    @app.get("/api/stream")
    def stream() -> StreamingResponse:
        def events() -> Iterator[str]:
            yield "data: first\n\n"
            yield "data: second\n\n" if streams.gate.wait(GATE_TIMEOUT_S) else "data: buffered\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/api/endless")
    def endless() -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            try:
                yield "data: first\n\n"
                await asyncio.sleep(GATE_TIMEOUT_S)  # ended early only by the client's disconnect
            finally:
                streams.closed.set()

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/api/answer")
    def answer(fallback: str | None = None, ok: bool = True) -> dict[str, bool]:
        record_answer(make_answer(fallback_code=fallback, verified=ok))
        return {"recorded": True}

    return app


def make_answer(*, fallback_code: str | None, verified: bool) -> Answer:
    passage = "湖州市新建5G基站773个"
    text = "湖州新建5G基站773个[1]。" if verified else "湖州新建5G基站900个[1]。"
    return Answer(
        question="湖州新建了多少5G基站？",
        standalone_question="湖州新建了多少5G基站？",
        answer=text,
        answerable=True,
        mode="extractive" if fallback_code else "llm",
        fallback_reason=f"the LLM failed ({fallback_code})" if fallback_code else None,
        fallback_code=fallback_code,
        confidence=0.9,
        citations=[],
        passages=[],
        verification=verify_answer(text, [passage]),
        took_ms=1.0,
    )


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """`app` on a real uvicorn server on a free port of 127.0.0.1, for the block; its base URL."""
    # IPPROTO_TCP named, or asyncio leaves Nagle on for the accepted connections: 40 ms per request.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        host, port = sock.getsockname()
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def streams() -> Iterator[Streams]:
    control = Streams()
    yield control
    control.gate.set()  # a stream still waiting ends now, so the server shuts down at once


@contextmanager
def client_for(
    settings: Settings, streams: Streams | None = None, *, rate_window_s: int = 60
) -> Iterator[httpx.Client]:
    app = make_app(streams or Streams())
    install_security(app, settings, rate_window_s=rate_window_s)
    install_metrics(app)
    with serve(app) as base_url, httpx.Client(base_url=base_url, timeout=10) as client:
        yield client


@pytest.fixture
def keyed(streams: Streams) -> Iterator[httpx.Client]:
    settings = Settings(api_keys=[KEY, OTHER_KEY], cors_origins=[ALLOWED], rate_limit_per_minute=0)
    with client_for(settings, streams) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# --- API keys ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [KEY, OTHER_KEY])
def test_api_key_accepted(keyed: httpx.Client, key: str) -> None:
    assert keyed.get("/api/search", params={"q": "5G"}, headers=bearer(key)).json()["query"] == "5G"
    assert keyed.get("/v1/models", headers=bearer(key)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong"), bearer(KEY + "x"), {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}],
    ids=["missing", "wrong", "longer", "no-scheme", "basic"],
)
def test_api_key_missing_or_wrong_is_401(keyed: httpx.Client, headers: dict[str, str]) -> None:
    response = keyed.get("/api/search", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthorized"
    assert "Authorization: Bearer" in error["message"]


def test_api_key_401_in_openai_shape_under_v1(keyed: httpx.Client) -> None:
    response = keyed.get("/v1/models", headers=bearer("wrong"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_api_key"
    assert error["param"] is None
    assert error["message"]


def test_api_key_needed_for_unknown_paths_and_metrics(keyed: httpx.Client) -> None:
    assert keyed.get("/nowhere").status_code == 401
    assert keyed.get("/nowhere", headers=bearer(KEY)).status_code == 404
    assert keyed.get("/metrics").status_code == 401
    assert keyed.get("/metrics", headers=bearer(KEY)).status_code == 200


WIDGET_KEY = "w-widget-key-in-page-source"


@pytest.fixture
def widget_keyed() -> Iterator[httpx.Client]:
    settings = Settings(api_keys=[KEY], widget_api_keys=[WIDGET_KEY], rate_limit_per_minute=0)
    with client_for(settings) as client:
        yield client


def test_widget_key_opens_asking_and_articles(widget_keyed: httpx.Client) -> None:
    assert widget_keyed.post("/api/ask", headers=bearer(WIDGET_KEY)).json() == {"answer": "773"}
    assert widget_keyed.get("/api/articles/a1", headers=bearer(WIDGET_KEY)).json() == {"id": "a1"}
    assert widget_keyed.post("/api/ask").status_code == 401


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/search"), ("GET", "/metrics"), ("GET", "/api/askx")])
def test_widget_key_is_403_elsewhere(widget_keyed: httpx.Client, method: str, path: str) -> None:
    response = widget_keyed.request(method, path, headers=bearer(WIDGET_KEY))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert "/api/ask" in error["message"]
    assert widget_keyed.request(method, path, headers=bearer(KEY)).status_code != 403  # the server key opens it


def test_widget_key_403_in_openai_shape_under_v1(widget_keyed: httpx.Client) -> None:
    response = widget_keyed.get("/v1/models", headers=bearer(WIDGET_KEY))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_permissions"


def test_widget_keys_alone_still_close_the_api() -> None:
    with client_for(Settings(widget_api_keys=[WIDGET_KEY], rate_limit_per_minute=0)) as client:
        assert client.post("/api/ask").status_code == 401
        assert client.post("/api/ask", headers=bearer(WIDGET_KEY)).status_code == 200
        assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_api_key_not_needed_for_probes(keyed: httpx.Client, path: str) -> None:
    assert keyed.get(path).status_code == 200


def test_api_keys_match_whatever_the_length() -> None:
    keys = APIKeys([KEY, OTHER_KEY])
    assert keys.match(KEY) is not None
    assert keys.match(KEY) != keys.match(OTHER_KEY)
    assert keys.match(KEY[:-1]) is None
    assert keys.match("") is None
    assert keys.match(None) is None
    assert not APIKeys([])


# --- CORS -------------------------------------------------------------------------------------------------------


def test_cors_preflight_needs_no_key(keyed: httpx.Client) -> None:
    response = keyed.options(
        "/api/search",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    allowed_headers = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert set(response.headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST", "OPTIONS"}


def test_cors_preflight_from_another_origin_refused(keyed: httpx.Client) -> None:
    response = keyed.options("/api/search", headers={"Origin": ELSEWHERE, "Access-Control-Request-Method": "POST"})
    assert response.status_code == 400
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_headers_only_for_allowed_origin(keyed: httpx.Client) -> None:
    allowed = keyed.get("/api/search", headers={"Origin": ALLOWED, **bearer(KEY)})
    assert allowed.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Retry-After" in allowed.headers["Access-Control-Expose-Headers"]
    other = keyed.get("/api/search", headers={"Origin": ELSEWHERE, **bearer(KEY)})
    assert other.status_code == 200  # the server answers; the browser keeps the answer from the other page
    assert "Access-Control-Allow-Origin" not in other.headers


def test_cors_headers_on_401(keyed: httpx.Client) -> None:
    response = keyed.get("/api/search", headers={"Origin": ALLOWED})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize(
    "origin", ["*", "https://news.example.com/", "news.example.com", "https://news.example.com/widget"]
)
def test_cors_origin_that_browsers_never_send_refused(origin: str) -> None:
    with pytest.raises(ConfigError, match="RAG_CORS_ORIGINS"):
        install_security(FastAPI(), Settings(cors_origins=[origin]))


# --- rate limit -------------------------------------------------------------------------------------------------


def inside_one_window(window_s: int, *, need_s: float) -> None:
    """Wait until `need_s` seconds are left in the limiter's current window (windows start at multiples of
    `window_s`), so that a burst lies inside one window: across two, the sliding window lets one more through."""
    while window_s - time.time() % window_s < need_s:
        time.sleep(0.05)


def test_rate_limit_429_then_allowed_again() -> None:
    settings = Settings(cors_origins=[ALLOWED], rate_limit_per_minute=3)
    with client_for(settings, rate_window_s=1) as client:
        inside_one_window(1, need_s=0.5)
        assert [client.get("/api/search").status_code for _ in range(3)] == [200, 200, 200]
        refused = client.get("/api/search", headers={"Origin": ALLOWED})
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert refused.headers["Access-Control-Allow-Origin"] == ALLOWED
        retry_after = int(refused.headers["Retry-After"])
        assert retry_after == 1
        assert client.get("/healthz").status_code == 200  # probes are never limited
        assert client.get("/metrics").status_code == 200
        time.sleep(retry_after)
        assert client.get("/api/search").status_code == 200


def test_rate_limit_retry_after_within_the_minute() -> None:
    with client_for(Settings(rate_limit_per_minute=3)) as client:
        inside_one_window(60, need_s=2)
        statuses = [client.get("/nowhere").status_code for _ in range(3)]
        assert statuses == [404, 404, 404]  # a 404 counts too
        refused = client.get("/v1/models")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        error = refused.json()["error"]
        assert error["code"] == "rate_limit_exceeded"
        assert error["param"] is None and error["type"] and error["message"]


def test_rate_limit_per_key_not_per_made_up_key() -> None:
    settings = Settings(api_keys=[KEY, OTHER_KEY], rate_limit_per_minute=2)
    with client_for(settings) as client:
        inside_one_window(60, need_s=2)
        assert [client.get("/api/search", headers=bearer(KEY)).status_code for _ in range(3)] == [200, 200, 429]
        # Another key is another client, though both come from the same address.
        assert client.get("/api/search", headers=bearer(OTHER_KEY)).status_code == 200
        # A wrong key is no client of its own: the address's budget pays for the guesses.
        guesses = [client.get("/api/search", headers=bearer(f"guess-{n}")).status_code for n in range(3)]
        assert guesses == [401, 401, 429]


def test_rate_limit_zero_is_unlimited() -> None:
    with client_for(Settings(rate_limit_per_minute=0)) as client:
        assert {client.get("/api/search").status_code for _ in range(20)} == {200}


# --- streaming --------------------------------------------------------------------------------------------------


def test_streaming_passes_through_every_middleware(keyed: httpx.Client, streams: Streams) -> None:
    with keyed.stream("GET", "/api/stream", headers={"Origin": ALLOWED, **bearer(KEY)}) as response:
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
        events = response.iter_lines()
        assert next(events) == "data: first"  # arrived while the stream still waits on the gate
        streams.gate.set()
        assert [line for line in events if line] == ["data: second"]


def test_streaming_sees_the_client_leave(keyed: httpx.Client, streams: Streams) -> None:
    with keyed.stream("GET", "/api/endless", headers=bearer(KEY)) as response:
        assert next(response.iter_lines()) == "data: first"
    # The disconnect went through every middleware to the response, which stopped the stream.
    assert streams.closed.wait(GATE_TIMEOUT_S / 2)


# --- metrics ----------------------------------------------------------------------------------------------------


def scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=bearer(KEY))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_requests_by_route_template(keyed: httpx.Client) -> None:
    keyed.get("/api/search", params={"q": "a"}, headers=bearer(KEY))
    keyed.get("/api/search", params={"q": "b"}, headers=bearer(KEY))
    keyed.get("/api/search")
    keyed.get("/no/such/path/123", headers=bearer(KEY))
    keyed.post("/healthz")
    samples = scrape(keyed)

    def requests(method: str, route: str, status: str) -> float:
        key = ("rag_http_requests_total", (("method", method), ("route", route), ("status", status)))
        return samples.get(key, 0.0)

    assert requests("GET", "/api/search", "200") == 2
    assert requests("GET", "/api/search", "401") == 1  # a request the key check answered has its route too
    assert requests("GET", "unmatched", "404") == 1
    assert requests("POST", "/healthz", "405") == 1
    assert not any("/no/such" in str(labels) for _, labels in samples)
    count = ("rag_http_request_duration_seconds_count", (("method", "GET"), ("route", "/api/search")))
    assert samples[count] == 3


def test_metrics_record_answers(keyed: httpx.Client) -> None:
    keyed.post("/api/answer", headers=bearer(KEY))
    keyed.post("/api/answer", params={"fallback": "timeout"}, headers=bearer(KEY))
    keyed.post("/api/answer", params={"fallback": "http_error", "ok": False}, headers=bearer(KEY))
    samples = scrape(keyed)
    assert samples[("rag_answers_total", (("answerable", "true"), ("mode", "llm")))] == 1
    assert samples[("rag_answers_total", (("answerable", "true"), ("mode", "extractive")))] == 2
    assert samples[("rag_llm_fallbacks_total", (("reason", "timeout"),))] == 1
    assert samples[("rag_llm_fallbacks_total", (("reason", "http_error"),))] == 1
    assert samples[("rag_verification_failures_total", ())] == 1


def test_metrics_apps_count_apart() -> None:
    settings = Settings(api_keys=[KEY], rate_limit_per_minute=0)
    with client_for(settings) as first, client_for(settings) as second:
        first.post("/api/answer", headers=bearer(KEY))
        assert ("rag_answers_total", (("answerable", "true"), ("mode", "llm"))) not in scrape(second)


def test_record_answer_outside_a_request_says_how_to_call_it() -> None:
    with pytest.raises(RuntimeError, match="install_metrics"):
        record_answer(make_answer(fallback_code=None, verified=True))


def test_key_and_rate_limit_middlewares_pass_the_lifespan_through() -> None:
    """The app loads its index in the lifespan; a middleware that choked on a scope with no path would make
    uvicorn skip the lifespan ("unsupported") and every request fail."""
    seen: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    keys = APIKeys([KEY])
    for middleware in (APIKeyMiddleware(app, keys, APIKeys([])), RateLimitMiddleware(app, keys, limit=1)):
        asyncio.run(middleware({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, _no_receive, _no_send))
    assert seen == ["lifespan", "lifespan"]


async def _no_receive() -> Message:
    raise AssertionError("not called")


async def _no_send(message: Message) -> None:
    raise AssertionError("not called")
