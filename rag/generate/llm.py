"""Chat completions from any OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp), with one error type.

    llm = LLMClient.from_settings(settings)       # None when RAG_LLM_BASE_URL or RAG_LLM_MODEL is not set
    answer = llm.complete([{"role": "user", "content": "湖州新建了多少5G基站？"}])
    for delta in llm.stream(messages):
        ...

Every failure comes out as an `LLMError` whose `reason` a caller can branch on (to answer extractively, say);
nothing from openai or httpx leaks out.

Time budget: `timeout_s` bounds a whole `complete()` call, retries and their pauses included, and the wait for a
stream to start; once a stream has started, it bounds each gap between two chunks rather than the whole answer.
(Underneath, httpx times each network read, not a whole body: a non-streamed reply arrives in one piece when the
model is done, so that one read is the wait; a server trickling it out byte by byte could outlast the budget.)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Literal, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.config import Settings
from rag.errors import RagError

if TYPE_CHECKING:
    # Imported where used at run time: importing openai takes about half a second, and `rag --help` should not.
    import openai
    from openai.types.chat import ChatCompletionMessageParam

ChatMessage = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}
Reason = Literal["unreachable", "timeout", "http_error", "malformed", "empty"]

# Local servers (Ollama, vLLM, llama.cpp) need no key, but the openai client refuses to start without one.
PLACEHOLDER_API_KEY = "not-needed"

_FIRST_RETRY_PAUSE_S = 0.25
_HINTS = {
    401: "; check RAG_LLM_API_KEY (or OPENAI_API_KEY)",
    403: "; check RAG_LLM_API_KEY (or OPENAI_API_KEY)",
    404: "; check RAG_LLM_MODEL, and that RAG_LLM_BASE_URL ends with /v1",
}

_T = TypeVar("_T")


class LLMError(RagError):
    """The LLM gave no usable answer. `reason` is one word to branch on; the message says what happened."""

    def __init__(self, reason: Reason, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.reason: Reason = reason
        self.status_code = status_code


class LLMClient:
    """One model on one OpenAI-compatible server. The HTTP client is made once, here, and reused."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 30.0,
        retries: int = 1,
        temperature: float = 0.1,
        max_tokens: int = 600,
    ) -> None:
        import openai

        self._base_url = base_url
        self._model = model
        self._timeout_s = timeout_s
        self._retries = retries
        self._temperature = temperature
        self._max_tokens = max_tokens
        # Retries are ours (see _request): the openai client would also retry timeouts and overrun the budget.
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key or PLACEHOLDER_API_KEY, timeout=timeout_s, max_retries=0
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient | None:
        if not settings.llm_base_url or not settings.llm_model:
            return None
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout_s=settings.llm_timeout_s,
            retries=settings.llm_retries,
            temperature=settings.llm_temperature,
            max_tokens=settings.llm_max_tokens,
        )

    @property
    def model(self) -> str:
        return self._model

    def describe(self) -> str:
        return f"{self._model} @ {self._base_url}"

    def complete(self, messages: list[ChatMessage]) -> str:
        """The whole answer at once."""
        response = self._request(
            lambda timeout_s: self._client.chat.completions.with_raw_response.create(
                model=self._model,
                messages=_as_params(messages),
                temperature=self._temperature,
                max_tokens=self._max_tokens,
                timeout=timeout_s,
            )
        )
        try:
            completion = _Completion.model_validate_json(response.content)
        except ValidationError as exc:
            raise self._malformed(exc) from exc
        text = completion.choices[0].message.content
        if not text or not text.strip():
            raise LLMError("empty", f"the LLM {self.describe()} gave an empty answer")
        return text

    def stream(self, messages: list[ChatMessage]) -> Iterator[str]:
        """The answer's text deltas, in order. Nothing is sent before the first delta is asked for; a failure,
        before the first delta or after some, is raised by the iterator."""
        import openai

        chunks = self._request(
            lambda timeout_s: self._client.chat.completions.create(
                model=self._model,
                messages=_as_params(messages),
                temperature=self._temperature,
                max_tokens=self._max_tokens,
                stream=True,
                timeout=timeout_s,
            )
        )
        answered = finished = False
        with chunks:  # closes the connection also when the caller stops iterating early
            try:
                for raw_chunk in chunks:
                    for choice in _Chunk.model_validate(raw_chunk, from_attributes=True).choices:
                        if choice.delta is not None and choice.delta.content:
                            answered = answered or not choice.delta.content.isspace()
                            yield choice.delta.content
                        finished = finished or choice.finish_reason is not None
            except openai.OpenAIError as exc:
                raise self._error(exc, mid_stream=True) from exc
            except (json.JSONDecodeError, ValidationError) as exc:
                raise self._malformed(exc) from exc
        # A close-delimited body that is cut short ends cleanly; only the missing finish_reason tells.
        if not finished:
            raise LLMError("unreachable", f"the LLM server at {self._base_url} ended the stream mid-answer")
        if not answered:
            raise LLMError("empty", f"the LLM {self.describe()} gave an empty answer")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, send: Callable[[float], _T]) -> _T:
        """`send(timeout_s)`, tried again after a short pause on a connection error, 429 or 5xx while retries and
        the time budget last. Each try gets only what is left of the budget."""
        import openai

        deadline = time.monotonic() + self._timeout_s
        for attempt in range(self._retries + 1):
            try:
                return send(deadline - time.monotonic())
            except openai.OpenAIError as exc:
                pause_s = _FIRST_RETRY_PAUSE_S * 2**attempt
                if attempt == self._retries or not _is_transient(exc) or time.monotonic() + pause_s >= deadline:
                    raise self._error(exc) from exc
            time.sleep(pause_s)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _error(self, exc: openai.OpenAIError, *, mid_stream: bool = False) -> LLMError:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            waited = "sent nothing for" if mid_stream else "did not answer within"
            return LLMError(
                "timeout",
                f"the LLM {self.describe()} {waited} {self._timeout_s:g} s; raise RAG_LLM_TIMEOUT_S or use a "
                "faster model",
            )
        if isinstance(exc, openai.APIConnectionError):
            if mid_stream:
                return LLMError("unreachable", f"the connection to the LLM server at {self._base_url} broke mid-answer")
            return LLMError(
                "unreachable",
                f"the LLM server at {self._base_url} is unreachable ({_cause(exc)}); start it or fix RAG_LLM_BASE_URL",
            )
        if isinstance(exc, openai.APIStatusError):
            return LLMError(
                "http_error",
                f"the LLM server at {self._base_url} answered HTTP {exc.status_code}: {_detail(exc)}"
                + _HINTS.get(exc.status_code, ""),
                status_code=exc.status_code,
            )
        if isinstance(exc, openai.APIError):  # an error event inside a 200 stream
            return LLMError("http_error", f"the LLM server at {self._base_url} reported an error: {_detail(exc)}")
        return LLMError("malformed", f"the LLM server at {self._base_url} sent an unusable reply: {exc}")

    def _malformed(self, exc: Exception) -> LLMError:
        problem = _first_problem(exc) if isinstance(exc, ValidationError) else str(exc)
        return LLMError(
            "malformed",
            f"the LLM server at {self._base_url} did not answer like an OpenAI chat-completions API ({problem}); "
            "check RAG_LLM_BASE_URL",
        )


