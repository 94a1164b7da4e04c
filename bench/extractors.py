"""Which HTML extractor and which PDF library: the measurements behind rag/ingest/html.py and rag/ingest/pdf.py.

    PYTHONPATH=. .venv/bin/python bench/extractors.py [--real-pages DIR] [--json OUT]

HTML, two sets:
- built pages: every corpus article of two or more paragraphs, put into a news site's article page (navigation,
  an ad, a byline with the date, related links, comments, footer: tests/documents.py), so the true text is
  known: character precision and recall of each extractor's text, and whether it found the title and date;
- real pages (`--real-pages`, a folder of saved Chinese news pages, e.g. the test pages of the
  GeneralNewsExtractor repository: 163, sina, qq, ifeng, people, xinhuanet, thepaper...): no true text, so
  what is counted is whether text came out, whether its title is the page's <h1>, whether a date was found,
  and how many pages leak boilerplate (责任编辑, 相关阅读, 评论, 版权所有...) into the text.
PDF: e-paper pages, their text written row by row across the columns as layout programs often write it: two
articles side by side; and a lead article whose headline spans two body columns beside a one-column article.
Is each article, headline then body, one contiguous run of the extracted text, in reading order?
"""

from __future__ import annotations

import argparse
import difflib
import io
import json
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rag.ingest import load_source
from rag.ingest.html import decode_html
from rag.ingest.text import without_whitespace
from rag.models import Article
from tests.documents import epaper_pdf, news_page, paragraphs, row_by_row_pdf

BOILERPLATE = (
    "责任编辑",
    "相关阅读",
    "相关新闻",
    "相关推荐",
    "网友评论",
    "发表评论",
    "版权所有",
    "Copyright",
    "ICP备",
    "扫一扫",
    "分享到",
    "登录",
)


@dataclass(frozen=True)
class Extracted:
    title: str
    date: str | None
    text: str


def trafilatura_extractor(favor_precision: bool) -> Callable[[str], Extracted]:
    import trafilatura

    def extract(markup: str) -> Extracted:
        document = trafilatura.bare_extraction(
            markup,
            with_metadata=True,
            include_comments=False,
            favor_precision=favor_precision,
            date_extraction_params={"original_date": True, "extensive_search": True},
        )
        if document is None:
            return Extracted("", None, "")
        return Extracted(document.title or "", document.date, document.text or "")

    return extract


def readability_extract(markup: str) -> Extracted:
    import lxml.html
    from readability import Document

    document = Document(markup)
    summary = document.summary(html_partial=True)
    text = lxml.html.fromstring(summary).text_content() if summary.strip() else ""
    return Extracted(document.short_title() or "", None, text)


EXTRACTORS: dict[str, Callable[[str], Extracted]] = {
    "trafilatura (favor_precision)": trafilatura_extractor(True),
    "trafilatura (default)": trafilatura_extractor(False),
    "readability-lxml": readability_extract,
}


def overlap(truth: str, found: str) -> tuple[float, float]:
    """(precision, recall) of `found` against `truth`, in matched characters, whitespace ignored."""
    a, b = without_whitespace(truth), without_whitespace(found)
    if not a or not b:
        return (0.0, 0.0)
    matched = sum(block.size for block in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks())
    return matched / len(b), matched / len(a)


def built_pages(articles: list[Article]) -> list[dict[str, object]]:
    rows = []
    for name, extract in EXTRACTORS.items():
        scores, titles, dates, took = [], 0, 0, []
        for article in articles:
            page = news_page(article, site="湖州在线", date="2023-06-12", url="https://www.hz66.com/a/1.shtml")
            started = time.perf_counter()
            found = extract(page.decode("utf-8"))
            took.append(time.perf_counter() - started)
            scores.append(overlap("".join(paragraphs(article)), found.text))
            titles += found.title.strip() == article.title.replace("\n", " ")
            dates += found.date == "2023-06-12"
        rows.append({
            "extractor": name,
            "pages": len(articles),
            "precision": round(statistics.mean(p for p, _ in scores), 4),
            "recall": round(statistics.mean(r for _, r in scores), 4),
            "title_right": titles,
            "date_right": dates,
            "ms_per_page": round(1000 * statistics.median(took), 1),
        })  # fmt: skip
    return rows


def real_pages(folder: Path) -> list[dict[str, object]]:
    pages = sorted(folder.rglob("*.html"))
    rows = []
    for name, extract in EXTRACTORS.items():
        got_text = titled = dated = leaking = 0
        for path in pages:
            markup, _ = decode_html(path, path.read_bytes())
            found = extract(markup)
            heading = re.search(r"<h1[^>]*>(.*?)</h1>", markup, re.S | re.I)
            h1 = re.sub(r"<[^>]+>|\s+", "", heading.group(1)) if heading else ""
            got_text += len(without_whitespace(found.text)) >= 100
            titled += bool(h1) and without_whitespace(found.title) == h1
            dated += found.date is not None
            leaking += any(marker in found.text for marker in BOILERPLATE)
        rows.append({
            "extractor": name, "pages": len(pages), "text_found": got_text, "title_is_h1": titled,
            "date_found": dated, "boilerplate_leaks": leaking,
        })  # fmt: skip
    return rows


