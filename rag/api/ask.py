"""`POST /api/ask` (JSON or Server-Sent Events) and `GET /api/search`: the plain API the widget uses.

    curl -s localhost:8000/api/ask -H 'Content-Type: application/json' -d '{"question": "湖州新建了多少5G基站？"}'
    curl -sN localhost:8000/api/ask -H 'Content-Type: application/json' -d '{"question": "...", "stream": true}'
    curl -s 'localhost:8000/api/search?q=5G基站&k=3'

A stream sends `event: passages`, then `event: delta` pieces of the answer, then `event: done` with the whole
result (the same body the JSON answer has), or `event: error` when the answer broke off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Generator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from rag.answer import Answerer, AnswerEvent, DeltaEvent, DoneEvent, ErrorEvent, PassagesEvent
from rag.api.errors import RequestError, documented
from rag.api.metrics import record_answer
from rag.api.schemas import (
    MAX_K,
    AskDeltaEvent,
    AskErrorEvent,
    AskPassagesEvent,
    AskRequest,
    AskResponse,
    SearchResponse,
)
from rag.api.state import State
from rag.api.streaming import EVENT_STREAM, event_stream, in_threads, next_event, sse, stream_doc
from rag.config import Settings
from rag.filters import SearchFilters
from rag.retrieval import FusionOptions, fusion_options, search

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api", tags=["ask"])


ASK_EVENTS = {
    "passages": AskPassagesEvent.__name__,
    "delta": AskDeltaEvent.__name__,
    "done": AskResponse.__name__,
    "error": AskErrorEvent.__name__,
}


@router.post(
    "/ask",
    response_model=AskResponse,
    responses={
        200: {
            "description": "The answer; with `stream: true`, Server-Sent Events instead.",
            "content": {EVENT_STREAM: stream_doc(ASK_EVENTS)},
        },
        **documented(400, 413, 422, 503),
    },
)
async def ask(body: AskRequest, state: State) -> Response | AskResponse:
    """Answer a question with [n] citations to the articles, every figure checked against the cited passages."""
    check_question(body.question, state.settings, "question")
    check_history([m.content for m in body.history], state.settings, "history")
    answerer = state.require_answerer()
    check_mode(body.mode, answerer)
    history = [m.model_dump() for m in body.history]
    if not body.stream:
        answer = await run_in_threadpool(answerer.ask, body.question, history, body.k, body.mode, body.filters)
        record_answer(answer)
        return AskResponse.of(answer)
    events = answerer.stream(body.question, history, body.k, body.mode, filters=body.filters)
    first = await next_event(events)
    return event_stream(_ask_events(first, events))


@router.get("/search", response_model=SearchResponse, responses=documented(422, 503))
async def search_passages(
    state: State,
    q: Annotated[str, Query(min_length=1, description="What to look for, in Chinese or English.")],
    k: Annotated[int | None, Query(ge=1, le=MAX_K, description="Passages [default: RAG_ANSWER_PASSAGES].")] = None,
    date_from: Annotated[date | None, Query(description="Only articles dated on or after, YYYY-MM-DD.")] = None,
    date_to: Annotated[date | None, Query(description="Only articles dated on or before, YYYY-MM-DD.")] = None,
    publication: Annotated[str | None, Query(min_length=1, description="Only this publication's articles.")] = None,
    source: Annotated[str | None, Query(min_length=1, description="Only this source file or document id.")] = None,
) -> Response:
    """The passages the answerer would read for `q`: hybrid retrieval (dense and BM25, fused; reranked when
    RAG_RERANK_MODEL is set), best first; the filters restrict what retrieval draws from."""
    check_question(q, state.settings, "q")
    filters = search_filters(date_from=date_from, date_to=date_to, publication=publication, source=source)
    answerer = state.require_answerer()
    k = k or state.settings.answer_passages
    # One trip to the thread pool for the whole search, its JSON included: FastAPI would otherwise dump the
    # response model to a dict, validate that again and encode it with the json module, on the event loop.
    body = await run_in_threadpool(_search_json, answerer, q, k, fusion_options(state.settings), filters)
    return Response(body, media_type="application/json")


def _search_json(answerer: Answerer, q: str, k: int, options: FusionOptions, filters: SearchFilters | None) -> bytes:
    started = time.perf_counter()
    passages = search(answerer.index, answerer.embedder, q, k, "hybrid", options, answerer.reranker, filters)
    took_ms = round((time.perf_counter() - started) * 1000, 1)
    return SearchResponse(query=q, passages=passages, took_ms=took_ms).model_dump_json().encode()


# --- checks shared with /v1/chat/completions -----------------------------------------------------------------------


def search_filters(**values: object) -> SearchFilters:
    try:
        return SearchFilters.model_validate(values)
    except ValidationError as exc:
        raise RequestError(422, "invalid_filters", exc.errors()[0]["msg"], "filters") from exc


def check_question(question: str, settings: Settings, param: str) -> None:
    if not question.strip():
        raise RequestError(422, "empty_question", "the question is empty; ask something", param)
    if len(question) > settings.max_question_chars:
        raise RequestError(
            422,
            "question_too_long",
            f"the question has {len(question)} characters, over the limit of {settings.max_question_chars} "
            "(RAG_MAX_QUESTION_CHARS); shorten it",
            param,
        )
    check_text(question, param)


def check_history(contents: list[str], settings: Settings, param: str) -> None:
    if len(contents) > settings.max_history_messages:
        raise RequestError(
            422,
            "history_too_long",
            f"{len(contents)} history messages, over the limit of {settings.max_history_messages} "
            "(RAG_MAX_HISTORY_MESSAGES); send only the latest turns",
            param,
        )
    for i, content in enumerate(contents):
        check_text(content, f"{param}.{i}.content")


def check_text(text: str, param: str) -> None:
    """JSON may spell a lone UTF-16 surrogate ("\\ud800"): valid JSON, but no UTF-8 text; refuse it here."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        message = f"the text holds a lone surrogate at character {exc.start}"
        raise RequestError(422, "invalid_text", message, param) from None


