"""/api/documents and /api/jobs over a real server: a page, a PDF and a Word document added, asked about, and
deleted; filters on search, ask and /v1; admin keys; limits; a reindex while 20 clients ask."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openai import OpenAI

from rag.api import create_app
from rag.config import Settings
from rag.pipeline import ingest
from tests.api.conftest import copy_index, running
from tests.conftest import BuiltIndex
from tests.documents import epaper_pdf, news_page, word_document

ADMIN = "admin-key"
READER = "reader-key"
ADMIN_HEADERS = {"authorization": f"Bearer {ADMIN}"}
READER_HEADERS = {"authorization": f"Bearer {READER}"}
WEB = "004_90004a5f8ebd7398.txt"  # left out of this server's corpus: only the uploads hold its articles
URL = "https://www.hz66.com/2023/0612/1.shtml"
QUESTION = "上半年湖州有多少家企业实现新升规？"  # answered by the article "湖州工业投资增速领跑全省" alone
FIGURE = "31家"
JOB_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def service_settings(tmp_path_factory: pytest.TempPathFactory, built_index: BuiltIndex) -> Settings:
    settings = copy_index(built_index, tmp_path_factory.mktemp("documents"))
    (settings.corpus_dir / WEB).unlink()
    ingest(settings)
    keys = {"admin_api_keys": [ADMIN], "api_keys": [READER], "rate_limit_per_minute": 0, "max_upload_mb": 2.0}
    return settings.model_copy(update=keys)


@pytest.fixture(scope="module")
def service(service_settings: Settings) -> Iterator[str]:
    with running(create_app(service_settings)) as url:
        yield url


@pytest.fixture(scope="module")
def article(seeds):
    return next(a for a in seeds[WEB].articles if a.title.startswith("湖州工业投资"))


@pytest.fixture(scope="module")
def other(seeds):
    return next(a for a in seeds[WEB].articles if a.title.startswith("吴兴智造"))


def upload(service: str, name: str, data: bytes, **fields: str) -> httpx2.Response:
    files = {"file": (name, data)}
    return httpx2.post(f"{service}/api/documents", files=files, data=fields, headers=ADMIN_HEADERS, timeout=60)


def finished(service: str, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = httpx2.get(f"{service}/api/jobs/{job_id}", headers=READER_HEADERS, timeout=30).json()
        assert 0 <= job["progress"] <= 1
        if job["status"] in ("done", "failed"):
            return dict(job)
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def ask(service: str, question: str, **body: Any) -> dict[str, Any]:
    body = {"question": question, "mode": "extractive", **body}
    response = httpx2.post(f"{service}/api/ask", json=body, headers=READER_HEADERS, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize("kind", ["html", "pdf", "docx"])
def test_documents_a_document_is_added_answered_from_and_deleted(service, article, other, kind):
    files = {
        "html": ("page.html", news_page(article, site="湖州在线", date="2023-06-12", url=URL), {}),
        "pdf": ("a01.pdf", epaper_pdf([article, other]), {"publication": "湖州日报"}),
        "docx": ("report.docx", word_document(article), {"date": "2023-06-12", "publication": "湖州日报"}),
    }
    name, data, fields = files[kind]
    assert not ask(service, QUESTION)["answerable"]

    response = upload(service, name, data, **fields)
    assert response.status_code == 202, response.text
    accepted = response.json()
    job = finished(service, accepted["job_id"])
    assert (job["status"], job["error"], job["document_id"]) == ("done", None, accepted["document_id"])
    assert job["articles"] == (2 if kind == "pdf" else 1) and job["chunks"] > 0

    answer = ask(service, QUESTION)
    assert answer["answerable"] and FIGURE in answer["answer"]
    cited = {(c["title"], c["date"], c["publication"]) for c in answer["citations"]}
    publication = "湖州在线" if kind == "html" else "湖州日报"
    assert (article.title, "2023-06-12", publication) in cited

    document = httpx2.get(f"{service}/api/documents/{accepted['document_id']}", headers=READER_HEADERS).json()
    assert (document["status"], document["format"], document["filename"]) == ("indexed", kind, name)

    deleted = httpx2.delete(f"{service}/api/documents/{accepted['document_id']}", headers=ADMIN_HEADERS)
    assert deleted.status_code == 202
    assert finished(service, deleted.json()["job_id"])["status"] == "done"
    assert not ask(service, QUESTION)["answerable"]
    gone = httpx2.get(f"{service}/api/documents/{accepted['document_id']}", headers=READER_HEADERS)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "document_not_found")


@pytest.fixture
def dated_page(service, article) -> Iterator[str]:
    """The page, dated 2023-06-12, in the index for the test; deleted after it."""
    accepted = upload(service, "page.html", news_page(article, site="湖州在线", date="2023-06-12", url=URL)).json()
    assert finished(service, accepted["job_id"])["status"] == "done"
    yield accepted["document_id"]
    deleted = httpx2.delete(f"{service}/api/documents/{accepted['document_id']}", headers=ADMIN_HEADERS)
    finished(service, deleted.json()["job_id"])


def search(service: str, **params: str) -> list[dict[str, Any]]:
    response = httpx2.get(f"{service}/api/search", params=params, headers=READER_HEADERS, timeout=60)
    assert response.status_code == 200, response.text
    return list(response.json()["passages"])


def test_documents_search_date_filter_returns_only_articles_dated_in_range(service, dated_page):
    in_range = search(service, q="湖州工业投资", date_from="2023-01-01")
    assert in_range and {p["date"] for p in in_range} == {"2023-06-12"}
    assert search(service, q="湖州工业投资", date_from="2023-07-01") == []
    assert {p["publication"] for p in search(service, q="湖州工业投资", publication="湖州在线")} == {"湖州在线"}
    refused = httpx2.get(f"{service}/api/search", params={"q": "x", "date_from": "2023-02-30"}, headers=READER_HEADERS)
    assert refused.status_code == 422


def test_documents_ask_and_chat_filters_narrow_what_may_be_cited(service, dated_page):
    assert ask(service, QUESTION, filters={"date_from": "2023-01-01"})["answerable"]
    assert not ask(service, QUESTION, filters={"date_to": "2022-12-31"})["answerable"]
    with OpenAI(base_url=f"{service}/v1", api_key=READER, max_retries=0, timeout=60) as client:
        messages = [{"role": "user", "content": QUESTION}]
        reply = client.chat.completions.create(
            model="huzhou-rag", messages=messages, extra_body={"filters": {"publication": "湖州在线"}}
        )
        assert FIGURE in (reply.choices[0].message.content or "")
        assert {c["publication"] for c in reply.model_extra["citations"]} == {"湖州在线"}
        narrowed = client.chat.completions.create(
            model="huzhou-rag", messages=messages, extra_body={"filters": {"publication": "新华社"}}
        )
        assert FIGURE not in (narrowed.choices[0].message.content or "")


def test_documents_same_bytes_again_are_the_same_document_and_embed_nothing(service, article, dated_page):
    again = upload(service, "copy.html", news_page(article, site="湖州在线", date="2023-06-12", url=URL))
    assert again.json()["document_id"] == dated_page
    job = finished(service, again.json()["job_id"])
    assert (job["status"], job["embedded"]) == ("done", 0)
    listed = httpx2.get(f"{service}/api/documents", params={"limit": 10}, headers=READER_HEADERS).json()
    assert listed["total"] == 1 and listed["documents"][0]["articles"] == 1


def test_documents_json_text_and_replace(service, article):
    body = {"text": article.text, "title": article.title, "date": "2023-06-12", "publication": "湖州日报"}
    accepted = httpx2.post(f"{service}/api/documents", json=body, headers=ADMIN_HEADERS).json()
    assert finished(service, accepted["job_id"])["status"] == "done"
    assert ask(service, QUESTION)["answerable"]
    replaced = httpx2.put(
        f"{service}/api/documents/{accepted['document_id']}",
        json={"text": "湖州今年举办了一场运动会。\n\n比赛在南太湖新区举行。"},
        headers=ADMIN_HEADERS,
    )
    assert replaced.status_code == 202
    assert finished(service, replaced.json()["job_id"])["status"] == "done"
    assert not ask(service, QUESTION)["answerable"]
    deleted = httpx2.delete(f"{service}/api/documents/{accepted['document_id']}", headers=ADMIN_HEADERS)
    finished(service, deleted.json()["job_id"])


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [({}, 401, "unauthorized"), (READER_HEADERS, 403, "forbidden"), ({"authorization": "Bearer nope"}, 401, None)],
    ids=["no-key", "reader-key", "unknown-key"],
)
def test_documents_writes_need_an_admin_key(service, headers, status, code):
    response = httpx2.post(f"{service}/api/documents", json={"text": "湖州。"}, headers=headers)
    assert response.status_code == status
    if code:
        assert response.json()["error"]["code"] == code
    assert httpx2.delete(f"{service}/api/documents/doc-x", headers=headers).status_code == status


def test_documents_writes_are_off_without_admin_keys(base_url):
    response = httpx2.post(f"{base_url}/api/documents", json={"text": "湖州。"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "writes_disabled")


@pytest.mark.parametrize(
    ("name", "data", "status", "says"),
    [
        ("empty.html", b"", 422, "empty"),
        ("a01.pdf", b"<!DOCTYPE html><html><body><p>x</p></body></html>", 415, "claims to be a PDF"),
        ("big.txt", "湖州".encode() * (2**20), 413, "RAG_MAX_UPLOAD_MB"),
    ],
    ids=["empty", "wrong-type", "too-large"],
)
def test_documents_bad_uploads_get_a_clear_4xx_and_nothing_is_stored(service, name, data, status, says):
    before = httpx2.get(f"{service}/api/documents", headers=READER_HEADERS).json()["total"]
    response = upload(service, name, data)
    assert response.status_code == status
    assert says in response.json()["error"]["message"]
    assert httpx2.get(f"{service}/api/documents", headers=READER_HEADERS).json()["total"] == before


def test_documents_unknown_job_is_404(service):
    response = httpx2.get(f"{service}/api/jobs/job-0000", headers=READER_HEADERS)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "job_not_found")


def test_documents_reindex_while_20_clients_ask_fails_no_request(service, article, other):
    statuses: list[int] = []
    stop = threading.Event()

    def client() -> None:
        with httpx2.Client(base_url=service, headers=READER_HEADERS, timeout=60) as http:
            while not stop.is_set():
                body = {"question": QUESTION, "mode": "extractive"}
                statuses.append(http.post("/api/ask", json=body).status_code)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for thread in threads:
        thread.start()
    try:
        pdf = epaper_pdf([article, other, article.model_copy(update={"title": "湖州工业投资增速领跑全省（续）"})])
        accepted = upload(service, "reindex.pdf", pdf, publication="湖州日报").json()
        job = finished(service, accepted["job_id"])
        answered_after = ask(service, QUESTION)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert job["status"] == "done"
    assert answered_after["answerable"]
    assert len(statuses) >= 20 and set(statuses) == {200}
    deleted = httpx2.delete(f"{service}/api/documents/{accepted['document_id']}", headers=ADMIN_HEADERS)
    finished(service, deleted.json()["job_id"])


def test_documents_originals_are_kept_under_the_index_root(service, service_settings, dated_page):
    originals = service_settings.index_root / ".documents" / service_settings.index_name / "originals"
    assert [p.name for p in originals.iterdir()] == [f"{dated_page}.html"]
    assert Path(originals).resolve().is_relative_to(service_settings.index_root.resolve())
