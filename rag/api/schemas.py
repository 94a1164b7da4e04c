"""Request and response bodies of the HTTP API: what the OpenAPI schema shows and generated clients use.

Requests are validated strictly (a JSON string is not an int, `true` is not 1) and unknown fields are ignored, as
OpenAI does. Limits that are settings (RAG_MAX_QUESTION_CHARS, RAG_MAX_HISTORY_MESSAGES) are checked by the
endpoints, since a schema class is fixed at import time.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

from rag.answer import Answer, AnswerMode, Citation, RequestedMode
from rag.facts.models import Fact
from rag.filters import SearchFilters
from rag.models import Passage
from rag.verify import Verification

MAX_K = 20


def _not_blank(value: object) -> object:
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError("empty_question", "the question is empty; ask something")
    return value


Question = Annotated[str, BeforeValidator(_not_blank), Field(min_length=1)]


def _whole_number(value: object) -> object:
    """JSON Schema's integers include 3.0 (and Python's json writes a float as 3.0): take it as the int it is.
    3.5, "3" and true stay refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class _Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


# --- errors --------------------------------------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: e.g. question_too_long, index_not_ready.")
    message: str = Field(description="What went wrong and how to fix it.")
    param: str | None = Field(None, description="The request field at fault, e.g. history.3.role.")


class ErrorResponse(BaseModel):
    """Every error of /api/* and of the probes."""

    error: ErrorDetail


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str = Field(description="invalid_request_error for 4xx, server_error for 5xx.")
    code: str | None = None
    param: str | None = None


class OpenAIErrorResponse(BaseModel):
    """Every error of /v1/*, in OpenAI's shape; also sent as a stream's last event when the answer fails."""

    error: OpenAIErrorDetail


# --- /api/ask and /api/search --------------------------------------------------------------------------------------


class HistoryMessage(_Request):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(_Request):
    question: Question = Field(description="The question, in Chinese or English (RAG_MAX_QUESTION_CHARS at most).")
    history: list[HistoryMessage] = Field(
        default_factory=list,
        description="Earlier turns, oldest first (RAG_MAX_HISTORY_MESSAGES at most); a follow-up question is "
        "rewritten into a standalone one with them.",
    )
    k: Annotated[int, Field(ge=1, le=MAX_K), BeforeValidator(_whole_number)] | None = Field(
        None, description="Passages to answer from [default: RAG_ANSWER_PASSAGES]."
    )
    mode: RequestedMode = Field(
        "auto", description="auto: the LLM when one is configured, else extractive; llm: the LLM or a 422."
    )
    stream: bool = Field(False, description="Answer as Server-Sent Events: passages, delta..., done (or error).")
    filters: SearchFilters | None = Field(None, description="Answer only from articles that pass these filters.")


class AskResponse(BaseModel):
    """A cited, verified answer. "Not in the corpus" is an answer too: `answerable` is false and `reason` says why."""

    question: str
    standalone_question: str = Field(description="The question as retrieval saw it, rewritten with the history.")
    answer: str = Field(description="The answer, with [n] markers that point into `citations`.")
    answerable: bool
    mode: AnswerMode = Field(description="Which answerer wrote the answer.")
    fallback_reason: str | None = Field(None, description="Why the LLM did not answer, when it was meant to.")
    llm_draft: str | None = Field(
        None,
        description="The LLM's own answer, when it failed verification and `answer` replaced it (RAG_ON_UNVERIFIED). "
        "When streaming, the deltas were this draft: show `answer` instead.",
    )
    confidence: float
    reason: str = Field("", description="Why the passages do not answer, when they do not.")
    citations: list[Citation]
    verification: Verification = Field(description="Citations and figures checked against the cited passages.")
    took_ms: float

    @classmethod
    def of(cls, answer: Answer) -> AskResponse:
        return cls.model_validate(answer.model_dump(exclude={"passages"}))


class AskPassagesEvent(BaseModel):
    """`event: passages`, first: what the answer is written from."""

    standalone_question: str
    passages: list[Passage]


class AskDeltaEvent(BaseModel):
    """`event: delta`: the next piece of the answer's text."""

    text: str


class AskErrorEvent(BaseModel):
    """`event: error`, last: the answer broke off. `answer` holds the part sent, verified, when there is one."""

    code: str
    message: str
    answer: AskResponse | None = None


class SearchResponse(BaseModel):
    query: str
    passages: list[Passage] = Field(description="Best first; `score` is the fused (or reranked) score.")
    took_ms: float


# --- /v1: OpenAI chat completions ----------------------------------------------------------------------------------


class TextPart(_Request):
    type: Literal["text"]
    text: str


class ChatMessage(_Request):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class ChatCompletionRequest(_Request):
    """OpenAI's request. The last message is the question and must be the user's; earlier user and assistant
    messages are the history. System messages and sampling options are accepted and ignored: the service has its
    own prompt."""

    model: str | None = Field(None, description="Echoed back; GET /v1/models lists the service's name.")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    filters: SearchFilters | None = Field(
        None, description="Not OpenAI's: answer only from these articles (the openai client sends it with extra_body)."
    )


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


def _is_none(value: object) -> bool:
    return value is None


class Replacement(BaseModel):
    """The LLM's answer failed verification and was replaced by an extractive one (RAG_ON_UNVERIFIED=fallback)."""

    content: str = Field(description="The answer to show, with [n] markers that point into `citations`.")
    reason: str = Field(description="Why the LLM's answer was not shown.")
    llm_draft: str = Field(description="The LLM's answer, for debugging.")

    @classmethod
    def of(cls, answer: Answer) -> Replacement | None:
        if answer.llm_draft is None:
            return None
        return cls(content=answer.answer, reason=answer.fallback_reason or "", llm_draft=answer.llm_draft)


class ChatCompletion(BaseModel):
    """OpenAI's response, plus `citations` and `verification` for the [n] markers of the content, and
    `replacement` when the LLM's answer failed verification and the content is the extractive answer."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    citations: list[Citation]
    verification: Verification
    replacement: Replacement | None = Field(None, exclude_if=_is_none)


class ChunkDelta(BaseModel):
    """The first chunk's delta holds the role, the others the next piece of content, the last one nothing."""

    role: Literal["assistant"] | None = Field(None, exclude_if=_is_none)
    content: str | None = Field(None, exclude_if=_is_none)


class ChunkChoice(BaseModel):
    index: int = 0
    delta: ChunkDelta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """One event of a streamed answer. The last one (finish_reason "stop") also carries `citations` and
    `verification`, and `replacement` when the streamed text failed verification: show `replacement.content`
    instead of it; then `data: [DONE]`."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    citations: list[Citation] | None = Field(None, exclude_if=_is_none)
    verification: Verification | None = Field(None, exclude_if=_is_none)
    replacement: Replacement | None = Field(None, exclude_if=_is_none)


class Model(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[Model]


# --- /api/facts: the figures table ---------------------------------------------------------------------------------


class FactsResponse(BaseModel):
    count: int
    facts: list[Fact] = Field(description="Rows of the figures table in text order (rag.facts).")
