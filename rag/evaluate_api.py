"""`rag eval --api URL`: the same scoring over a running service, through its HTTP API, so what is measured is
what a user gets (`GET /api/search` for recall and MRR, `POST /api/ask` for the answers).

    retrieve, answer = api_callables("http://127.0.0.1:8000", k=5, mode="extractive", api_key=None)
    report = evaluate("api", questions, 5, retrieve=retrieve, answer=answer)
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from rag.answer import Answer
from rag.errors import RagError
from rag.models import Passage

TIMEOUT_S = 120


class ServiceError(RagError):
    """The service under evaluation did not answer as its API says."""


def api_callables(
    base_url: str, k: int, mode: str, api_key: str | None = None
) -> tuple[Callable[[str], list[Passage]], Callable[[str], Answer]]:
    root = base_url.rstrip("/")
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def retrieve(question: str) -> list[Passage]:
        query = urllib.parse.urlencode({"q": question, "k": k})
        body = _call(urllib.request.Request(f"{root}/api/search?{query}", headers=headers))
        return [Passage.model_validate(p) for p in body["passages"]]

    def answer(question: str) -> Answer:
        payload = json.dumps({"question": question, "k": k, "mode": mode}).encode("utf-8")
        request = urllib.request.Request(
            f"{root}/api/ask", data=payload, headers={**headers, "Content-Type": "application/json"}, method="POST"
        )
        return Answer.model_validate({**_call(request), "passages": []})

    return retrieve, answer


def _call(request: urllib.request.Request) -> Any:
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")[:300]
        raise ServiceError(f"{request.full_url} answered {exc.code}: {detail}") from exc
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
        raise ServiceError(f"cannot evaluate through {request.full_url}: {exc}; is `rag serve` running?") from exc
