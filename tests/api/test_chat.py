"""/v1: the OpenAI-compatible API, driven by the official openai client, over a real server and the fake LLM."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import httpx2
import openai
import pytest
from openai import OpenAI

from rag.answer import Citation
from rag.api.schemas import AskResponse
from rag.verify import Verification
from tests.api.conftest import parse_sse
from tests.fake_llm import FakeLLM

QUESTION = "去年湖州规上工业增加值是多少？"
CORRECT = "去年全市规上工业增加值1324.9亿元，同比增长3%[1]。"
SERVICE_MODEL = "huzhou-rag"  # RAG_SERVICE_MODEL's default
FIRST_TURN = "今年湖州计划新增绿道多少公里？"
FOLLOW_UP = "那目前已完成多少公里呢？"
STANDALONE = "今年湖州计划新增的绿道目前已完成多少公里？"


@pytest.fixture
def client(llm_base_url: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=f"{llm_base_url}/v1", api_key="x", max_retries=0, timeout=30) as client:
        yield client


def test_chat_completion_is_a_cited_answer(client: OpenAI, fake: FakeLLM) -> None:
    fake.reply = CORRECT

    completion = client.chat.completions.create(
        model="any-name", messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": QUESTION}]
    )

    assert completion.object == "chat.completion"
    assert completion.model == "any-name"
    content = completion.choices[0].message.content
    assert content == CORRECT
    assert completion.choices[0].finish_reason == "stop"
    assert completion.model_extra is not None
    citations = [Citation.model_validate(c) for c in completion.model_extra["citations"]]
    assert [c.n for c in citations] == [int(n) for n in re.findall(r"\[(\d+)\]", content)]
    assert "1324.9" in citations[0].text
    assert Verification.model_validate(completion.model_extra["verification"]).ok
    prompt = fake.chat_requests[-1].body["messages"]
    assert QUESTION in prompt[-1]["content"]
    assert "Be brief." not in str(prompt), "the caller's system message does not replace the service's prompt"


def test_chat_stream_yields_chunks_in_order_and_citations_last(client: OpenAI, fake: FakeLLM) -> None:
    fake.reply = CORRECT

    chunks = list(client.chat.completions.create(model=SERVICE_MODEL, messages=_ask(QUESTION), stream=True))

    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == CORRECT
    assert len([c for c in chunks if c.choices[0].delta.content]) > 1
    assert [c.choices[0].finish_reason for c in chunks] == [None] * (len(chunks) - 1) + ["stop"]
    last = chunks[-1].model_extra
    assert last is not None
    assert [c["n"] for c in last["citations"]] == [1]
    assert last["verification"]["ok"] is True
    assert all(not c.model_extra or "citations" not in c.model_extra for c in chunks[:-1])


def test_chat_stream_ends_with_done(llm_base_url: str, fake: FakeLLM) -> None:
    body = {"model": SERVICE_MODEL, "messages": _ask(QUESTION), "stream": True}
    with httpx2.stream("POST", f"{llm_base_url}/v1/chat/completions", json=body, timeout=30) as response:
        events = list(parse_sse(response.iter_lines()))

    assert events[-1].data == "[DONE]"
    assert events[-2].json()["choices"][0]["finish_reason"] == "stop"


def test_chat_reads_a_follow_up_with_the_history(client: OpenAI, fake: FakeLLM) -> None:
    def condense_or_answer(messages: list[dict[str, str]]) -> str:
        return STANDALONE if "完整问题：" in messages[-1]["content"] else "已完成31公里[1]。"

    fake.reply = condense_or_answer
    history = [{"role": "user", "content": FIRST_TURN}, {"role": "assistant", "content": "计划新增绿道44公里[1]。"}]

    completion = client.chat.completions.create(model=SERVICE_MODEL, messages=[*history, *_ask(FOLLOW_UP)])

    assert len(fake.chat_requests) == 2
    assert f"用户：{FIRST_TURN}" in fake.chat_requests[0].body["messages"][-1]["content"]
    assert STANDALONE in fake.chat_requests[1].body["messages"][-1]["content"]
    assert completion.choices[0].message.content == "已完成31公里[1]。"


def test_chat_accepts_content_as_text_parts(client: OpenAI, fake: FakeLLM) -> None:
    fake.reply = CORRECT

    completion = client.chat.completions.create(
        model=SERVICE_MODEL, messages=[{"role": "user", "content": [{"type": "text", "text": QUESTION}]}]
    )

    assert completion.choices[0].message.content == CORRECT
    assert QUESTION in fake.chat_requests[-1].body["messages"][-1]["content"]


def test_chat_stream_broken_by_the_llm_ends_with_an_error(client: OpenAI, fake: FakeLLM) -> None:
    fake.reply = CORRECT
    fake.break_stream_after = 2

    received = []
    with pytest.raises(openai.APIError, match="mid-answer"):
        for chunk in client.chat.completions.create(model=SERVICE_MODEL, messages=_ask(QUESTION), stream=True):
            received.append(chunk.choices[0].delta.content or "")

    assert "".join(received) == CORRECT[:8]


def test_chat_stream_broken_by_the_llm_still_ends_with_done(llm_base_url: str, fake: FakeLLM) -> None:
    fake.reply = CORRECT
    fake.break_stream_after = 1
    body = {"model": SERVICE_MODEL, "messages": _ask(QUESTION), "stream": True}

    with httpx2.stream("POST", f"{llm_base_url}/v1/chat/completions", json=body, timeout=30) as response:
        events = list(parse_sse(response.iter_lines()))

    assert events[-1].data == "[DONE]"
    error = events[-2].json()["error"]
    assert error["type"] == "server_error"
    assert error["code"] == "llm_failed"


def test_chat_falls_back_to_extractive_when_the_llm_is_down(client: OpenAI, fake: FakeLLM) -> None:
    fake.fail_status = 503

    completion = client.chat.completions.create(model=SERVICE_MODEL, messages=_ask(QUESTION))

    assert "1324.9" in (completion.choices[0].message.content or "")
    assert completion.model_extra and completion.model_extra["citations"]


def test_models_lists_the_service_model(client: OpenAI) -> None:
    models = client.models.list()

    assert [m.id for m in models.data] == [SERVICE_MODEL]
    assert client.models.retrieve(SERVICE_MODEL).owned_by == "huzhou-rag"
    with pytest.raises(openai.NotFoundError) as caught:
        client.models.retrieve("gpt-4o")
    assert caught.value.code == "model_not_found"


def test_chat_errors_come_in_openai_shape(client: OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.chat.completions.create(model=SERVICE_MODEL, messages=[{"role": "assistant", "content": "你好"}])

    assert caught.value.code == "last_message_not_user"
    assert caught.value.type == "invalid_request_error"
    assert caught.value.param == "messages.0.role"
    assert "user's question" in caught.value.message


@pytest.mark.parametrize("endpoint", ["/api/ask", "/v1/chat/completions"])
def test_a_client_that_leaves_mid_stream_stops_the_llm_stream(llm_base_url: str, fake: FakeLLM, endpoint: str) -> None:
    fake.reply = "湖州" * 300
    fake.stream_gap_s = 0.05  # 150 deltas: 7.5 s to the end
    body = (
        {"question": QUESTION, "stream": True}
        if endpoint == "/api/ask"
        else {"model": SERVICE_MODEL, "messages": _ask(QUESTION), "stream": True}
    )

    started = time.monotonic()
    with httpx2.stream("POST", f"{llm_base_url}{endpoint}", json=body, timeout=30) as response:
        events = parse_sse(response.iter_lines())
        deltas = [next(events) for _ in range(4)]
        assert all(e.data for e in deltas)
        assert _llm_streams() == 1
    # The response is closed: the service must close its stream from the LLM soon, not read it to the end.
    deadline = time.monotonic() + 3
    while _llm_streams() and time.monotonic() < deadline:
        time.sleep(0.02)

    assert _llm_streams() == 0
    assert time.monotonic() - started < 5


def test_ask_stream_result_matches_the_json_answer(llm_base_url: str, fake: FakeLLM) -> None:
    fake.reply = CORRECT
    body = {"question": QUESTION}

    plain = AskResponse.model_validate(httpx2.post(f"{llm_base_url}/api/ask", json=body, timeout=30).json())
    with httpx2.stream("POST", f"{llm_base_url}/api/ask", json={**body, "stream": True}, timeout=30) as response:
        done = AskResponse.model_validate(list(parse_sse(response.iter_lines()))[-1].json())

    assert done.model_dump(exclude={"took_ms"}) == plain.model_dump(exclude={"took_ms"})


def _ask(question: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": question}]


def _llm_streams() -> int:
    """Requests the fake LLM is serving now: each runs in a thread of its ThreadingHTTPServer."""
    return sum(1 for t in threading.enumerate() if t.name.endswith("(process_request_thread)"))
