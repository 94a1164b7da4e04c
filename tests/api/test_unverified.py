"""An LLM answer that fails verification is not shown as the answer (RAG_ON_UNVERIFIED=fallback, the default):
the extractive answer replaces it, the reason says why, and the draft is kept in `llm_draft`. Over a real server,
through /api/ask (JSON and SSE) and /v1 (the openai client, streamed and not), with the fake LLM misbehaving the
way a real small model did: echoing the prompt's passage blocks back, with no citation."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import httpx2 as httpx
import pytest
from openai import OpenAI

from rag.api import create_app
from rag.config import Settings
from tests.api.conftest import parse_sse, running, with_llm
from tests.fake_llm import FakeLLM

QUESTION = "去年湖州规上工业增加值是多少？"
CORRECT = "去年全市规上工业增加值1324.9亿元，同比增长3%[1]。"


def echo_the_passages(messages: list[dict[str, str]]) -> str:
    """What the small model did: repeat the prompt's passage blocks instead of answering."""
    context = messages[0]["content"]
    return context[context.index("<passage") : context.rindex("</passage>") + len("</passage>")]


@pytest.fixture
def fake(module_fake_llm: FakeLLM) -> FakeLLM:
    module_fake_llm.reply = echo_the_passages
    return module_fake_llm


@pytest.fixture(scope="module")
def flag_url(module_settings: Settings, module_fake_llm: FakeLLM) -> Iterator[str]:
    settings = with_llm(module_settings, module_fake_llm).model_copy(update={"on_unverified": "flag"})
    with running(create_app(settings)) as url:
        yield url


def _ask(url: str, **body: object) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=60) as client:
        return client.post("/api/ask", json={"question": QUESTION, **body})


def test_ask_replaces_an_echoed_answer_with_the_extractive_one(llm_base_url: str, fake: FakeLLM) -> None:
    answer = _ask(llm_base_url).json()

    assert answer["llm_draft"].startswith("<passage")
    assert answer["mode"] == "extractive"
    assert answer["fallback_reason"].startswith("the LLM's answer echoed the prompt's passage blocks")
    assert "<passage" not in answer["answer"] and "1324.9亿元" in answer["answer"]
    assert answer["verification"]["ok"] is True
    assert answer["citations"]


def test_ask_stream_ends_with_the_replacement_in_done(llm_base_url: str, fake: FakeLLM) -> None:
    with (
        httpx.Client(base_url=llm_base_url, timeout=60) as client,
        client.stream("POST", "/api/ask", json={"question": QUESTION, "stream": True}) as response,
    ):
        events = list(parse_sse(response.iter_lines()))

    streamed = "".join(e.json()["text"] for e in events if e.event == "delta")
    done = events[-1].json()
    assert events[-1].event == "done"
    assert streamed == done["llm_draft"]  # what was streamed is the draft...
    assert done["answer"] != streamed and "<passage" not in done["answer"]  # ...and done says what to show instead
    assert done["fallback_reason"].startswith("the LLM's answer echoed")


def test_chat_completion_content_is_the_replacement(llm_base_url: str, fake: FakeLLM) -> None:
    with OpenAI(base_url=f"{llm_base_url}/v1", api_key="x", max_retries=0, timeout=60) as client:
        completion = client.chat.completions.create(model="m", messages=[{"role": "user", "content": QUESTION}])

    content = completion.choices[0].message.content or ""
    assert completion.model_extra is not None
    replacement = completion.model_extra["replacement"]
    assert "<passage" not in content and content == replacement["content"]
    assert replacement["llm_draft"].startswith("<passage")
    assert re.search(r"\[\d\]", content)


def test_chat_stream_ends_with_the_replacement_in_the_last_chunk(llm_base_url: str, fake: FakeLLM) -> None:
    with OpenAI(base_url=f"{llm_base_url}/v1", api_key="x", max_retries=0, timeout=60) as client:
        chunks = list(
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": QUESTION}], stream=True)
        )

    streamed = "".join(c.choices[0].delta.content or "" for c in chunks)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra is not None
    replacement = last.model_extra["replacement"]
    assert replacement["llm_draft"] == streamed
    assert "1324.9亿元" in replacement["content"] and replacement["reason"].startswith("the LLM's answer echoed")


def test_a_verified_answer_is_shown_as_it_is(llm_base_url: str, fake: FakeLLM) -> None:
    fake.reply = CORRECT
    answer = _ask(llm_base_url).json()
    assert (answer["answer"], answer["mode"], answer["llm_draft"]) == (CORRECT, "llm", None)


def test_an_invented_figure_with_a_citation_is_replaced(llm_base_url: str, fake: FakeLLM) -> None:
    fake.reply = "去年全市规上工业增加值1500亿元[1]。"
    answer = _ask(llm_base_url).json()
    assert answer["fallback_reason"] == "the LLM's answer stated 1 figure not in the passages it cites"
    assert "1500" not in answer["answer"]


def test_on_unverified_flag_keeps_the_llm_answer(flag_url: str, fake: FakeLLM) -> None:
    answer = _ask(flag_url).json()
    assert answer["mode"] == "llm" and answer["llm_draft"] is None
    assert answer["answer"].startswith("<passage")
    assert answer["verification"]["ok"] is False


def cite_the_passage_with(figure: str, template: str) -> Callable[[list[dict[str, str]]], str]:
    def reply(messages: list[dict[str, str]]) -> str:
        blocks = re.findall(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', messages[0]["content"], re.S)
        return template.format(n=next((n for n, text in blocks if figure in text), "1"))

    return reply


def test_a_target_given_as_the_actual_is_replaced(llm_base_url: str, fake: FakeLLM) -> None:
    """The digits are in the cited passage, but there 180亿元 is the half year's goal, and the question asks what was
    exported: verification reads the row's kind, and the answer is not shown."""
    fake.reply = cite_the_passage_with("180亿元", "安吉经济开发区上半年实际完成自营出口180亿元[{n}]。")
    answer = _ask(llm_base_url, question="安吉经济开发区今年上半年实际完成自营出口多少亿元？").json()

    assert answer["llm_draft"].startswith("安吉经济开发区上半年实际完成自营出口180亿元")
    assert answer["fallback_reason"] == "the LLM's answer gave 180亿元 is a target, not what the question asks"
    assert answer["answerable"] is False
    assert "没有给出实际完成额" in answer["answer"]


def test_a_target_said_to_be_a_target_is_shown(llm_base_url: str, fake: FakeLLM) -> None:
    fake.reply = cite_the_passage_with(
        "180亿元", "资料只给出了目标：半年内实现自营出口总额180亿元[{n}]，没有实际完成额。"
    )
    answer = _ask(llm_base_url, question="安吉经济开发区今年上半年实际完成自营出口多少亿元？").json()

    assert answer["mode"] == "llm" and answer["llm_draft"] is None
    assert answer["verification"]["misread_figures"] == []
