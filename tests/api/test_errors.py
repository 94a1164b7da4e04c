"""Bad requests get a 4xx with a JSON error that says what is wrong (OpenAI's shape on /v1), never a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from rag.api.ask import check_question
from rag.api.errors import RequestError
from rag.api.schemas import ErrorResponse, OpenAIErrorResponse
from rag.config import Settings

QUESTION = "湖州新建了多少5G基站？"
JSON = {"Content-Type": "application/json"}
LIMIT_KIB = 64  # RAG_MAX_BODY_KIB's default
TURN = {"role": "user", "content": "你好"}


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


ASK_CASES = [
    # (body, status, code, param)
    pytest.param(_json({"question": ""}), 422, "empty_question", "question", id="empty"),
    pytest.param(_json({"question": " \n\t　"}), 422, "empty_question", "question", id="whitespace"),
    pytest.param(_json({"question": "湖" * 2001}), 422, "question_too_long", "question", id="too-long"),
    pytest.param(
        _json({"question": QUESTION, "history": [TURN] * 21}), 422, "history_too_long", "history", id="history"
    ),
    pytest.param(_json({"question": 42}), 422, "string_type", "question", id="question-not-a-string"),
    pytest.param(_json({"question": [QUESTION]}), 422, "string_type", "question", id="question-a-list"),
    pytest.param(_json({}), 422, "missing", "question", id="no-question"),
    pytest.param(_json({"question": QUESTION, "k": 0}), 422, "greater_than_equal", "k", id="k-0"),
    pytest.param(_json({"question": QUESTION, "k": 21}), 422, "less_than_equal", "k", id="k-21"),
    pytest.param(_json({"question": QUESTION, "k": "5"}), 422, "int_type", "k", id="k-string"),
    pytest.param(_json({"question": QUESTION, "k": True}), 422, "int_type", "k", id="k-bool"),
    pytest.param(_json({"question": QUESTION, "k": 2.5}), 422, "int_type", "k", id="k-float"),
    pytest.param(_json({"question": QUESTION, "mode": "fast"}), 422, "literal_error", "mode", id="mode-unknown"),
    pytest.param(_json({"question": QUESTION, "stream": "yes"}), 422, "bool_type", "stream", id="stream-string"),
    pytest.param(_json({"question": QUESTION, "history": "hi"}), 422, "list_type", "history", id="history-string"),
    pytest.param(
        _json({"question": QUESTION, "history": [{"role": "system", "content": "x"}]}),
        422,
        "literal_error",
        "history.0.role",
        id="history-role",
    ),
    pytest.param(
        _json({"question": QUESTION, "history": [{"role": "user"}]}),
        422,
        "missing",
        "history.0.content",
        id="history-no-content",
    ),
    pytest.param(b'{"question": "\\ud800"}', 422, "invalid_text", "question", id="lone-surrogate"),
    pytest.param(_json([QUESTION]), 422, "model_attributes_type", None, id="body-a-list"),
    pytest.param(b"", 422, "missing_body", None, id="no-body"),
    pytest.param(b'{"question": "', 400, "invalid_json", None, id="truncated-json"),
    pytest.param(b"question=hi", 400, "invalid_json", None, id="not-json"),
    pytest.param('{"question": "湖州"}'.encode("gbk"), 400, "invalid_body", None, id="not-utf8"),
    pytest.param(b'{"question": "\xff\xfe"}', 400, "invalid_body", None, id="invalid-utf8"),
    pytest.param(_json({"question": "湖" * 30_000}), 413, "body_too_large", None, id="too-large"),
]


@pytest.mark.parametrize(("body", "status", "code", "param"), ASK_CASES)
def test_ask_refuses_a_bad_request(base_url: str, body: bytes, status: int, code: str, param: str | None) -> None:
    response = httpx2.post(f"{base_url}/api/ask", content=body, headers=JSON, timeout=60)

    assert response.status_code == status, response.text
    error = ErrorResponse.model_validate(response.json()).error
    assert (error.code, error.param) == (code, param)
    assert error.message
    assert set(response.json()["error"]) == {"code", "message", "param"}


def test_question_at_the_limit_is_accepted() -> None:
    # Unit-tested: embedding a 2000-character question takes seconds.
    settings = Settings()
    check_question("湖" * settings.max_question_chars, settings, "question")
    with pytest.raises(RequestError, match="2001 characters"):
        check_question("湖" * (settings.max_question_chars + 1), settings, "question")


def test_body_over_the_limit_without_a_content_length_is_refused_as_read(base_url: str) -> None:
    def chunks() -> Iterator[bytes]:  # sent chunked: only the bytes read tell the size
        yield b'{"question": "'
        for _ in range(LIMIT_KIB + 1):
            yield b"a" * 1024
        yield b'"}'

    response = httpx2.post(f"{base_url}/api/ask", content=chunks(), headers=JSON, timeout=60)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert f"{LIMIT_KIB} KiB" in response.json()["error"]["message"]


def test_validation_message_names_the_field_and_the_problem(base_url: str) -> None:
    response = httpx2.post(f"{base_url}/api/ask", json={"question": QUESTION, "k": 99}, timeout=60)

    assert response.json()["error"]["message"] == "k: Input should be less than or equal to 20"


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        pytest.param({}, "missing", "q", id="no-q"),
        pytest.param({"q": ""}, "string_too_short", "q", id="empty"),
        pytest.param({"q": "   "}, "empty_question", "q", id="whitespace"),
        pytest.param({"q": "湖" * 2001}, "question_too_long", "q", id="too-long"),
        pytest.param({"q": QUESTION, "k": "many"}, "int_parsing", "k", id="k-not-a-number"),
        pytest.param({"q": QUESTION, "k": 0}, "greater_than_equal", "k", id="k-0"),
        pytest.param({"q": QUESTION, "k": 21}, "less_than_equal", "k", id="k-21"),
    ],
)
def test_search_refuses_a_bad_query(base_url: str, params: dict[str, Any], code: str, param: str) -> None:
    response = httpx2.get(f"{base_url}/api/search", params=params, timeout=60)

    assert response.status_code == 422
    assert (response.json()["error"]["code"], response.json()["error"]["param"]) == (code, param)


def _chat(*messages: dict[str, Any], **extra: Any) -> bytes:
    return _json({"model": "huzhou-rag", "messages": list(messages), **extra})


CHAT_CASES = [
    pytest.param(_chat(), 422, "too_short", "messages", id="no-messages"),
    pytest.param(_chat({"role": "user", "content": "  "}), 422, "empty_question", "messages.0.content", id="blank"),
    pytest.param(
        _chat({"role": "user", "content": "湖" * 2001}), 422, "question_too_long", "messages.0.content", id="too-long"
    ),
    pytest.param(_chat(*[TURN] * 22), 422, "history_too_long", "messages", id="history"),
    pytest.param(
        _chat({"role": "assistant", "content": "x"}), 422, "last_message_not_user", "messages.0.role", id="last"
    ),
    pytest.param(_chat({"role": "robot", "content": "x"}), 422, "literal_error", "messages.0.role", id="role"),
    pytest.param(
        _chat({"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}),
        422,
        "string_type",
        "messages.0.content.str",
        id="image",
    ),
    pytest.param(_chat(TURN, stream="yes"), 422, "bool_type", "stream", id="stream-string"),
    pytest.param(b"{", 400, "invalid_json", None, id="invalid-json"),
    pytest.param(b'{"messages": "\xff"}', 400, "invalid_body", None, id="invalid-utf8"),
    pytest.param(_chat({"role": "user", "content": "湖" * 30_000}), 413, "body_too_large", None, id="too-large"),
]


@pytest.mark.parametrize(("body", "status", "code", "param"), CHAT_CASES)
def test_chat_refuses_a_bad_request_in_openai_shape(
    base_url: str, body: bytes, status: int, code: str, param: str | None
) -> None:
    response = httpx2.post(f"{base_url}/v1/chat/completions", content=body, headers=JSON, timeout=60)

    assert response.status_code == status, response.text
    error = OpenAIErrorResponse.model_validate(response.json()).error
    assert (error.code, error.param, error.type) == (code, param, "invalid_request_error")
    assert set(response.json()["error"]) == {"message", "type", "code", "param"}


def test_history_at_the_limit_is_accepted(base_url: str) -> None:
    history = [{"role": "user", "content": "湖州"}, {"role": "assistant", "content": "好的"}] * 10

    response = httpx2.post(f"{base_url}/api/ask", json={"question": QUESTION, "history": history, "k": 1}, timeout=60)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status", "code", "openai_shape"),
    [
        ("GET", "/api/nothing", 404, "not_found", False),
        ("GET", "/v1/nothing", 404, "not_found", True),
        ("GET", "/api/ask", 405, "method_not_allowed", False),
        ("DELETE", "/v1/chat/completions", 405, "method_not_allowed", True),
        ("GET", "/api/articles/no-such-id", 404, "article_not_found", False),
    ],
)
def test_unknown_routes_and_ids_answer_in_the_error_shape(
    base_url: str, method: str, path: str, status: int, code: str, openai_shape: bool
) -> None:
    response = httpx2.request(method, f"{base_url}{path}", timeout=60)

    assert response.status_code == status
    model = OpenAIErrorResponse if openai_shape else ErrorResponse
    assert model.model_validate(response.json()).error.code == code
