"""Prometheus metrics for one app: requests by route template and status, their latency, and what the answers were.

    install_metrics(app)     # GET /metrics in Prometheus' text format; call it after install_security
    record_answer(answer)    # in an endpoint, once an answer is final

Each app counts in its own CollectorRegistry (`app.state.metrics.registry`), not prometheus_client's global
one, so that several apps in one process (the tests) neither clash nor mix their counts.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import TYPE_CHECKING

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from rag.answer import Answer

METRICS_PATH = "/metrics"
UNMATCHED = "unmatched"  # the route label of a path no route has: raw paths would make a label value per URL
# An answer streamed from an LLM takes tens of seconds: the default buckets stop at 10.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# LLMError.reason, recognised by the wording of rag.generate.llm's messages, since an Answer keeps only the message.

_current: ContextVar[Metrics] = ContextVar("rag_metrics")


class Metrics:
    """The collectors of one app, in their own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "rag_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "rag_http_request_duration_seconds",
            "Seconds from a request's arrival to the end of its response, a streamed body included.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "rag_answers",
            "Answers by who wrote them (llm, extractive) and whether the passages answered the question.",
            ["mode", "answerable"],
            registry=self.registry,
        )
        self.fallbacks = Counter(
            "rag_llm_fallbacks",
            "Answers the LLM was meant to write but did not (or did not finish), by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.verification_failures = Counter(
            "rag_verification_failures",
            "Answers whose citations or figures failed verification.",
            registry=self.registry,
        )

    def record_answer(self, answer: Answer) -> None:
        self.answers.labels(answer.mode, str(answer.answerable).lower()).inc()
        if answer.fallback_reason:
            self.fallbacks.labels(answer.fallback_code or "other").inc()
        if not answer.verification.ok:
            self.verification_failures.inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def install_metrics(app: FastAPI) -> Metrics:
    """Count every request to `app` and serve the counts at GET /metrics.

    Call it after install_security: the middleware it adds is then the outermost, and counts the requests that
    the key check, the rate limit and CORS answer themselves.
    """
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics, router=app.router)

    async def metrics_endpoint(_: Request) -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_route(METRICS_PATH, metrics_endpoint, methods=["GET"], include_in_schema=False)
    return metrics


def record_answer(answer: Answer) -> None:
    """Count `answer` in the metrics of the app serving the current request."""
    try:
        metrics = _current.get()
    except LookupError as exc:
        raise RuntimeError(
            "record_answer() counts for the app serving the current request: call it while an app set up with "
            "install_metrics(app) handles one"
        ) from exc
    metrics.record_answer(answer)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, router: Router) -> None:
        self.app = app
        self.metrics = metrics
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"] if scope["method"] in _METHODS else "other"
        status = 500  # what the client gets when the app raises before it responds
        started = time.perf_counter()
        counted = False

        def count() -> None:
            nonlocal counted
            if counted:
                return
            counted = True
            # The router records the route it chose in the scope; an included router (FastAPI's _IncludedRouter)
            # cannot be matched from outside, so that record wins. Requests a middleware answered (or that no route
            # has) get the guess, matched only then: matching every route costs more than the rest of this.
            route = getattr(scope.get("route"), "path", None) or self.route_template(scope)
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)

        async def send_counting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                count()  # before the last byte leaves: a client that reads /metrics next sees this request
            await send(message)

        token = _current.set(self.metrics)
        try:
            await self.app(scope, receive, send_counting)
        finally:
            _current.reset(token)
            count()  # the app raised, or the client left mid-stream

    def route_template(self, scope: Scope) -> str:
        """The path template of the route the router would pick (`/api/articles/{article_id}`), for requests a
        middleware answers (401, 429) before the router records its choice in the scope."""
        partial: str | None = None
        for route in self.router.routes:
            match, _ = route.matches(scope)
            path = getattr(route, "path", UNMATCHED)
            if match is Match.FULL:
                return path
            if match is Match.PARTIAL and partial is None:  # the path is right, the method is not: a 405
                partial = path
        return partial or UNMATCHED
