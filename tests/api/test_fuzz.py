"""The API fuzzed from its own OpenAPI schema with schemathesis, over a real server: whatever a client sends, the
answer is never a 500 and always documented (its status, content type, headers and body match the schema).

Each operation gets a few examples (answerable questions), schemathesis' coverage cases (the boundaries of each
field, wrong types, methods the path does not have) and EXAMPLES generated requests, valid and invalid ones: about
430 requests in all. They go to a uvicorn server on 127.0.0.1 with no LLM (extractive answers: deterministic, no
network) and no rate limit (a 429 would hide what the request got). Generation is deterministic, so a failure
reproduces on every run. Every built-in check runs (not_a_server_error, status_code_conformance,
content_type_conformance, response_schema_conformance, positive_data_acceptance, negative_data_rejection,
unsupported_method, ...), and the three of CHECKS below.

Streams (`stream: true`) are checked event by event. The app documents a stream's `text/event-stream` content with
the models of the events' JSON `data` (`x-sse-events`); schemathesis reads such a schema as the schema of the parsed
event itself (`{"event": ..., "data": "<text>"}`), so the document fuzzed states that instead: the event's name, and
its `data` as JSON of the model (`contentMediaType` and `contentSchema`, which schemathesis validates).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext, GenerationMode, HookContext, Response

from rag.api import create_app
from rag.api.schemas import ChatMessage
from rag.config import Settings
from tests.api.conftest import parse_sse, running

EXAMPLES = 30  # generated requests per operation (operations without parameters have one)
EVENT_STREAM = "text/event-stream"
QUESTION = "去年湖州规上工业增加值是多少？"  # answerable from the corpus: the examples reach the cited answers
CHAT_ROLES = set(ChatMessage.model_json_schema()["properties"]["role"]["enum"])
# The 422s a request valid by the schema may still get: limits that are settings (documented in the 422's
# description; a schema is fixed at import time) and rules across fields.
NOT_IN_THE_SCHEMA = {
    "empty_question",  # blank once stripped: minLength cannot say it
    "question_too_long",  # RAG_MAX_QUESTION_CHARS
    "history_too_long",  # RAG_MAX_HISTORY_MESSAGES
    "invalid_text",  # a lone surrogate: valid JSON, but no UTF-8
    "llm_not_configured",  # mode "llm" on a server without an LLM, as this one is
    "last_message_not_user",  # /v1/chat/completions: the question is the last message, the user's
}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # SSE's; str.splitlines() would also split a JSON string at U+2028


# --- the document fuzzed: the app's own, its streams described per event, with examples ---------------------------


def _event(name: str, data: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A parsed Server-Sent Event (schemathesis names an unnamed one "message") whose `data` is like `data`."""
    properties = {"event": {"const": name}, "data": data}
    return {"type": "object", "required": ["event", "data"], "properties": properties, **more}


def _json_of(models: list[str]) -> dict[str, Any]:
    """Text that is the JSON of one of `models`."""
    refs = [{"$ref": f"#/components/schemas/{model}"} for model in models]
    return {
        "type": "string",
        "contentMediaType": "application/json",
        "contentSchema": refs[0] if len(refs) == 1 else {"oneOf": refs},
    }


def ask_events(events: dict[str, str]) -> dict[str, Any]:
    """POST /api/ask: `event: <name>`, and `data:` the JSON of the model for that name."""
    return {"oneOf": [_event(name, _json_of([model])) for name, model in events.items()]}


def openai_events(events: dict[str, str]) -> dict[str, Any]:
    """POST /v1/chat/completions: unnamed events, each the JSON of a chunk or of an error, or `data: [DONE]`."""
    done = {"properties": {"data": {"const": "[DONE]"}}}
    chunk = {"properties": {"data": _json_of(sorted(set(events.values())))}}
    return _event("message", {"type": "string"}, **{"if": done, "else": chunk})


