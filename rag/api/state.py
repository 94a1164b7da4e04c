"""What the service loads once at start-up and shares between requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from rag.config import Settings
from rag.errors import IndexNotFoundError, RagError
from rag.store import IndexReader


@dataclass
class AppState:
    settings: Settings
    index: IndexReader | None
    not_ready_reason: str | None = None

    @classmethod
    def load(cls, settings: Settings) -> AppState:
        try:
            return cls(settings, IndexReader(settings.index_dir))
        except RagError as exc:  # start anyway: /readyz reports why, /healthz stays up
            return cls(settings, None, str(exc))

    def close(self) -> None:
        if self.index is not None:
            self.index.close()

    def require_index(self) -> IndexReader:
        if self.index is None:
            raise IndexNotFoundError(self.settings.index_dir)
        return self.index


def _state(request: Request) -> AppState:
    return request.app.state.rag


State = Annotated[AppState, Depends(_state)]
