"""Who may call the API, from which pages, and how often: API keys, a CORS allowlist and per-client rate limits.

    app = FastAPI()
    install_security(app, settings)   # RAG_API_KEYS, RAG_CORS_ORIGINS, RAG_RATE_LIMIT_PER_MINUTE
    install_metrics(app)              # after this, so that the metrics count the 401s and 429s too

The middlewares, outermost first: CORS → rate limit → API key → the app. CORS is outside the other two so that
their 401s and 429s still carry `Access-Control-Allow-Origin` and a page can read them; the rate limit is outside
the key check so that a client guessing keys spends its own budget. All three are plain ASGI middlewares: they
pass a streamed (SSE) body and the client's disconnect through untouched, and they also guard paths no route
has (a 404 counts against the limit, and needs a key).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Sequence
from urllib.parse import urlsplit

from fastapi import FastAPI
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from rag.config import Settings
from rag.errors import ConfigError

PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/", "/widget.js"})  # no API key needed
WIDGET_PATHS = ("/api/ask", "/api/articles/")  # all a widget key opens: asking, and a cited article
UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes are not rate limited
OPENAI_PREFIX = "/v1"  # paths under it answer errors in OpenAI's shape, which OpenAI clients parse


def install_security(app: FastAPI, settings: Settings, *, rate_window_s: int = 60) -> None:
    """Add the API-key check, the rate limit and CORS to `app`, as `settings` asks.

    `rate_window_s` is the window over which `settings.rate_limit_per_minute` requests are allowed: a minute,
    unless a test wants to see the limit lift without waiting one.
    """
    keys = APIKeys([*settings.api_keys, *settings.admin_api_keys])  # an admin key opens what any key opens
    widget_keys = APIKeys(settings.widget_api_keys)
    origins = _checked_origins(settings.cors_origins)
    # add_middleware puts each middleware outside the ones before it: innermost first.
    if settings.api_keys or widget_keys:  # admin keys alone guard only the document writes (rag.api.documents)
        app.add_middleware(APIKeyMiddleware, keys=keys, widget_keys=widget_keys)
    if settings.rate_limit_per_minute > 0:
        app.add_middleware(
            RateLimitMiddleware,
            keys=APIKeys([*settings.api_keys, *settings.widget_api_keys, *settings.admin_api_keys]),
            limit=settings.rate_limit_per_minute,
            window_s=rate_window_s,
        )
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
        expose_headers=["Retry-After"],
    )


class APIKeys:
    """The keys the API accepts, kept as SHA-256 digests and compared in constant time.

    >>> APIKeys(["s3cret"]).match("s3cret") is not None
    True
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self._digests = [_digest(key) for key in keys]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def match(self, token: str | None) -> str | None:
        """A stable, non-secret id of the key `token` is, or None when it is none of them."""
        if token is None:
            return None
        # Equal-length digests and no early exit: the time taken tells neither how much of a key was right nor
        # which key matched.
        presented = _digest(token)
        found = None
        for digest in self._digests:
            if hmac.compare_digest(presented, digest):
                found = digest
        return found.hex()[:16] if found is not None else None


class APIKeyMiddleware:
    """401 for a request without `Authorization: Bearer <one of the keys>`, except on PUBLIC_PATHS and preflights;
    403 for a widget key (RAG_WIDGET_API_KEYS) anywhere but WIDGET_PATHS. A widget key sits in web pages' source
    for anyone to read: it may ask questions, not list models, search in bulk or read the metrics."""

    def __init__(self, app: ASGIApp, keys: APIKeys, widget_keys: APIKeys) -> None:
        self.app = app
        self.keys = keys
        self.widget_keys = widget_keys

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) in PUBLIC_PATHS or _is_preflight(scope):
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        token = bearer_token(scope)
        if self.keys.match(token) is not None:
            await self.app(scope, receive, send)
            return
        if self.widget_keys.match(token) is not None:
            if path == WIDGET_PATHS[0] or path.startswith(WIDGET_PATHS[1]):
                await self.app(scope, receive, send)
                return
            message = f"this is a widget key (RAG_WIDGET_API_KEYS): it opens only {' and '.join(WIDGET_PATHS)}"
            response = error_response(scope, 403, "forbidden", message, openai_code="insufficient_permissions")
            await response(scope, receive, send)
            return
        message = (
            "missing or invalid API key: send the header 'Authorization: Bearer <key>' with a key from RAG_API_KEYS"
        )
        response = error_response(scope, 401, "unauthorized", message, openai_code="invalid_api_key")
        response.headers["WWW-Authenticate"] = "Bearer"
        await response(scope, receive, send)


