"""The widget as a visitor meets it: a real Chromium on the demo page and on other sites' pages, against the real
service (extractive answers, or the fake LLM where an answer must stream slowly)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx2
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from rag.api import create_app
from rag.config import Settings
from tests.api.conftest import running
from tests.fake_llm import FakeLLM
from tests.widget.conftest import ARTIFACTS, EVIL_QUESTION, EVIL_TITLE, Sites, Watched, watch

QUESTION = "湖州建成了多少个5G基站？"
REFUSED = "湖州有多少家米其林餐厅？"
SCREENSHOTS = ARTIFACTS / "widget"
expect.set_options(timeout=20_000)  # an answer on a busy 2-core machine, not a hang

SHADOW = "document.querySelector('huzhou-rag-widget').shadowRoot"
STYLES = """() => {
  const root = document.querySelector('huzhou-rag-widget');
  const pick = (e) => {
    const s = getComputedStyle(e), box = e.getBoundingClientRect();
    return [s.color, s.fontSize, s.fontFamily, s.lineHeight, s.display, s.backgroundColor, s.opacity, s.transform,
            s.boxSizing, box.x, box.y, box.width, box.height];
  };
  const inside = ['.bubble', '.panel', 'h2', '.clear', '.log', '.greeting', 'textarea', '.send', '.foot'];
  return Object.fromEntries([['host', pick(root)], ...inside.map((s) => [s, pick(root.shadowRoot.querySelector(s))])]);
}"""
PROBES = """() => Object.fromEntries(['#probe-button', '#probe-h2', '#probe-mark'].map((id) => {
  const s = getComputedStyle(document.querySelector(id));
  return [id, [s.color, s.fontSize, s.fontFamily, s.display, s.backgroundColor, s.padding, s.verticalAlign]];
}))"""
HOSTILE_CSS = """
  * { color: red !important; font-size: 40px !important; font-family: serif !important; line-height: 3 !important;
      background: yellow !important; box-sizing: content-box !important; }
  button, div, section, textarea, h2, p { display: none !important; }
  huzhou-rag-widget { display: none !important; opacity: 0.1 !important; transform: scale(0.2) !important; }
"""


# --- helpers -------------------------------------------------------------------------------------------------------


def host_page(
    sites: Sites, name: str, *, api: str | None = None, attributes: str = "", head: str = "", widget: bool = True
) -> str:
    """Write a page of another site that embeds the widget as its owner would; its path on the static sites."""
    api = api or sites.api
    tag = f'<script src="{api}/widget.js" data-api="{api}" {attributes} async></script>' if widget else ""
    body = '<h2 id="probe-h2">A host page</h2><p><button id="probe-button">Buy</button> <mark id="probe-mark">m</mark>'
    page = f'<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">{head}</head><body>'
    (sites.pages / name).write_text(f"{page}{body}</p>{tag}</body></html>", encoding="utf-8")
    return f"/{name}"


def open_widget(page: Page) -> None:
    page.locator(".bubble").click()
    expect(page.locator(".panel")).to_be_visible()


def ask(page: Page, question: str) -> Locator:
    """Ask in the widget; the answer's message."""
    page.locator("textarea").fill(question)
    page.locator("textarea").press("Enter")
    return page.locator(".msg.bot:not(.greeting)").last


def finished(answer: Locator) -> Locator:
    expect(answer).to_have_attribute("aria-busy", "false")
    return answer


def focused(page: Page) -> Any:
    """The class of the element that has the focus inside the widget (None when it is outside)."""
    return page.evaluate(f"{SHADOW}.activeElement?.className ?? null")


def cite_after(page: Page, figure: str) -> Locator:
    """The [n] button of the latest answer that cites the sentence holding `figure`."""
    index = page.evaluate(
        """([shadow, figure]) => {
          const cites = [...shadow.querySelectorAll('.msg.bot')].pop().querySelectorAll('.cite');
          return [...cites].findIndex((cite) => {
            let text = '';
            for (let n = cite.previousSibling; n && !n.classList?.contains('cite'); n = n.previousSibling)
              text = n.textContent + text;
            return text.includes(figure);
          });
        }""",
        [page.evaluate_handle(SHADOW), figure],
    )
    assert index >= 0, f"no citation after a sentence with {figure}"
    return page.locator(".msg.bot").last.locator(".cite").nth(index)


