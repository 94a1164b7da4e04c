from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rag.config import Settings
from rag.generate.llm import PLACEHOLDER_API_KEY, ChatMessage, LLMClient, LLMError
from tests.fake_llm import FakeLLM

MESSAGES: list[ChatMessage] = [
    {"role": "system", "content": "只根据给出的资料回答。"},
    {"role": "user", "content": "湖州新建了多少5G基站？"},
]
REPLY = "湖州市2023年新建5G基站773个[1]，全市累计建成1.2万个[2]。"

MakeLLM = Callable[..., LLMClient]


@pytest.fixture
def make_llm(fake_llm: FakeLLM) -> Iterator[MakeLLM]:
    """LLMClients on the fake server, from Settings (no retries unless asked), closed after the test."""
    clients: list[LLMClient] = []

    def make(**overrides: Any) -> LLMClient:
        values: dict[str, Any] = {"llm_base_url": fake_llm.base_url, "llm_model": "fake-model", "llm_retries": 0}
        client = LLMClient.from_settings(Settings(**(values | overrides)))
        assert client is not None
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def _complete(llm: LLMClient) -> str:
    return llm.complete(MESSAGES)


def _stream(llm: LLMClient) -> str:
    return "".join(llm.stream(MESSAGES))


CALLS = pytest.mark.parametrize("call", [_complete, _stream], ids=["complete", "stream"])


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_llm_complete_returns_the_reply(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    fake_llm.reply = REPLY
    assert make_llm().complete(MESSAGES) == REPLY
    assert "stream" not in fake_llm.chat_requests[0].body


def test_llm_stream_yields_the_deltas_in_order(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    fake_llm.reply = REPLY
    fake_llm.delta_chars = 5
    fake_llm.usage_chunk = True  # a usage-only chunk with no choices must be skipped

    deltas = list(make_llm().stream(MESSAGES))

    assert deltas == [REPLY[i : i + 5] for i in range(0, len(REPLY), 5)]
    assert fake_llm.chat_requests[0].body["stream"] is True


def test_llm_reply_can_depend_on_the_messages(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    fake_llm.reply = lambda messages: f"你问的是：{messages[-1]['content']}"
    assert make_llm().complete(MESSAGES) == "你问的是：湖州新建了多少5G基站？"


@CALLS
def test_llm_sends_model_messages_and_sampling_settings(
    fake_llm: FakeLLM, make_llm: MakeLLM, call: Callable[[LLMClient], str]
) -> None:
    call(make_llm(llm_model="qwen2.5:7b", llm_temperature=0.3, llm_max_tokens=123))

    [request] = fake_llm.chat_requests
    assert request.body["model"] == "qwen2.5:7b"
    assert request.body["messages"] == MESSAGES
    assert request.body["temperature"] == 0.3
    assert request.body["max_tokens"] == 123


@pytest.mark.parametrize("variable", ["RAG_LLM_API_KEY", "OPENAI_API_KEY"])
def test_llm_sends_the_api_key_as_bearer(fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv(variable, "sk-test-123")
    fake_llm.required_api_key = "sk-test-123"

    llm = LLMClient.from_settings(Settings(llm_base_url=fake_llm.base_url, llm_model="fake-model"))
    assert llm is not None
    with llm:
        assert llm.complete(MESSAGES)

    assert fake_llm.chat_requests[0].headers["authorization"] == "Bearer sk-test-123"


def test_llm_sends_a_placeholder_key_when_none_is_set(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    make_llm().complete(MESSAGES)
    assert fake_llm.chat_requests[0].headers["authorization"] == f"Bearer {PLACEHOLDER_API_KEY}"


def test_llm_wrong_key_is_an_http_error_that_names_the_setting(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    fake_llm.required_api_key = "sk-right"
    with pytest.raises(LLMError, match="RAG_LLM_API_KEY") as caught:
        make_llm(llm_api_key="sk-wrong").complete(MESSAGES)
    assert (caught.value.reason, caught.value.status_code) == ("http_error", 401)


@CALLS
def test_llm_server_error_is_an_http_error(
    fake_llm: FakeLLM, make_llm: MakeLLM, call: Callable[[LLMClient], str]
) -> None:
    fake_llm.fail_status = 500
    with pytest.raises(LLMError, match="HTTP 500: The server had an error") as caught:
        call(make_llm())
    assert (caught.value.reason, caught.value.status_code) == ("http_error", 500)
    assert len(fake_llm.chat_requests) == 1


@pytest.mark.parametrize(("status", "requests"), [(500, 2), (503, 2), (429, 2), (400, 1), (404, 1)])
def test_llm_retries_only_transient_http_errors(
    fake_llm: FakeLLM, make_llm: MakeLLM, status: int, requests: int
) -> None:
    fake_llm.fail_status = status
    with pytest.raises(LLMError):
        make_llm(llm_retries=1).complete(MESSAGES)
    assert len(fake_llm.chat_requests) == requests


def test_llm_retries_stop_when_the_time_budget_is_spent(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    fake_llm.fail_status = 503
    with pytest.raises(LLMError, match="HTTP 503"):
        make_llm(llm_timeout_s=0.5, llm_retries=10).complete(MESSAGES)
    assert len(fake_llm.chat_requests) == 2  # pauses of 0.25 s, then 0.5 s: the second would overrun the budget


def test_llm_retry_after_a_transient_error_can_succeed(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    fake_llm.reply = REPLY
    fake_llm.fail_status, fake_llm.fail_times = 503, 1
    assert make_llm(llm_retries=1).complete(MESSAGES) == REPLY
    assert len(fake_llm.chat_requests) == 2


@CALLS
@pytest.mark.parametrize("malformed", ["not_json", "no_choices"])
def test_llm_malformed_reply_is_malformed(
    fake_llm: FakeLLM, make_llm: MakeLLM, call: Callable[[LLMClient], str], malformed: Any
) -> None:
    fake_llm.malformed = malformed
    with pytest.raises(LLMError, match="OpenAI chat-completions API") as caught:
        call(make_llm())
    assert caught.value.reason == "malformed"


@CALLS
def test_llm_empty_answer_is_empty(fake_llm: FakeLLM, make_llm: MakeLLM, call: Callable[[LLMClient], str]) -> None:
    fake_llm.reply = "  "
    with pytest.raises(LLMError, match="empty answer") as caught:
        call(make_llm())
    assert caught.value.reason == "empty"


@CALLS
def test_llm_slow_server_is_a_timeout_within_the_budget(
    fake_llm: FakeLLM, make_llm: MakeLLM, call: Callable[[LLMClient], str]
) -> None:
    fake_llm.delay_s = 2.0
    llm = make_llm(llm_timeout_s=0.5, llm_retries=2)

    started = time.monotonic()
    with pytest.raises(LLMError, match=r"did not answer within 0\.5 s") as caught:
        call(llm)

    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 1.5
    assert len(fake_llm.chat_requests) == 1  # a timeout has spent the budget: no retry


def test_llm_stream_timeout_bounds_each_gap_not_the_whole_answer(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    fake_llm.reply = REPLY
    fake_llm.delta_chars = len(REPLY) // 4 + 1  # 4 deltas, 0.25 s apart: 1 s in all, over the 0.5 s budget
    fake_llm.stream_gap_s = 0.25
    assert "".join(make_llm(llm_timeout_s=0.5).stream(MESSAGES)) == REPLY


def test_llm_stream_gap_over_the_timeout_is_a_timeout(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    fake_llm.stream_gap_s = 1.0
    with pytest.raises(LLMError, match=r"sent nothing for 0\.5 s") as caught:
        list(make_llm(llm_timeout_s=0.5).stream(MESSAGES))
    assert caught.value.reason == "timeout"


@CALLS
def test_llm_nothing_listening_is_unreachable(call: Callable[[LLMClient], str]) -> None:
    base_url = f"http://127.0.0.1:{_closed_port()}/v1"
    with LLMClient(base_url=base_url, model="fake-model", retries=0) as llm, pytest.raises(LLMError) as caught:
        call(llm)
    assert caught.value.reason == "unreachable"
    assert str(caught.value) == (
        f"the LLM server at {base_url} is unreachable (connection refused); start it or fix RAG_LLM_BASE_URL"
    )


@pytest.mark.parametrize(
    ("close_delimited", "message"),
    [(False, "connection .* broke mid-answer"), (True, "ended the stream mid-answer")],
    ids=["chunked", "close-delimited"],
)
def test_llm_stream_broken_midway_raises_after_the_first_deltas(
    fake_llm: FakeLLM, make_llm: MakeLLM, close_delimited: bool, message: str
) -> None:
    fake_llm.reply = REPLY
    fake_llm.delta_chars = 4
    fake_llm.break_stream_after = 2
    fake_llm.close_delimited = close_delimited
    received: list[str] = []

    with pytest.raises(LLMError, match=message) as caught:
        for delta in make_llm().stream(MESSAGES):
            received.append(delta)

    assert caught.value.reason == "unreachable"
    assert received == [REPLY[0:4], REPLY[4:8]]


def test_llm_stream_reads_a_close_delimited_body(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    fake_llm.reply = REPLY
    fake_llm.close_delimited = True
    assert "".join(make_llm().stream(MESSAGES)) == REPLY


def test_llm_stream_sends_nothing_until_iterated(fake_llm: FakeLLM, make_llm: MakeLLM) -> None:
    deltas = make_llm().stream(MESSAGES)
    assert fake_llm.requests == []
    assert next(deltas)
    assert len(fake_llm.chat_requests) == 1


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"llm_base_url": "http://127.0.0.1:11434/v1"},
        {"llm_model": "qwen2.5:7b"},
        {"llm_base_url": "", "llm_model": "qwen2.5:7b"},
    ],
)
def test_llm_from_settings_is_none_without_base_url_and_model(settings: dict[str, str]) -> None:
    assert LLMClient.from_settings(Settings(**settings)) is None


def test_llm_describes_itself(make_llm: MakeLLM, fake_llm: FakeLLM) -> None:
    llm = make_llm(llm_model="qwen2.5:7b")
    assert llm.model == "qwen2.5:7b"
    assert llm.describe() == f"qwen2.5:7b @ {fake_llm.base_url}"


def test_fake_llm_lists_its_models(fake_llm: FakeLLM) -> None:
    with urllib.request.urlopen(f"{fake_llm.base_url}/models", timeout=5) as response:
        listing = json.load(response)
    assert [model["id"] for model in listing["data"]] == ["fake-model"]
    assert fake_llm.requests[0].method == "GET"