class _Shape(BaseModel):
    """The little of a reply we read, checked. The openai client builds its objects without validating them:
    there a missing field reads as None and a wrong type passes through."""

    model_config = ConfigDict(from_attributes=True)


class _Message(_Shape):
    content: str | None = None


class _Choice(_Shape):
    message: _Message


class _Completion(_Shape):
    choices: list[_Choice] = Field(min_length=1)


class _Delta(_Shape):
    content: str | None = None


class _ChunkChoice(_Shape):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Chunk(_Shape):
    choices: list[_ChunkChoice]  # empty in a usage-only chunk


def _as_params(messages: list[ChatMessage]) -> list[ChatCompletionMessageParam]:
    return cast("list[ChatCompletionMessageParam]", messages)


def _is_transient(exc: openai.OpenAIError) -> bool:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return False  # the budget is spent: another try could not finish in time
    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and (exc.status_code == 429 or exc.status_code >= 500)


def _cause(exc: BaseException) -> str:
    """What the network layer said, e.g. "connection refused" rather than "[Errno 111] Connection refused"."""
    cause = exc.__cause__
    if cause is None:
        return str(exc)
    said = re.sub(r"^\[Errno -?\d+\]\s*", "", str(cause)) or type(cause).__name__
    return said[:1].lower() + said[1:]


def _detail(exc: openai.APIError) -> str:
    """The server's own error message when it sent one ({"error": {"message": ...}}), else its body, shortened."""
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    if isinstance(body, str) and body.strip():
        return body.strip()[:200]
    return exc.message


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {error['msg']}" if where else error["msg"]
