"""`/v1`: the OpenAI chat-completions API, so any OpenAI client or chat UI can ask the service.

    client = OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="...")
    reply = client.chat.completions.create(model="huzhou-rag", messages=[{"role": "user", "content": question}])
    reply.choices[0].message.content     # the answer, with [n] markers
    reply.model_extra["citations"]       # what each [n] points to; also "verification"

The last message is the question; earlier user and assistant messages are the history a follow-up is read with.
A streamed answer ends with a chunk whose finish_reason is "stop" and which carries `citations` and
`verification`, then `data: [DONE]`; when the answer breaks off, an `{"error": ...}` event takes that chunk's
place (OpenAI clients raise it).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass

from fastapi import APIRouter, Response
from starlette.concurrency import run_in_threadpool

from rag.answer import Answer, AnswerEvent, DeltaEvent, DoneEvent, ErrorEvent
from rag.api.ask import check_history, check_question, check_text
from rag.api.errors import RequestError, documented, error_body
from rag.api.metrics import record_answer
from rag.api.schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    ChatMessage,
    Choice,
    ChunkChoice,
    ChunkDelta,
    Model,
    ModelList,
    OpenAIErrorResponse,
    Replacement,
)
from rag.api.state import State
from rag.api.streaming import EVENT_STREAM, event_stream, in_threads, next_event, sse, stream_doc

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["openai"])
OWNER = "huzhou-rag"
CHUNK_EVENTS = {"chunk": ChatCompletionChunk.__name__, "error": OpenAIErrorResponse.__name__}


@router.get("/models")
def list_models(state: State) -> ModelList:
    """The one model this service answers as (RAG_SERVICE_MODEL)."""
    return ModelList(data=[_model(state)])


@router.get("/models/{model}", responses=documented(404, 422, openai=True))
def get_model(model: str, state: State) -> Model:
    if model != state.settings.service_model:
        raise RequestError(404, "model_not_found", f"no model {model!r}; this service is {_model(state).id!r}")
    return _model(state)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    responses={
        200: {
            "description": "The completion; with `stream: true`, Server-Sent Events of chunks ending `data: [DONE]`.",
            "content": {EVENT_STREAM: stream_doc(CHUNK_EVENTS)},
        },
        **documented(400, 413, 422, 503, openai=True),
    },
)
async def chat_completions(body: ChatCompletionRequest, state: State) -> Response | ChatCompletion:
    """Answer the last user message, with the earlier turns as history."""
    question, history = _conversation(body.messages, state)
    answerer = state.require_answerer()
    reply = _Reply(f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), body.model or state.settings.service_model)
    if not body.stream:
        answer = await run_in_threadpool(answerer.ask, question, history, None, "auto", body.filters)
        record_answer(answer)
        return ChatCompletion(
            id=reply.id,
            created=reply.created,
            model=reply.model,
            choices=[Choice(message=AssistantMessage(content=answer.answer))],
            citations=answer.citations,
            verification=answer.verification,
            replacement=Replacement.of(answer),
        )
    events = answerer.stream(question, history, filters=body.filters)
    await next_event(events)  # the passages: not part of OpenAI's stream, but what fails here still gets a status
    return event_stream(_chunks(reply, events))


def _conversation(messages: list[ChatMessage], state: State) -> tuple[str, list[dict[str, str]]]:
    last = len(messages) - 1
    if messages[last].role != "user":
        raise RequestError(
            422, "last_message_not_user", "the last message must be the user's question", f"messages.{last}.role"
        )
    question = messages[last].text
    check_question(question, state.settings, f"messages.{last}.content")
    history = [{"role": m.role, "content": m.text} for m in messages[:last] if m.role in ("user", "assistant")]
    check_history([turn["content"] for turn in history], state.settings, "messages")
    for i, message in enumerate(messages[:last]):
        check_text(message.text, f"messages.{i}.content")
    return question, history


def _model(state: State) -> Model:
    return Model(id=state.settings.service_model, created=state.app.started, owned_by=OWNER)


@dataclass(frozen=True)
class _Reply:
    id: str
    created: int
    model: str

    def chunk(self, delta: ChunkDelta, answer: Answer | None = None) -> str:
        chunk = ChatCompletionChunk(
            id=self.id,
            created=self.created,
            model=self.model,
            choices=[ChunkChoice(delta=delta, finish_reason="stop" if answer is not None else None)],
            citations=answer.citations if answer is not None else None,
            verification=answer.verification if answer is not None else None,
            replacement=Replacement.of(answer) if answer is not None else None,
        )
        return sse(chunk.model_dump_json())


async def _chunks(reply: _Reply, events: Generator[AnswerEvent, None, None]) -> AsyncIterator[str]:
    try:
        yield reply.chunk(ChunkDelta(role="assistant", content=""))
        async for event in in_threads(events):
            if isinstance(event, DeltaEvent):
                yield reply.chunk(ChunkDelta(content=event.text))
            elif isinstance(event, DoneEvent):
                record_answer(event.answer)
                yield reply.chunk(ChunkDelta(), event.answer)
            elif isinstance(event, ErrorEvent):
                record_answer(event.answer)
                yield _error(502, "llm_failed", event.message)
    except Exception:  # a bug mid-stream: end with an error event, never a connection left hanging
        logger.exception("the chat completion stream failed")
        yield _error(500, "internal_error", "internal error; the server log has the details")
    yield sse("[DONE]")


def _error(status: int, code: str, message: str) -> str:
    body = OpenAIErrorResponse.model_validate(error_body("/v1", status, code, message))
    return sse(body.model_dump_json())
