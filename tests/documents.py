"""Real PDF, DOCX and HTML files built from the corpus's own articles, for the loaders' and the API's tests.

pdf = epaper_pdf([article_a, article_b])   # two articles side by side, as on an e-paper page
page = news_page(article, site="湖州在线", date="2023-06-12", url="https://www.hz66.com/2023/0612/1.shtml")
"""

from __future__ import annotations

import html
import io
import textwrap
from pathlib import Path

from rag.models import Article

CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")  # Debian's fonts-wqy-microhei


def paragraphs(article: Article) -> list[str]:
    return [p for p in article.text.split("\n\n") if p.strip()]


def news_page(article: Article, *, site: str, date: str, url: str, charset: str = "utf-8") -> bytes:
    """A news site's article page: navigation, a byline with the date, ads, related links and comments."""
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs(article))
    title = html.escape(article.title.replace("\n", " "))
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head>
<meta charset="{charset}">
<title>{title}_{site}</title>
<meta property="og:site_name" content="{site}">
<meta property="og:title" content="{title}">
<meta property="og:url" content="{url}">
<meta property="article:published_time" content="{date}T08:30:00+08:00">
<link rel="canonical" href="{url}">
</head><body>
<div class="header"><ul class="nav"><li><a href="/">首页</a></li><li><a href="/news/">湖州新闻</a></li>
<li><a href="/gn/">国内</a></li><li><a href="/video/">视频</a></li><li><a href="/login">登录</a></li></ul></div>
<div class="ad banner"><a href="https://ad.example.com/">限时优惠 楼盘火热认购中 点击咨询</a></div>
<div class="main"><div class="article">
<h1 class="title">{title}</h1>
<div class="info"><span class="time">{date} 08:30</span> <span class="source">来源：{site}</span></div>
<div class="content" id="article-content">
{body}
</div>
<div class="editor">责任编辑：王小明</div>
</div>
<div class="related"><h3>相关阅读</h3><ul><li><a href="/a/1.html">我市召开安全生产工作会议</a></li>
<li><a href="/a/2.html">南太湖新区再添新地标</a></li></ul></div>
<div class="comments" id="comments"><h3>网友评论</h3><div class="comment">网友甲：写得好，点赞家乡！</div>
<div class="comment">网友乙：什么时候通地铁？</div></div>
</div>
<div class="footer">Copyright {site} 版权所有 浙ICP备00000000号 联系我们 | 广告服务</div>
</body></html>"""
    return page.encode(charset)


def epaper_pdf(articles: list[Article], *, folio: str = "湖州日报 2023年6月12日 第A01版") -> bytes:
    """One A4 page holding the articles side by side, each a large headline over its body in narrow lines.

    The text is written to the PDF row by row across the columns, as many layout programs write it, so the
    order of the file's text operators is not the reading order: only the geometry tells the columns apart.
    """
    from reportlab.lib.pagesizes import A4

    width, height = A4
    column = (width - 80 - 20 * (len(articles) - 1)) / len(articles)
    lines: list[tuple[float, float, int, str]] = [(40, height - 30, 8, folio), (width / 2 - 10, 30, 8, "A01")]
    for index, article in enumerate(articles):
        x = 40 + index * (column + 20)
        y = height - 70
        for line in textwrap.wrap(article.title.replace("\n", " "), int(column // 16)):
            lines.append((x, y, 16, line))
            y -= 22
        y -= 8
        for paragraph in paragraphs(article):
            for line in textwrap.wrap("\u3000\u3000" + paragraph, int(column // 9)):
                if y >= 60:
                    lines.append((x, y, 9, line.replace("\u3000", " ")))
                y -= 13
    return row_by_row_pdf(lines)


def row_by_row_pdf(lines: list[tuple[float, float, int, str]]) -> bytes:
    """An A4 page of (x, y, font size, text) lines in the CJK font, written top row first, left to right within a
    row: the order many layout programs write, which is not the reading order of columns."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(TTFont("WQY", str(CJK_FONT), subfontIndex=0))
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    for x, y, size, text in sorted(lines, key=lambda line: (-line[1], line[0])):
        page.setFont("WQY", size)
        page.drawString(x, y, text)
    page.save()
    return buffer.getvalue()


def word_document(article: Article, *, table: list[list[str]] | None = None) -> bytes:
    """A .docx with the article's title as a heading, its paragraphs, and a table."""
    import docx

    document = docx.Document()
    document.add_heading(article.title.replace("\n", " "), level=1)
    for paragraph in paragraphs(article):
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
