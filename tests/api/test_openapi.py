"""The OpenAPI schema lists every endpoint with its request and response models, errors included, so clients
generated from it work."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

ENDPOINTS = {
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/articles"),
    ("get", "/api/articles/{article_id}"),
    ("post", "/api/ask"),
    ("get", "/api/search"),
    ("get", "/v1/models"),
    ("get", "/v1/models/{model}"),
    ("post", "/v1/chat/completions"),
    ("post", "/api/documents"),
    ("get", "/api/documents"),
    ("get", "/api/documents/{document_id}"),
    ("put", "/api/documents/{document_id}"),
    ("delete", "/api/documents/{document_id}"),
    ("get", "/api/jobs/{job_id}"),
}
REQUEST_MODELS = {"/api/ask": "AskRequest", "/v1/chat/completions": "ChatCompletionRequest"}
RESPONSE_MODELS = {
    "/api/ask": "AskResponse",
    "/api/search": "SearchResponse",
    "/v1/chat/completions": "ChatCompletion",
    "/v1/models": "ModelList",
    "/v1/models/{model}": "Model",
    "/api/documents": "DocumentPage",
    "/api/jobs/{job_id}": "Job",
}


@pytest.fixture(scope="module")
def schema(base_url: str) -> dict[str, Any]:
    response = httpx2.get(f"{base_url}/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield method, path, operation


def test_openapi_lists_every_endpoint(schema: dict[str, Any]) -> None:
    assert {(method, path) for method, path, _ in operations(schema)} >= ENDPOINTS


def test_each_endpoint_names_its_request_and_response_models(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        success = "202" if "202" in operation["responses"] else "200"  # document writes answer 202 with their job
        ok = operation["responses"][success]["content"]["application/json"]["schema"]
        assert ok, f"{method} {path} documents no response body"
        if success == "202":
            assert ok == {"$ref": "#/components/schemas/Accepted"}, f"{method} {path}"
        elif path in RESPONSE_MODELS:
            assert ok == {"$ref": f"#/components/schemas/{RESPONSE_MODELS[path]}"}
        if path in REQUEST_MODELS:
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body == {"$ref": f"#/components/schemas/{REQUEST_MODELS[path]}"}
            assert operation["requestBody"]["required"] is True


def test_errors_are_documented_in_the_shape_of_each_prefix(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        model = "OpenAIErrorResponse" if path.startswith("/v1/") else "ErrorResponse"
        wanted = {"400", "413", "422", "503"} if method == "post" else set()
        if operation.get("parameters"):
            wanted.add("422")
        if path.startswith("/api/"):
            wanted.add("503")
        assert wanted <= set(operation["responses"]), f"{method} {path}"
        for status in wanted:
            error = operation["responses"][status]["content"]["application/json"]["schema"]
            assert error == {"$ref": f"#/components/schemas/{model}"}, f"{method} {path} {status}"
    assert "HTTPValidationError" not in schema["components"]["schemas"], "FastAPI's 422 body is never sent"


def test_streams_are_documented_with_their_event_models(schema: dict[str, Any]) -> None:
    ask = schema["paths"]["/api/ask"]["post"]["responses"]["200"]["content"]["text/event-stream"]
    chat = schema["paths"]["/v1/chat/completions"]["post"]["responses"]["200"]["content"]["text/event-stream"]

    assert ask["x-sse-events"] == {
        "passages": "AskPassagesEvent",
        "delta": "AskDeltaEvent",
        "done": "AskResponse",
        "error": "AskErrorEvent",
    }
    assert chat["x-sse-events"] == {"chunk": "ChatCompletionChunk", "error": "OpenAIErrorResponse"}
    assert {"$ref": "#/components/schemas/ChatCompletionChunk"} in chat["schema"]["oneOf"]


def test_every_reference_resolves(schema: dict[str, Any]) -> None:
    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = set(refs(schema))
    assert found
    for ref in found:
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in schema["components"]["schemas"], ref


def test_request_models_carry_their_constraints(schema: dict[str, Any]) -> None:
    ask = schema["components"]["schemas"]["AskRequest"]

    assert ask["required"] == ["question"]
    assert ask["properties"]["question"]["minLength"] == 1
    k = ask["properties"]["k"]["anyOf"][0]
    assert (k["minimum"], k["maximum"]) == (1, 20)
    assert ask["properties"]["mode"]["enum"] == ["auto", "llm", "extractive"]
    history = schema["components"]["schemas"]["HistoryMessage"]
    assert history["properties"]["role"]["enum"] == ["user", "assistant"]
    chat = schema["components"]["schemas"]["ChatCompletionRequest"]
    assert chat["required"] == ["messages"]
    assert chat["properties"]["messages"]["minItems"] == 1