def lead_story_pdf(lead: Article, side: Article) -> bytes:
    """A lead article over two columns (its headline across both) and a second article in a third column."""
    import textwrap

    from reportlab.lib.pagesizes import A4

    width, height = A4
    column = (width - 80 - 40) / 3
    lines: list[tuple[float, float, int, str]] = []
    lines.append((40, height - 60, 18, lead.title.replace("\n", " ")[:22]))
    body = [line for p in paragraphs(lead) for line in textwrap.wrap("  " + p, int(column // 9))]
    rows = int((height - 150) // 13)
    for index, line in enumerate(body[: 2 * rows]):
        x = 40 if index < rows else 40 + column + 20
        lines.append((x, height - 95 - 13 * (index % rows), 9, line))
    x = 40 + 2 * (column + 20)
    lines.append((x, height - 60, 14, side.title.replace("\n", " ")[:11]))
    side_body = [line for p in paragraphs(side) for line in textwrap.wrap("  " + p, int(column // 9))]
    for index, line in enumerate(side_body[:rows]):
        lines.append((x, height - 95 - 13 * index, 9, line))
    return row_by_row_pdf(lines)


def pdf_reading_order(left: Article, right: Article) -> list[dict[str, object]]:
    side_by_side = [left.title + left.text, right.title + right.text]
    return [{"page": "side by side", **row} for row in _reading_order(epaper_pdf([left, right]), side_by_side)] + [
        {"page": "lead over two columns", **row} for row in _lead_story(left, right)
    ]


def _lead_story(lead: Article, side: Article) -> list[dict[str, object]]:
    import textwrap

    width = int(((595.27 - 120) / 3) // 9)
    rows = int((841.89 - 150) // 13)
    lead_lines = [line for p in paragraphs(lead) for line in textwrap.wrap("  " + p, width)][: 2 * rows]
    side_lines = [line for p in paragraphs(side) for line in textwrap.wrap("  " + p, width)][:rows]
    lead_title, side_title = lead.title.replace("\n", " ")[:22], side.title.replace("\n", " ")[:11]
    return _reading_order(
        lead_story_pdf(lead, side), [lead_title + "".join(lead_lines), side_title + "".join(side_lines)]
    )


def _reading_order(data: bytes, texts: list[str]) -> list[dict[str, object]]:
    truths = [without_whitespace(t) for t in texts]

    def pypdf_text() -> str:
        from pypdf import PdfReader

        return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)

    def pdfplumber_text() -> str:
        import pdfplumber

        with pdfplumber.open(io.BytesIO(data)) as pdf:
            return "".join(page.extract_text() or "" for page in pdf.pages)

    def pdfminer_layout() -> str:
        from pdfminer.high_level import extract_text

        return str(extract_text(io.BytesIO(data)))  # LAParams' default layout analysis, boxes_flow=0.5

    def ours() -> str:
        path = Path("/tmp/bench-epaper.pdf")
        path.write_bytes(data)
        return "".join(a.title + a.text for a in load_source(path, 2**26).articles)

    rows = []
    readers = (
        ("pypdf extract_text", pypdf_text),
        ("pdfplumber extract_text", pdfplumber_text),
        ("pdfminer.six layout analysis", pdfminer_layout),
        ("pdfplumber words + XY cut (rag.ingest.pdf)", ours),
    )
    for name, read in readers:
        text = without_whitespace(read())
        contiguous = [truth in text for truth in truths]  # headline, then its body, nothing between
        in_order = all(contiguous) and text.index(truths[0]) < text.index(truths[1])
        _, recall = overlap("".join(truths), text)
        rows.append(
            {"library": name, "articles_whole": sum(contiguous), "in_order": in_order, "recall": round(recall, 4)}
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--real-pages", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    articles = [
        a
        for path in sorted(args.corpus.iterdir())
        if path.suffix in (".txt", ".md")
        for a in load_source(path, 2**26).articles
        if len(paragraphs(a)) >= 2 and len(a.text) >= 200 and a.title
    ]
    results: dict[str, object] = {"html_built_pages": built_pages(articles)}
    if args.real_pages is not None:
        results["html_real_pages"] = real_pages(args.real_pages)
    web = [a for a in articles if a.source_file.startswith("004_")]
    results["pdf_reading_order"] = pdf_reading_order(web[1], web[2])
    for section, rows in results.items():
        print(f"\n## {section}")
        for row in rows:  # type: ignore[attr-defined]
            print(row)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
