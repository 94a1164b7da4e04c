"""The embeddable web widget, `GET /widget.js`, and `GET /`, a demo page that embeds it as a site owner would.

    <script src="https://HOST/widget.js" data-api="https://HOST" async></script>

Both are package data (rag/api/static/): plain files, no build step. The script is cached by browsers for an hour
and revalidated by its ETag after that; the demo page is revalidated every time, since it shows this server's
address in its snippet.
"""

from __future__ import annotations

import hashlib
import html
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["widget"], include_in_schema=False)

JAVASCRIPT = "application/javascript; charset=utf-8"
# The demo page loads nothing but its own origin's widget and API: a CSP makes that a rule, not a hope.
DEMO_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


@cache
def asset(name: str) -> bytes:
    """A file of rag/api/static, read once."""
    return (files("rag.api") / "static" / name).read_bytes()


@cache
def etag(name: str) -> str:
    return '"' + hashlib.sha256(asset(name)).hexdigest()[:20] + '"'


@router.api_route("/widget.js", methods=["GET", "HEAD"])
def widget_js(request: Request) -> Response:
    headers = {
        "Cache-Control": "public, max-age=3600",
        "ETag": etag("widget.js"),
        "X-Content-Type-Options": "nosniff",
        # Pages that isolate themselves (Cross-Origin-Embedder-Policy) may still load it from this origin.
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if etag("widget.js") in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(asset("widget.js"), media_type=JAVASCRIPT, headers=headers)


@router.api_route("/", methods=["GET", "HEAD"])
def demo_page(request: Request) -> Response:
    origin = str(request.base_url).rstrip("/")
    page = asset("demo.html").decode("utf-8").replace("{{ORIGIN}}", html.escape(origin))
    headers = {"Cache-Control": "no-cache", "Content-Security-Policy": DEMO_CSP, "X-Content-Type-Options": "nosniff"}
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)