STREAMS = {"/api/ask": ask_events, "/v1/chat/completions": openai_events}
EXAMPLE_BODIES = {
    "/api/ask": {
        "answer": {"question": QUESTION},
        "stream": {"question": QUESTION, "k": 3, "stream": True},
        "follow-up": {
            "question": "那目前已完成多少公里呢？",
            "history": [
                {"role": "user", "content": "今年湖州计划新增绿道多少公里？"},
                {"role": "assistant", "content": "44公里。"},
            ],
        },
    },
    "/v1/chat/completions": {
        "answer": {"model": "huzhou-rag", "messages": [{"role": "user", "content": QUESTION}]},
        "stream": {"messages": [{"role": "user", "content": QUESTION}], "stream": True},
        "parts": {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
            ],
            "stream": True,
        },
    },
}


def fuzzed_document(document: dict[str, Any]) -> dict[str, Any]:
    """`document`, each event stream's content as the schema of one parsed event (OpenAPI 3.2's `itemSchema`), and
    examples of answerable questions, which random text hardly ever is."""
    document = copy.deepcopy(document)
    for path, methods in document["paths"].items():
        for operation in methods.values():
            content = operation["responses"].get("200", {}).get("content", {})
            if EVENT_STREAM in content:
                content[EVENT_STREAM] = {"itemSchema": STREAMS[path](content[EVENT_STREAM]["x-sse-events"])}
            if path in EXAMPLE_BODIES:
                examples = {name: {"value": body} for name, body in EXAMPLE_BODIES[path].items()}
                operation["requestBody"]["content"]["application/json"]["examples"] = examples
    for parameter in document["paths"]["/api/search"]["get"]["parameters"]:
        if parameter["name"] == "q":
            parameter["example"] = QUESTION
    return document


# The schema does not depend on the settings: it is the app's own document, built without starting the app (the
# server sends the same: test_the_server_sends_the_document_fuzzed).
DOCUMENT = create_app(Settings.model_construct()).openapi()
schema = schemathesis.openapi.from_dict(
    fuzzed_document(DOCUMENT),
    config=schemathesis.Config.from_dict(
        {
            "generation": {"deterministic": True, "database": "none"},  # the same requests on every run
            "max-stream-events": 1000,  # read each stream to its end: the order of its events is checked
            "request-timeout": 60,
            "checks": {
                # A valid request may be refused for a limit the schema cannot state: which 422s may answer one is
                # checked by `valid_requests_refused_only_for_settings`.
                "positive_data_acceptance": {"expected-statuses": ["2XX", "404", "422"]},
            },
        }
    ),
)


# Document writes need an admin key (this server has none: they answer 403 writes_disabled) and each accepted one
# starts an index build; tests/api/test_documents.py drives them against a real server. Their reads are fuzzed.
schema = schema.exclude(path_regex="^/api/documents", method=["POST", "PUT", "DELETE"])


@schema.hook
def map_body(context: HookContext, body: Any) -> Any:
    """/v1/chat/completions answers only when the last message is the user's, which few generated bodies have: make
    it the user's where it has a valid role, or the fuzzing would hardly get past that 422 (coverage cases keep it)."""
    if context.operation is None or context.operation.path != "/v1/chat/completions" or not isinstance(body, dict):
        return body
    messages = body.get("messages")
    if not (isinstance(messages, list) and messages and isinstance(messages[-1], dict)):
        return body
    if messages[-1].get("role") not in CHAT_ROLES:
        return body  # a role the schema refuses: a negative case, kept as it is
    return {**body, "messages": [*messages[:-1], {**messages[-1], "role": "user"}]}


@pytest.fixture(scope="module")
def fuzz_url(module_settings: Settings) -> Iterator[str]:
    """The service without an LLM and without a rate limit."""
    with running(create_app(module_settings.model_copy(update={"rate_limit_per_minute": 0}))) as url:
        yield url


# --- checks beyond schemathesis' own -------------------------------------------------------------------------------


def valid_requests_refused_only_for_settings(ctx: CheckContext, response: Response, case: Case) -> None:
    """A request the schema allows gets a 422 only for a limit that is a setting or a rule across fields."""
    if case.meta is None or case.meta.generation.mode is not GenerationMode.POSITIVE or response.status_code != 422:
        return
    code = response.json()["error"]["code"]
    assert code in NOT_IN_THE_SCHEMA, f"a request valid by the schema got a 422 {code!r}: {response.content!r}"


