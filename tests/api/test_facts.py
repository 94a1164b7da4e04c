"""GET /api/facts over a real server: the figures table, filtered."""

from __future__ import annotations

import httpx2

from rag.api.schemas import FactsResponse


def get_facts(base_url: str, **params: str) -> httpx2.Response:
    return httpx2.get(f"{base_url}/api/facts", params=params, timeout=30)


def test_facts_lists_every_row_with_its_slots(base_url: str) -> None:
    response = get_facts(base_url)
    assert response.status_code == 200
    body = FactsResponse.model_validate(response.json())
    assert body.count == len(body.facts) > 500
    assert {f.source_file for f in body.facts} >= {"000_b906d9a3be0f9243.txt", "004_90004a5f8ebd7398.txt"}


def test_facts_filters_by_indicator_place_and_period(base_url: str) -> None:
    body = FactsResponse.model_validate(get_facts(base_url, indicator="规上工业增加值", place="湖州").json())
    assert "1324.9亿元" in [f.text for f in body.facts]
    assert all("规上工业增加值" in f.indicator and f.owner == "湖州" for f in body.facts)
    jinhua = FactsResponse.model_validate(get_facts(base_url, place="金华").json())
    assert jinhua.count and {f.owner for f in jinhua.facts} == {"金华"}
    plans = FactsResponse.model_validate(get_facts(base_url, period="2014", indicator="存量建设用地").json())
    assert [(f.text, f.kind) for f in plans.facts] == [("6200亩", "target")]


def test_facts_refuses_an_overlong_filter(base_url: str) -> None:
    response = get_facts(base_url, indicator="增" * 101)
    assert response.status_code == 422
