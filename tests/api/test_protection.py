"""The real app with keys, CORS, a rate limit and metrics switched on: the wiring of rag.api.security and
rag.api.metrics into create_app (their behaviour in detail: tests/test_api_security.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest
from openai import AuthenticationError, OpenAI

from rag.api import create_app
from rag.config import Settings
from tests.api.conftest import running

KEY = "sk-widget-0123456789"
ALLOWED = "http://127.0.0.1:8123"


@pytest.fixture(scope="module")
def protected_url(module_settings: Settings) -> Iterator[str]:
    settings = module_settings.model_copy(
        update={"api_keys": [KEY], "cors_origins": [ALLOWED], "rate_limit_per_minute": 30}
    )
    with running(create_app(settings)) as url:
        yield url


def test_every_endpoint_but_health_needs_a_key(protected_url: str) -> None:
    with httpx.Client(base_url=protected_url, timeout=30) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        refused = client.get("/api/search", params={"q": "5G基站"})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
        found = client.get("/api/search", params={"q": "5G基站"}, headers={"Authorization": f"Bearer {KEY}"})
        assert found.status_code == 200 and found.json()["passages"]


def test_openai_client_needs_the_key(protected_url: str) -> None:
    with (
        OpenAI(base_url=f"{protected_url}/v1", api_key="wrong", max_retries=0) as client,
        pytest.raises(AuthenticationError),
    ):
        client.models.list()
    with OpenAI(base_url=f"{protected_url}/v1", api_key=KEY, max_retries=0) as client:
        assert [m.id for m in client.models.list().data] == ["huzhou-rag"]


def test_cors_allows_only_the_listed_origin(protected_url: str) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    with httpx.Client(base_url=protected_url, timeout=30) as client:
        allowed = client.options("/api/ask", headers={"Origin": ALLOWED, **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ALLOWED
        other = client.options("/api/ask", headers={"Origin": "http://evil.example", **preflight})
        assert "access-control-allow-origin" not in other.headers


def test_metrics_count_answers_and_requests(protected_url: str) -> None:
    auth = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=protected_url, timeout=60, headers=auth) as client:
        asked = client.post("/api/ask", json={"question": "去年湖州规上工业增加值是多少？", "mode": "extractive"})
        assert asked.status_code == 200
        metrics = client.get("/metrics").text
    assert 'rag_answers_total{answerable="true",mode="extractive"}' in metrics
    assert 'rag_http_requests_total{method="POST",route="/api/ask",status="200"} 1.0' in metrics
