"""App factory: loads the models and the index once at start-up, and maps our errors to JSON in one place.

app = create_app(settings)                                   # tests, `rag serve`
uvicorn rag.api.app:app_from_environment --factory           # RAG_* settings from the environment
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool

from rag import __version__
from rag.api import articles, ask, chat, documents, facts, health, widget
from rag.api.errors import documented, install_error_handlers
from rag.api.limits import BodyLimit
from rag.api.metrics import install_metrics
from rag.api.schemas import AskDeltaEvent, AskErrorEvent, AskPassagesEvent, ChatCompletionChunk
from rag.api.security import install_security
from rag.api.state import AppState
from rag.config import Settings, load_settings
from rag.documents import Documents

DESCRIPTION = """Cited, verified answers over news about Huzhou's development.

`POST /v1/chat/completions` speaks OpenAI's API (point any OpenAI client at `/v1`); `POST /api/ask` and
`GET /api/search` are the plain API. Errors are JSON: `{"error": {"code", "message", "param"}}`, in OpenAI's
shape on `/v1`. 400: the body is not UTF-8 JSON; 413: the body is too large; 422: it does not validate or is over a
limit; 503: no index yet (run `rag ingest`)."""

# Event payloads that only the streams' OpenAPI content refers to: FastAPI does not list them by itself.
_STREAM_MODELS = (AskPassagesEvent, AskDeltaEvent, AskErrorEvent, ChatCompletionChunk)


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await run_in_threadpool(AppState.load, settings)
        app.state.rag = state
        app.state.documents.on_built = lambda: state.refresh(wait=True)
        app.state.documents.start()
        yield
        app.state.documents.stop()
        state.close()

    app = FastAPI(
        title="Huzhou RAG",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.documents = Documents(settings)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_kib * 1024,
        upload_prefix="/api/documents",
        max_upload_bytes=int(settings.max_upload_mb * 2**20) + 64 * 1024,  # the file and the multipart around it
    )
    install_security(app, settings)  # keys, rate limit, then CORS outermost: 401/413/429 carry CORS headers
    install_metrics(app)  # outermost of all: counts what the others answer themselves
    app.include_router(health.router)
    app.include_router(articles.router, responses=documented(404, 422, 503))
    app.include_router(facts.router, responses=documented(422, 503))
    app.include_router(ask.router)
    app.include_router(chat.router)
    app.include_router(widget.router)
    app.include_router(documents.router)
    install_error_handlers(app, max_body_kib=settings.max_body_kib)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_environment() -> FastAPI:
    """The app with settings from RAG_* variables: the factory `rag serve --workers N` gives each worker."""
    return create_app(load_settings())


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = FastAPI.openapi(app)
        _, extra = models_json_schema(
            [(model, "serialization") for model in _STREAM_MODELS], ref_template="#/components/schemas/{model}"
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in extra.get("$defs", {}).items():
            components.setdefault(name, definition)
        app.openapi_schema = schema
    return app.openapi_schema