class RateLimitMiddleware:
    """At most `limit` requests per `window_s` seconds per client, else 429 with `Retry-After`.

    A client is its API key when it sends a valid one, else its IP address (behind a proxy, run uvicorn with
    --forwarded-allow-ips so that this is the caller's, not the proxy's). The limits library's sliding window
    counter lets a client spend its whole budget in a burst, then frees it again as the window slides, holding
    two counters per client whatever the limit.
    """

    def __init__(self, app: ASGIApp, keys: APIKeys, limit: int, window_s: int = 60) -> None:
        self.app = app
        self.keys = keys
        self.item = RateLimitItemPerSecond(limit, window_s)
        self.limiter = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or route_path(scope) in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        client = self.client_id(scope)
        if await self.limiter.hit(self.item, client):
            await self.app(scope, receive, send)
            return
        reset_at, _ = await self.limiter.get_window_stats(self.item, client)
        retry_after = max(1, math.ceil(reset_at - time.time()))
        message = (
            f"too many requests: at most {self.item.amount} per {self.item.get_expiry()} s per client; "
            f"retry after {retry_after} s"
        )
        response = error_response(scope, 429, "rate_limit_exceeded", message, openai_type="requests")
        response.headers["Retry-After"] = str(retry_after)
        await response(scope, receive, send)

    def client_id(self, scope: Scope) -> str:
        # Only a valid key names a client: otherwise anyone could send a fresh made-up key per request.
        key_id = self.keys.match(bearer_token(scope))
        if key_id is not None:
            return f"key:{key_id}"
        client = scope.get("client")
        return f"ip:{client[0] if client else 'unknown'}"


def error_response(
    scope: Scope,
    status: int,
    code: str,
    message: str,
    *,
    openai_code: str | None = None,
    openai_type: str = "invalid_request_error",
) -> JSONResponse:
    """Our error body, or OpenAI's under /v1: `{"error": {"message", "type", "param", "code"}}`."""
    if is_openai_path(scope):
        body = {"message": message, "type": openai_type, "param": None, "code": openai_code or code}
        return JSONResponse({"error": body}, status_code=status)
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def bearer_token(scope: Scope) -> str | None:
    scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def route_path(scope: Scope) -> str:
    """The path the app's routes see: without the prefix a proxy mounts the app under (uvicorn --root-path)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        return path[len(root) :] or "/"
    return path


def is_openai_path(scope: Scope) -> bool:
    path = route_path(scope)
    return path == OPENAI_PREFIX or path.startswith(OPENAI_PREFIX + "/")


def _is_preflight(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    return scope["method"] == "OPTIONS" and "origin" in headers and "access-control-request-method" in headers


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def _checked_origins(origins: Sequence[str]) -> list[str]:
    """Origins exactly as browsers send them; CORSMiddleware would silently never match anything else."""
    for origin in origins:
        if origin == "*":
            raise ConfigError(
                "RAG_CORS_ORIGINS='*' would let every site's pages call the API; list the widget's hosts instead, "
                "e.g. RAG_CORS_ORIGINS=https://news.example.com"
            )
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path or parts.query or parts.fragment:
            raise ConfigError(
                f"RAG_CORS_ORIGINS: {origin!r} is not an origin; write scheme://host[:port] with no path or "
                "trailing slash, e.g. https://news.example.com"
            )
    return list(origins)