def check_mode(mode: str, answerer: Answerer) -> None:
    if mode == "llm" and answerer.llm is None:
        raise RequestError(
            422,
            "llm_not_configured",
            "mode 'llm' needs an LLM, and this server has none (RAG_LLM_BASE_URL, RAG_LLM_MODEL); use mode 'auto'",
            "mode",
        )


# --- the stream ----------------------------------------------------------------------------------------------------


async def _ask_events(first: AnswerEvent | None, events: Generator[AnswerEvent, None, None]) -> AsyncIterator[str]:
    try:
        if first is not None:
            yield _event(first)
        async for event in in_threads(events):
            yield _event(event)
    except Exception:  # a bug mid-stream: end with an error event, never a connection left hanging
        logger.exception("the answer stream failed")
        failed = AskErrorEvent(code="internal_error", message="internal error; the server log has the details")
        yield sse(failed.model_dump_json(), "error")


def _event(event: AnswerEvent) -> str:
    if isinstance(event, PassagesEvent):
        passages = AskPassagesEvent(standalone_question=event.standalone_question, passages=event.passages)
        return sse(passages.model_dump_json(), "passages")
    if isinstance(event, DeltaEvent):
        return sse(AskDeltaEvent(text=event.text).model_dump_json(), "delta")
    if isinstance(event, DoneEvent):
        record_answer(event.answer)
        return sse(AskResponse.of(event.answer).model_dump_json(), "done")
    assert isinstance(event, ErrorEvent)
    record_answer(event.answer)
    failed = AskErrorEvent(code="llm_failed", message=event.message, answer=AskResponse.of(event.answer))
    return sse(failed.model_dump_json(), "error")
