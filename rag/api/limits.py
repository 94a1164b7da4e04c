"""The request body limit (RAG_MAX_BODY_KIB), as pure ASGI middleware: it streams nothing itself, so responses
and disconnects pass through it untouched.

    app.add_middleware(BodyLimit, max_bytes=64 * 1024)

A body whose Content-Length is over the limit is refused at once, unread. Content-Length may be missing (a
chunked body) or wrong, so the bytes actually read are counted too: past the limit, reading raises a 413, which
FastAPI passes on to the error handlers (rag.api.errors), whatever endpoint was reading.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.api.errors import error_body


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_prefix: str = "",
        max_upload_bytes: int = 0,
        setting: str = "RAG_MAX_BODY_KIB",
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.setting = setting
        self.upload_prefix = upload_prefix  # document uploads have their own, larger limit (RAG_MAX_UPLOAD_MB)
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.upload_prefix and scope["path"].startswith(self.upload_prefix):
            await BodyLimit(self.app, self.max_upload_bytes, setting="RAG_MAX_UPLOAD_MB")(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            message = f"the request body is {int(declared)} bytes, over the limit of {self.max_bytes // 1024} KiB"
            body = error_body(scope["path"], 413, "body_too_large", message + f" ({self.setting})")
            # The body stays unread, so the connection cannot carry another request.
            await JSONResponse(body, status_code=413, headers={"Connection": "close"})(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413)
            return message

        await self.app(scope, counted, send)
