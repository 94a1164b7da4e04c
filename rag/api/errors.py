"""Every error the HTTP API sends, as JSON, mapped in one place.

Two shapes, by path: OpenAI's on `/v1/*`, so OpenAI clients raise their usual exceptions with our message,
and ours everywhere else:

    {"error": {"code": "question_too_long", "message": "...", "param": "question"}}                   /api, /readyz
    {"error": {"message": "...", "type": "invalid_request_error", "code": "...", "param": "..."}}    /v1

Status codes:

    400  the body is not JSON, or not UTF-8                      invalid_json, invalid_body
    404  no such article, model or route                         article_not_found, model_not_found, not_found
    413  the body is over RAG_MAX_BODY_KIB                       body_too_large
    422  JSON of the wrong shape or type, or over a limit        the pydantic error type (missing, int_type,
                                                                 less_than_equal, literal_error, ...) or ours
                                                                 (empty_question, question_too_long, ...)
    500  a bug: the message says to look at the server log      internal_error
    503  no usable index yet: the message says what to run       index_not_ready
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rag.api.schemas import ErrorResponse, OpenAIErrorResponse
from rag.errors import (
    ArticleNotFoundError,
    ConfigError,
    DocumentNotFoundError,
    IndexError_,
    JobNotFoundError,
    MismatchedTypeError,
    RagError,
    RejectedDocumentError,
    UploadTooLargeError,
)

logger = logging.getLogger(__name__)


class RequestError(RagError):
    """A request the API refuses, with the status, a stable code and the field at fault."""

    def __init__(self, status: int, code: str, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.param = param


# The most specific class wins: ArticleNotFoundError is an IndexError_ too.
_STATUS: dict[type[RagError], tuple[int, str]] = {
    ArticleNotFoundError: (404, "article_not_found"),
    IndexError_: (503, "index_not_ready"),
    ConfigError: (503, "misconfigured"),
    # documents (rag.documents)
    DocumentNotFoundError: (404, "document_not_found"),
    JobNotFoundError: (404, "job_not_found"),
    UploadTooLargeError: (413, "upload_too_large"),
    MismatchedTypeError: (415, "content_type_mismatch"),
    RejectedDocumentError: (422, "document_rejected"),
}
_HTTP_CODES = {400: "invalid_body", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


def error_body(path: str, status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    """The JSON of an error response for a request to `path`: OpenAI's shape under /v1, ours elsewhere."""
    if is_openai_path(path):
        kind = "invalid_request_error" if status < 500 else "server_error"
        return {"error": {"message": message, "type": kind, "code": code, "param": param}}
    return {"error": {"code": code, "message": message, "param": param}}


def error_response(
    request: Request, status: int, code: str, message: str, param: str | None = None, **kwargs: Any
) -> JSONResponse:
    return JSONResponse(error_body(request.url.path, status, code, message, param), status_code=status, **kwargs)


def is_openai_path(path: str) -> bool:
    return path == "/v1" or path.startswith("/v1/")


def install_error_handlers(app: FastAPI, *, max_body_kib: int) -> None:
    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        if isinstance(exc, RequestError):
            return error_response(request, exc.status, exc.code, str(exc), exc.param)
        status, code = next((_STATUS[c] for c in type(exc).__mro__ if c in _STATUS), (500, "internal_error"))
        if status >= 500:
            logger.error("%s %s failed: %s", request.method, request.url.path, exc)
        return error_response(request, status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, code, message, param = describe_validation_errors(exc.errors())
        return error_response(request, status, code, message, param)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
        if exc.status_code == 413:
            message = f"the request body is over the {max_body_kib} KiB limit (RAG_MAX_BODY_KIB)"
        elif exc.status_code == 404:
            message = f"no route {request.method} {request.url.path}; the API is described at /docs"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}; see /docs"
        elif exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            message = "the request body could not be read: send a JSON object encoded as UTF-8"
        else:
            message = str(exc.detail)
        return error_response(request, exc.status_code, code, message, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the exception with its traceback after this handler answers.
        message = "internal error; the server log has the details"
        return error_response(request, 500, "internal_error", message)


def describe_validation_errors(errors: Any) -> tuple[int, str, str, str | None]:
    """(status, code, message, param) for FastAPI's validation errors: the first error gives the code and the
    param; the message lists them all, e.g. "k: Input should be less than or equal to 20"."""
    errors = list(errors)
    first = errors[0]
    if first["type"] == "json_invalid":
        reason = first.get("ctx", {}).get("error", "malformed")
        where = first["loc"][-1] if len(first["loc"]) > 1 else "?"
        return 400, "invalid_json", f"the request body is not valid JSON: {reason} (at character {where})", None
    parts = []
    for error in errors:
        param = _param(error["loc"])
        message = error["msg"]
        if param is None and error["type"] in ("model_attributes_type", "missing"):
            message = "the request body must be a JSON object (Content-Type: application/json)"
        parts.append(f"{param}: {message}" if param else message)
    code = first["type"] if first["type"] != "missing" or _param(first["loc"]) else "missing_body"
    return 422, code, "; ".join(parts), _param(first["loc"])


def _param(loc: tuple[int | str, ...] | list[int | str]) -> str | None:
    """The field at `loc`, dotted: "history.0.role" for ("body", "history", 0, "role"); None for the whole body."""
    parts = [str(part) for part in loc[1:]] if loc and loc[0] in ("body", "query", "path", "header") else list(loc)
    return ".".join(str(part) for part in parts) or None


_DESCRIPTIONS = {
    400: "The body is not JSON, or not UTF-8.",
    401: "No API key, or not an admin key (RAG_ADMIN_API_KEYS) for a write.",
    403: "A key that may not write documents, or document writes are off (no RAG_ADMIN_API_KEYS).",
    404: "No such resource.",
    413: "The body is over RAG_MAX_BODY_KIB (a document: over RAG_MAX_UPLOAD_MB).",
    415: "The document's content is not the type its name or media type claims.",
    422: "The request does not validate, or is over a limit (RAG_MAX_QUESTION_CHARS, RAG_MAX_HISTORY_MESSAGES).",
    500: "A bug; the server log has the details.",
    503: "No usable index yet; the message says what to run (`rag ingest`).",
}


def documented(*statuses: int, openai: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for these error statuses, in the shape of the path's prefix."""
    model = OpenAIErrorResponse if openai else ErrorResponse
    return {status: {"model": model, "description": _DESCRIPTIONS[status]} for status in statuses}
