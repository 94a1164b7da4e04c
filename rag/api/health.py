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
    count = int(state.index.manifest.get("counts", {}).get("articles", 0))
    return JSONResponse(Readiness(ready=True, articles=count).model_dump())
