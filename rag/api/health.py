"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from rag.api.state import State

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    ready: bool
    reason: str | None = None
    articles: int = 0
    build: str | None = None  # which index build this replica serves
    built_at: str | None = None


@router.get("/healthz")
def healthz() -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(state: State) -> JSONResponse:
    """The index is loaded and the service can answer; 503 with the reason and the fix otherwise."""
    if state.index is None:
        body = Readiness(ready=False, reason=state.not_ready_reason)
        return JSONResponse(body.model_dump(), status_code=503)
    manifest = state.index.manifest
    count = int(manifest.get("counts", {}).get("articles", 0))
    body = Readiness(ready=True, articles=count, build=state.index.build_id, built_at=manifest.get("built_at"))
    return JSONResponse(body.model_dump())
