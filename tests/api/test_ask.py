"""POST /api/ask (JSON and Server-Sent Events) and GET /api/search over a real server, with and without an LLM."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx2
import pytest

from rag.api.schemas import AskErrorEvent, AskPassagesEvent, AskResponse, SearchResponse
from rag.config import Settings
from rag.embedding import get_embedder
from rag.retrieval import fusion_options, search
from rag.store import open_reader
from tests.api.conftest import Event, parse_sse
from tests.fake_llm import FakeLLM

QUESTION = "去年湖州规上工业增加值是多少？"
SEARCH_QUESTIONS = [
    "截至5月底湖州建了多少个5G基站",
    "How many 5G base stations did Huzhou build?",
    "湖州的绿道有多长？",
    QUESTION,
]
FIGURE = "1324.9"  # in the passage ranked first for QUESTION
CORRECT = "去年全市规上工业增加值1324.9亿元，同比增长3%[1]。"
REFUSED = "2013年湖州全社会用电量是多少亿千瓦时？"  # the corpus does not hold this figure
FIRST_TURN = "今年湖州计划新增绿道多少公里？"
FOLLOW_UP = "那目前已完成多少公里呢？"
HISTORY = [{"role": "user", "content": FIRST_TURN}, {"role": "assistant", "content": "今年计划新增绿道44公里[1]。"}]


def ask(base_url: str, **body: Any) -> httpx2.Response:
    return httpx2.post(f"{base_url}/api/ask", json=body, timeout=60)


def ask_stream(base_url: str, **body: Any) -> list[Event]:
    with httpx2.stream("POST", f"{base_url}/api/ask", json={**body, "stream": True}, timeout=60) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return list(parse_sse(response.iter_lines()))


def test_ask_answers_with_citations_and_verification(base_url: str) -> None:
    response = ask(base_url, question=QUESTION)

    assert response.status_code == 200
    answer = AskResponse.model_validate(response.json())
    assert answer.answerable
    assert answer.mode == "extractive"
    assert FIGURE in answer.answer
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert markers and markers == {c.n for c in answer.citations}
    assert any(FIGURE in c.text for c in answer.citations)
    assert answer.verification.ok
    assert answer.took_ms > 0
    assert "passages" not in response.json()


def test_ask_refuses_what_the_corpus_does_not_hold(base_url: str) -> None:
    answer = AskResponse.model_validate(ask(base_url, question=REFUSED).json())

    assert not answer.answerable
    assert answer.reason
    # It shows what came closest, cited, under a line that says it is not the answer.
    first, heading, *related = answer.answer.splitlines()
    assert (first, heading) == ("资料中没有找到这个问题的答案。", "相关但不是答案：")
    assert [f"[{c.n}]" for c in answer.citations] == [re.findall(r"\[\d+\]", line)[-1] for line in related]
    assert answer.verification.ok


def test_ask_reads_a_follow_up_with_the_history(base_url: str) -> None:
    answer = AskResponse.model_validate(ask(base_url, question=FOLLOW_UP, history=HISTORY, k=3).json())

    assert answer.question == FOLLOW_UP
    assert "绿道" in answer.standalone_question


def test_ask_stream_sends_passages_then_deltas_then_the_whole_result(base_url: str) -> None:
    events = ask_stream(base_url, question=QUESTION, k=4)

    kinds = [e.event for e in events]
    assert kinds[0] == "passages" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"delta"}
    passages = AskPassagesEvent.model_validate(events[0].json())
    assert len(passages.passages) == 4
    assert passages.standalone_question == QUESTION
    done = AskResponse.model_validate(events[-1].json())
    assert "".join(e.json()["text"] for e in events[1:-1]).strip() == done.answer
    assert FIGURE in done.answer
    assert {c.chunk_id for c in done.citations} <= {p.chunk_id for p in passages.passages}


def test_ask_with_the_llm_streams_its_deltas_in_order(llm_base_url: str, fake: FakeLLM) -> None:
    fake.reply = CORRECT

    events = ask_stream(llm_base_url, question=QUESTION)

    deltas = [e.json()["text"] for e in events if e.event == "delta"]
    assert len(deltas) > 1
    assert "".join(deltas) == CORRECT
    done = AskResponse.model_validate(events[-1].json())
    assert done.mode == "llm"
    assert done.answer == CORRECT
    assert [c.n for c in done.citations] == [1]
    assert done.verification.ok


def test_ask_stream_broken_by_the_llm_ends_with_an_error_event(llm_base_url: str, fake: FakeLLM) -> None:
    fake.reply = CORRECT
    fake.break_stream_after = 2

    events = ask_stream(llm_base_url, question=QUESTION)

    assert [e.event for e in events] == ["passages", "delta", "delta", "error"]
    failed = AskErrorEvent.model_validate(events[-1].json())
    assert failed.code == "llm_failed"
    assert "mid-answer" in failed.message
    assert failed.answer is not None
    assert failed.answer.answer == CORRECT[:8]


def test_ask_in_mode_extractive_does_not_call_the_llm(llm_base_url: str, fake: FakeLLM) -> None:
    answer = AskResponse.model_validate(ask(llm_base_url, question=QUESTION, mode="extractive").json())

    assert answer.mode == "extractive"
    assert fake.chat_requests == []


def test_ask_in_mode_llm_without_an_llm_is_refused(base_url: str) -> None:
    response = ask(base_url, question=QUESTION, mode="llm")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "llm_not_configured"
    assert response.json()["error"]["param"] == "mode"


def test_ask_falls_back_to_extractive_when_the_llm_fails(llm_base_url: str, fake: FakeLLM) -> None:
    fake.fail_status = 500

    answer = AskResponse.model_validate(ask(llm_base_url, question=QUESTION).json())

    assert answer.mode == "extractive"
    assert answer.fallback_reason and "HTTP 500" in answer.fallback_reason
    assert FIGURE in answer.answer


@pytest.mark.parametrize("k", [1, 3])
def test_search_returns_ranked_passages(base_url: str, k: int) -> None:
    response = httpx2.get(f"{base_url}/api/search", params={"q": QUESTION, "k": k}, timeout=60)

    assert response.status_code == 200
    result = SearchResponse.model_validate(response.json())
    assert result.query == QUESTION
    assert [p.rank for p in result.passages] == list(range(1, k + 1))
    assert FIGURE in result.passages[0].text
    assert result.took_ms > 0
    first = response.json()["passages"][0]
    expected = {"rank", "chunk_id", "article_id", "title", "publication", "date", "source_file", "text", "score"}
    assert expected <= set(first)


def test_search_serves_32_concurrent_clients_the_passages_the_library_finds(
    base_url: str, module_settings: Settings
) -> None:
    questions = [*SEARCH_QUESTIONS * 8]
    with ThreadPoolExecutor(max_workers=len(questions)) as pool:
        responses = list(
            pool.map(lambda q: httpx2.get(f"{base_url}/api/search", params={"q": q}, timeout=120), questions)
        )

    assert [r.status_code for r in responses] == [200] * len(questions)
    reader = open_reader(module_settings)
    try:
        embedder = get_embedder(module_settings)
        options = fusion_options(module_settings)
        for question in SEARCH_QUESTIONS:
            expected = search(reader, embedder, question, module_settings.answer_passages, "hybrid", options)
            served = [r.json() for q, r in zip(questions, responses, strict=True) if q == question]
            assert all(body["passages"] == [p.model_dump() for p in expected] for body in served)
    finally:
        reader.close()


def test_search_understands_english(base_url: str) -> None:
    response = httpx2.get(f"{base_url}/api/search", params={"q": "How many 5G base stations did Huzhou build?"})

    assert response.status_code == 200
    assert any("5G" in p["text"] for p in response.json()["passages"])