def errors_in_the_shape_of_the_prefix(ctx: CheckContext, response: Response, case: Case) -> None:
    """Every error, also of a method the path does not have, is JSON with a code and a message: OpenAI's on /v1."""
    if response.status_code < 400:
        return
    error = response.json()["error"]
    if case.path.startswith("/v1/"):
        assert error["type"] == "invalid_request_error" and error["message"] and error["code"], error
    else:
        assert error["code"] and error["message"], error


def streams_only_when_asked_and_in_order(ctx: CheckContext, response: Response, case: Case) -> None:
    """`stream: true` answers Server-Sent Events, anything else JSON. A stream opens and ends as documented:
    passages, deltas, then done or error (/api/ask); the role, content, then the citations or an error, then
    [DONE] (/v1/chat/completions)."""
    if response.status_code != 200 or case.method != "POST":
        return
    content_type = response.headers["content-type"][0]
    streamed = isinstance(case.body, dict) and case.body.get("stream") is True
    assert content_type.startswith(EVENT_STREAM if streamed else "application/json"), (streamed, content_type)
    if not streamed:
        return
    events = list(parse_sse(_LINE_BREAK.split(response.content.decode())))
    if case.path == "/api/ask":
        kinds = [event.event for event in events]
        assert kinds[0] == "passages" and kinds[-1] in ("done", "error"), kinds
        assert set(kinds[1:-1]) <= {"delta"}, kinds
    else:
        assert events[-1].data == "[DONE]", events[-1]
        first, *_, last = [event.json() for event in events[:-1]]
        assert first["choices"][0]["delta"] == {"role": "assistant", "content": ""}, first
        assert "error" in last or (last["choices"][0]["finish_reason"] == "stop" and "citations" in last), last


CHECKS = [
    valid_requests_refused_only_for_settings,
    errors_in_the_shape_of_the_prefix,
    streams_only_when_asked_and_in_order,
]


# --- the tests -----------------------------------------------------------------------------------------------------


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzz(case: Case, fuzz_url: str) -> None:
    case.call_and_validate(base_url=fuzz_url, additional_checks=CHECKS)


def test_articles_listed_are_found_and_others_are_404(fuzz_url: str) -> None:
    """Ids from GET /api/articles, and ids near them, through GET /api/articles/{article_id} and all the checks."""
    listed = [article["id"] for article in httpx2.get(f"{fuzz_url}/api/articles", timeout=30).json()]
    one = listed[0]
    # No "/", "?" or "#": schemathesis sends a path parameter as it is, so those would be another URL.
    near = [one.upper(), f"{one}0", one[:-1], f" {one}", f"{one}\n", "%00", "é", "湖州", "-" * 300]
    operation = schema["/api/articles/{article_id}"]["GET"]
    for article_id in [*listed[:3], *near]:
        case = operation.Case(path_parameters={"article_id": article_id})
        response = case.call_and_validate(base_url=fuzz_url, additional_checks=CHECKS)
        if article_id in listed:
            assert response.status_code == 200 and response.json()["id"] == article_id
        else:
            assert response.status_code == 404 and response.json()["error"]["code"] == "article_not_found", article_id


def test_a_whole_float_k_is_the_int_it_is(fuzz_url: str) -> None:
    """Found by the fuzzing: JSON Schema's integer includes 3.0, which the strict model refused (422 int_type)."""
    operation = schema["/api/ask"]["POST"]
    for k, status in [(3.0, 200), (3, 200), (2.5, 422), ("3", 422)]:
        response = operation.Case(body={"question": QUESTION, "k": k}).call_and_validate(base_url=fuzz_url)
        assert response.status_code == status, (k, response.text)


def test_the_server_sends_the_document_fuzzed(fuzz_url: str) -> None:
    assert httpx2.get(f"{fuzz_url}/openapi.json", timeout=30).json() == DOCUMENT
