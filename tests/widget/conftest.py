"""The widget in a real browser: Debian's headless Chromium driven by Playwright, against real servers.

    def test_x(page: Page, sites: Sites) -> None:
        page.goto(sites.api + "/")                      # the demo page, served by the app over the real index

Servers are module-scoped, each over a private copy of the built index with one more article (a passage full of
markup, for the injection test); pages for other origins come from small static servers on other ports.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from rag.api import create_app
from rag.config import Settings
from rag.pipeline import ingest
from tests.api.conftest import copy_index, running, with_llm
from tests.conftest import ROOT, BuiltIndex
from tests.fake_llm import FakeLLM

try:
    from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
except ImportError as exc:  # CI must run these tests: fail, and say how to fix it, rather than skip
    raise ImportError("the browser tests need Playwright: .venv/bin/pip install -e '.[dev]'") from exc

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts"

# An article whose text is markup: rendered as HTML anywhere, it would run its onerror handler.
EVIL_TITLE = "南太湖夜市<b>开张</b>"
EVIL_TEXT = (
    f"{EVIL_TITLE}\n\n"
    '南太湖夜市共设摊位368个<img src=x onerror="window.__pwned=1">，开业首月吸引游客12万人次。'
    "夜市位于南太湖新区，由区商务局牵头运营。"
)
EVIL_QUESTION = "南太湖夜市共设摊位多少个？"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium "
            "(make test installs it with .ci/system-packages); `playwright install` is not used"
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@dataclass
class Watched:
    """What a page did: every URL it requested, and its console errors and uncaught exceptions."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile per test: its own sessionStorage and cache."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    yield context
    context.close()


@pytest.fixture
def watched() -> Watched:
    return Watched()


@pytest.fixture
def page(context: BrowserContext, watched: Watched) -> Page:
    page = context.new_page()
    watch(page, watched)
    return page


def watch(page: Page, watched: Watched) -> None:
    page.on("request", lambda request: watched.requests.append(request.url))
    page.on("console", lambda message: message.type == "error" and watched.errors.append(message.text))
    page.on("pageerror", lambda error: watched.errors.append(str(error)))


# --- servers -------------------------------------------------------------------------------------------------------


class StaticSite:
    """Files of a folder served on 127.0.0.1 at a port of its own: a page of another origin than the API's."""

    def __init__(self, folder: Path) -> None:
        handler = partial(_QuietHandler, directory=str(folder))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="static-site", daemon=True
        )
        self._thread.start()

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass(frozen=True)
class Sites:
    api: str  # the service, extractive answers; its CORS allowlist holds `allowed` but not `denied`
    allowed: str  # another origin, in RAG_CORS_ORIGINS
    denied: str  # another origin, not in it
    pages: Path  # what both of those serve


@pytest.fixture(scope="module")
def widget_settings(tmp_path_factory: pytest.TempPathFactory, built_index: BuiltIndex) -> Settings:
    """The built index plus the markup article (an incremental ingest: only its chunks are embedded)."""
    settings = copy_index(built_index, tmp_path_factory.mktemp("widget"))
    (settings.corpus_dir / "night_market.txt").write_text(EVIL_TEXT, encoding="utf-8")
    ingest(settings)
    return settings


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory, widget_settings: Settings) -> Iterator[Sites]:
    pages = tmp_path_factory.mktemp("pages")
    allowed, denied = StaticSite(pages), StaticSite(pages)
    try:
        settings = widget_settings.model_copy(update={"cors_origins": [allowed.origin]})
        with running(create_app(settings)) as api:
            yield Sites(api, allowed.origin, denied.origin, pages)
    finally:
        allowed.close()
        denied.close()


@pytest.fixture(scope="module")
def llm_api(widget_settings: Settings, module_fake_llm: FakeLLM) -> Iterator[str]:
    """The service answering with the fake LLM, so that answers stream as slowly as a test wants."""
    with running(create_app(with_llm(widget_settings, module_fake_llm))) as url:
        yield url


@pytest.fixture(scope="module")
def llm_flag_api(widget_settings: Settings, module_fake_llm: FakeLLM) -> Iterator[str]:
    """The same, keeping an LLM answer that fails verification (flagged) instead of replacing it."""
    settings = with_llm(widget_settings, module_fake_llm).model_copy(update={"on_unverified": "flag"})
    with running(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def _artifacts() -> Path:
    """Screenshots land in tests/artifacts/ (git-ignored), fresh each run."""
    shutil.rmtree(ARTIFACTS / "widget", ignore_errors=True)
    (ARTIFACTS / "widget").mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / "widget"
