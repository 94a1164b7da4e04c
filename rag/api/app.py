"""App factory: loads the index once at start-up and maps our errors to JSON responses in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from rag import __version__
from rag.api import articles, health
from rag.api.state import AppState
from rag.config import Settings
from rag.errors import ArticleNotFoundError, IndexNotFoundError, RagError


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = AppState.load(settings)
        app.state.rag = state
        yield
        state.close()

    app = FastAPI(title="Huzhou RAG", version=__version__, lifespan=lifespan)
    app.include_router(health.router)
    app.include_router(articles.router)

    @app.exception_handler(RagError)
    async def rag_error(_: Request, exc: RagError) -> JSONResponse:
        status, code = _STATUS.get(type(exc), (400, "bad_request"))
        return JSONResponse({"error": {"code": code, "message": str(exc)}}, status_code=status)

    return app


_STATUS: dict[type[RagError], tuple[int, str]] = {
    ArticleNotFoundError: (404, "article_not_found"),
    IndexNotFoundError: (503, "index_not_ready"),
}