def shot(page: Page, name: str) -> Path:
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path


# --- the script and the demo page ----------------------------------------------------------------------------------


def test_widget_js_is_small_cacheable_and_self_contained(sites: Sites) -> None:
    script = httpx2.get(f"{sites.api}/widget.js")
    assert script.status_code == 200
    assert script.headers["content-type"] == "application/javascript; charset=utf-8"
    assert "max-age" in script.headers["cache-control"]
    assert len(script.content) < 40_000
    # The only URLs are the SVG namespace and the usage comment's: the widget fetches nothing but its API.
    urls = set(re.findall(r"https?://[^\s\"'`)]+", script.text))
    assert urls <= {"http://www.w3.org/2000/svg", "https://HOST/widget.js", "https://HOST"}
    again = httpx2.get(f"{sites.api}/widget.js", headers={"If-None-Match": script.headers["etag"]})
    assert again.status_code == 304

    demo = httpx2.get(f"{sites.api}/")
    assert demo.headers["content-type"] == "text/html; charset=utf-8"
    assert demo.text.count("<script") == 1
    assert f'data-api="{sites.api}"' in demo.text  # the snippet to copy names this server


def test_demo_page_embeds_the_widget_without_errors_or_other_hosts(page: Page, sites: Sites, watched: Watched) -> None:
    page.goto(f"{sites.api}/")
    expect(page.locator(".bubble")).to_be_visible()
    assert page.locator("script").count() == 1
    assert page.locator("script").get_attribute("src") == "widget.js"
    examples = page.locator("[data-rag-ask]")
    assert examples.count() >= 3

    # An example question opens the widget and asks it; a question the articles do not answer is answered as such.
    page.get_by_role("button", name=REFUSED).click()
    answer = finished(page.locator(".msg.bot:not(.greeting)").last)
    expect(answer).to_have_class(re.compile(r"\binfo\b"))
    expect(answer.locator(".tag")).to_have_text("ℹ 资料中未找到")
    expect(answer.locator(".alert")).to_have_count(0)
    expect(answer.locator(".text")).to_contain_text("相关但不是答案：")
    expect(answer.locator(".sources .src").first).to_be_visible()  # what came closest, cited
    expect(page.locator(".msg.user")).to_have_text(REFUSED)
    shot(page, "desktop-not-in-corpus.png")

    assert watched.requests and all(url.startswith(f"{sites.api}/") for url in watched.requests), watched.requests
    assert watched.errors == []


def test_widget_opens_by_click_and_keyboard_and_escape_gives_the_focus_back(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/")
    bubble, panel = page.locator(".bubble"), page.locator(".panel")
    expect(bubble).to_have_attribute("aria-expanded", "false")
    expect(bubble).to_have_attribute("aria-controls", "hz-panel")
    expect(panel).to_be_hidden()
    expect(panel).to_have_attribute("role", "dialog")
    expect(page.locator(".log")).to_have_attribute("role", "log")
    expect(page.locator(".log")).to_have_attribute("aria-live", "polite")

    bubble.click()
    expect(panel).to_be_visible()
    expect(bubble).to_have_attribute("aria-expanded", "true")
    assert focused(page) is not None and "textarea" in page.evaluate(f"{SHADOW}.activeElement.tagName.toLowerCase()")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert focused(page) == "bubble"

    page.keyboard.press("Enter")  # the bubble has the focus: a keyboard opens it too
    expect(panel).to_be_visible()
    page.keyboard.press("Tab")
    assert focused(page) == "send"
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    assert focused(page) == "bubble"


# --- answers -------------------------------------------------------------------------------------------------------


def test_a_question_gets_a_cited_answer_whose_citations_open_their_passages(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/")
    open_widget(page)
    with page.expect_response(lambda r: r.url.endswith("/api/ask")) as asked:
        answer = ask(page, QUESTION)
    assert asked.value.headers["content-type"].startswith("text/event-stream")
    finished(answer)
    expect(answer.locator(".text")).to_contain_text("773")
    expect(answer.locator(".cite", has_text="[1]").first).to_be_visible()
    expect(answer.locator(".sources li").first).to_be_visible()
    shot(page, "desktop-answer.png")

    passage = page.locator(".passage")
    answer.locator(".cite", has_text="[1]").first.click()
    expect(passage).to_be_visible()
    expect(passage.locator(".plabel")).to_have_text("引用原文 [1]")
    title = answer.locator(".sources .src", has_text="[1]").locator(".t").text_content()
    expect(passage.locator("h3")).to_have_text(title or "")
    page.keyboard.press("Escape")  # back to the chat, the focus on the citation
    expect(passage).to_be_hidden()
    assert focused(page) == "cite"
    expect(page.locator(".panel")).to_be_visible()

    cite = cite_after(page, "773")
    cite.click()
    expect(passage.locator("blockquote")).to_contain_text("773")
    expect(passage.locator("mark", has_text=re.compile(r"^773$"))).to_have_count(1)
    expect(passage.locator("h3")).not_to_be_empty()
    expect(passage.locator(".meta")).not_to_be_empty()
    shot(page, "desktop-passage.png")
    passage.locator(".back").click()

    page.reload()  # the conversation survives, in sessionStorage, and so does the open panel
    expect(page.locator(".panel")).to_be_visible()
    expect(page.locator(".msg.user")).to_have_text(QUESTION)
    restored = page.locator(".msg.bot:not(.greeting)").last
    expect(restored.locator(".text")).to_contain_text("773")
    cite_after(page, "773").click()
    expect(passage.locator("mark", has_text=re.compile(r"^773$"))).to_have_count(1)


def test_answers_stream_token_by_token_and_stop_stops_them(
    browser: Browser, llm_api: str, fake: FakeLLM, watched: Watched
) -> None:
    answer_text = "截至5月底，湖州建设5G基站773个[n]，完成投资6672.4万元[n]。移动5G和千兆光网行政村实现100%覆盖[n]。"

    def cite_the_passage_with_773(messages: list[dict[str, str]]) -> str:
        blocks = re.findall(r'<passage n="(\d+)"[^>]*>\n(.*?)\n</passage>', messages[0]["content"], re.S)
        n = next((n for n, text in blocks if "773" in text), "1")
        return answer_text.replace("[n]", f"[{n}]")

    fake.reply = cite_the_passage_with_773
    fake.delta_chars, fake.stream_gap_s = 3, 0.08
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    watch(page, watched)
    bodies: list[Any] = []
    page.on("request", lambda r: r.url.endswith("/api/ask") and bodies.append(r.post_data_json))
    try:
        page.goto(f"{llm_api}/")
        open_widget(page)
        answer = ask(page, QUESTION)
        lengths = []
        while answer.get_attribute("aria-busy") != "false":
            lengths.append(len(answer.locator(".text").text_content() or ""))
            time.sleep(0.05)
        grew = sorted(set(lengths) - {len("正在查找资料…")})
        assert len(grew) >= 4, f"the answer arrived in {len(grew)} pieces: {lengths}"
        expect(answer.locator(".text")).to_contain_text("773")
        expect(answer.locator(".sources li")).to_have_count(1)

        fake.stream_gap_s = 0.3
        follow_up = ask(page, "投资了多少？")
        expect(page.locator(".send")).to_have_text("停止")
        expect(follow_up.locator(".text")).to_contain_text("截至")
        page.locator(".send").click()
        expect(follow_up.locator(".note")).to_have_text("已停止回答。")
        expect(page.locator(".send")).to_have_text("发送")
        stopped = follow_up.locator(".text").text_content()
        time.sleep(0.7)
        assert follow_up.locator(".text").text_content() == stopped, "text kept arriving after stop"
        assert stopped and len(stopped) < len(answer_text)

        # The follow-up carried the conversation so far, the answer's markers stripped.
        assert bodies[1]["history"] == [
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": answer_text.replace("[n]", "")},
        ]
        assert bodies[1]["stream"] is True
    finally:
        context.close()


def test_an_unverified_figure_carries_a_visible_warning(page: Page, llm_flag_api: str, fake: FakeLLM) -> None:
    fake.reply = "截至5月底，湖州建设5G基站999个[1]。"  # no passage says 999
    page.goto(f"{llm_flag_api}/")
    open_widget(page)
    answer = finished(ask(page, QUESTION))
    warning = answer.locator(".warn")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("999")
    expect(warning.get_by_role("img")).to_have_attribute("aria-label", "未核实：所引资料中没有这个数字")
    expect(answer.locator(".note.caution")).to_be_visible()
    shot(page, "desktop-unverified.png")


def test_a_streamed_draft_that_fails_verification_is_swapped_for_the_checked_answer(
    page: Page, llm_api: str, fake: FakeLLM
) -> None:
    fake.reply = "截至5月底，湖州建设5G基站999个[1]。"  # streamed, then found unsupported
    page.goto(f"{llm_api}/")
    open_widget(page)
    answer = finished(ask(page, QUESTION))
    text = answer.locator(".text")
    expect(text).not_to_contain_text("999")
    expect(text).to_contain_text("773")
    expect(answer.locator(".note.replaced")).to_have_text("AI 生成的回答未通过核实，以下内容直接摘自资料。")
    expect(answer.locator(".cite").first).to_be_visible()
    shot(page, "desktop-replaced.png")


def test_a_widget_key_is_sent_and_too_many_requests_say_when_to_retry(
    page: Page, sites: Sites, widget_settings: Settings
) -> None:
    # One request a minute per client; a valid key is a client of its own, apart from the IP that got the script.
    update = {"rate_limit_per_minute": 1, "api_keys": ["widget-key"], "cors_origins": [sites.allowed]}
    with running(create_app(widget_settings.model_copy(update=update))) as api:
        headers: list[str | None] = []
        page.on("request", lambda r: r.url == f"{api}/api/ask" and headers.append(r.headers.get("authorization")))
        page.goto(sites.allowed + host_page(sites, "keyed.html", api=api, attributes='data-api-key="widget-key"'))
        open_widget(page)
        expect(finished(ask(page, QUESTION)).locator(".text")).to_contain_text("773")
        refused = finished(ask(page, "那5G投资了多少？"))
        alert = refused.locator(".alert")
        expect(alert).to_have_attribute("role", "alert")
        expect(alert).to_contain_text(re.compile(r"请求太频繁了，请 \d+ 秒后重试。"))  # Retry-After, across origins
        shot(page, "desktop-rate-limited.png")
        alert.get_by_role("button", name="重试").click()
        expect(refused.locator(".alert")).to_contain_text("秒后重试")
        assert headers == ["Bearer widget-key"] * 3
        page.close()


def test_another_site_uses_the_widget_only_when_its_origin_is_allowed(page: Page, sites: Sites) -> None:
    path = host_page(sites, "shop.html")
    page.goto(sites.allowed + path)
    open_widget(page)
    expect(finished(ask(page, QUESTION)).locator(".text")).to_contain_text("773")

    page.goto(sites.denied + path)  # another origin: its own sessionStorage, and no CORS grant
    open_widget(page)
    refused = finished(ask(page, QUESTION))
    expect(refused.locator(".alert")).to_contain_text("无法连接问答服务")
    expect(refused.get_by_role("button", name="重试")).to_be_visible()


def test_markup_in_passages_and_answers_stays_text(page: Page, sites: Sites) -> None:
    page.goto(f"{sites.api}/")
    open_widget(page)
    answer = finished(ask(page, EVIL_QUESTION))
    expect(answer.locator(".text")).to_contain_text('<img src=x onerror="window.__pwned=1">')
    cite_after(page, "368").click()
    expect(page.locator(".passage blockquote")).to_contain_text("<img src=x onerror=")
    expect(page.locator(".passage h3")).to_have_text(EVIL_TITLE)
    page.reload()  # rendered again from sessionStorage
    expect(page.locator(".msg.bot").last.locator(".text")).to_contain_text("<img")
    page.wait_for_timeout(200)  # an injected <img src=x> would have failed to load by now
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate(f"{SHADOW}.querySelectorAll('img, [onerror]').length + document.images.length") == 0
    expect(page.locator(".msg.bot").last.locator(".text *:not(.cite)")).to_have_count(0)


# --- the host page -------------------------------------------------------------------------------------------------


def test_host_page_css_does_not_reach_the_widget_nor_the_widget_css_the_page(
    context: BrowserContext, sites: Sites
) -> None:
    plain, hostile = context.new_page(), context.new_page()
    plain.goto(sites.allowed + host_page(sites, "plain.html"))
    hostile.goto(sites.allowed + host_page(sites, "hostile.html", head=f"<style>{HOSTILE_CSS}</style>"))
    for page in (plain, hostile):
        open_widget(page)
    assert hostile.evaluate(STYLES) == plain.evaluate(STYLES)
    shot(hostile, "desktop-hostile-css.png")

    bare = context.new_page()
    bare.goto(sites.allowed + host_page(sites, "bare.html", widget=False))
    assert plain.evaluate(PROBES) == bare.evaluate(PROBES)  # the widget's button, h2 and mark rules stay inside


def test_attributes_set_language_title_colour_position_and_opening(page: Page, sites: Sites) -> None:
    attributes = (
        'data-lang="en" data-title="Huzhou answers" data-accent="#c0392b" data-position="left" '
        'data-placeholder="Type a question" data-open'
    )
    page.goto(sites.allowed + host_page(sites, "english.html", attributes=attributes))
    expect(page.locator(".panel")).to_be_visible()  # data-open
    expect(page.locator("#hz-title")).to_have_text("Huzhou answers")
    expect(page.locator(".bubble")).to_have_attribute("aria-label", "Close chat")
    expect(page.locator(".greeting")).to_contain_text("Hello!")
    expect(page.locator("textarea")).to_have_attribute("placeholder", "Type a question")
    expect(page.locator(".send")).to_have_text("Send")
    expect(page.locator(".bubble")).to_have_css("background-color", "rgb(192, 57, 43)")
    box = page.locator(".panel").bounding_box()
    assert box is not None and box["x"] < 100  # on the left
    assert focused(page) is None  # opening by itself does not steal the page's focus

    answer = finished(ask(page, "How many 5G base stations had Huzhou built by the end of May?"))
    expect(answer.locator(".sources b")).to_have_text("Sources")
    expect(answer.locator(".text")).to_contain_text("773")


def test_on_a_phone_the_panel_fills_the_screen(browser: Browser, sites: Sites) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        page.goto(f"{sites.api}/")
        shot(page, "phone-demo.png")
        page.locator(".bubble").tap()
        panel = page.locator(".panel")
        expect(panel).to_be_visible()
        assert panel.bounding_box() == {"x": 0, "y": 0, "width": 390, "height": 844}
        expect(page.locator(".bubble")).to_be_hidden()  # the panel's own close button takes its place
        expect(finished(ask(page, QUESTION)).locator(".text")).to_contain_text("773")
        shot(page, "phone-answer.png")
        cite_after(page, "773").tap()
        expect(page.locator(".passage mark", has_text="773")).to_be_visible()
        shot(page, "phone-passage.png")
        page.locator(".close").tap()
        expect(panel).to_be_hidden()
        expect(page.locator(".bubble")).to_be_visible()
    finally:
        context.close()
