"""`/api/documents` and `/api/jobs`: add, replace and delete documents over HTTP, and watch the jobs that index them.

    curl -F file=@page.html -F date=2023-06-12 -H 'authorization: Bearer ADMIN' 127.0.0.1:8000/api/documents
    curl -H 'content-type: application/json' -H 'authorization: Bearer ADMIN' 127.0.0.1:8000/api/documents \
         -d '{"text": "...", "title": "...", "date": "2023-06-12", "publication": "湖州日报"}'
    curl 127.0.0.1:8000/api/jobs/job-…

Writes need a key from RAG_ADMIN_API_KEYS (401 without a key, 403 with another key or when none is set); reads
take the keys every other route takes. The library is rag.documents; this module only parses and renders.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from rag.api.errors import RequestError, documented
from rag.api.security import APIKeys, bearer_token
from rag.api.state import State
from rag.documents import DocumentInfo, Documents, Job
from rag.ingest.checks import Upload
from rag.models import DocumentFields

router = APIRouter(prefix="/api", tags=["documents"])
_Model = TypeVar("_Model", bound=BaseModel)
_FIELDS = ("title", "date", "publication", "url")


class DocumentText(DocumentFields):
    """A document sent as JSON: its text, and the same optional fields as an upload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(min_length=1, description="The document's text (paragraphs separated by blank lines).")


_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": "PDF, DOCX, HTML, TXT or MD"},
                        "title": {"type": "string"},
                        "date": {"type": "string", "format": "date", "description": "Publication date"},
                        "publication": {"type": "string"},
                        "url": {"type": "string"},
                    },
                }
            },
            "application/json": {"schema": DocumentText.model_json_schema()},
        },
    }
}


class Accepted(BaseModel):
    document_id: str
    job_id: str = Field(description="Watch it at GET /api/jobs/{job_id}.")


class DocumentPage(BaseModel):
    total: int
    offset: int
    limit: int
    documents: list[DocumentInfo]


def _documents(request: Request) -> Documents:
    documents: Documents = request.app.state.documents
    return documents


def _require_admin(request: Request) -> None:
    settings = _documents(request).settings
    if not settings.admin_api_keys:
        raise RequestError(403, "writes_disabled", "document writes are off: set RAG_ADMIN_API_KEYS to allow them")
    token = bearer_token(request.scope)
    if token is None:
        raise RequestError(401, "unauthorized", "send 'Authorization: Bearer <key>' with a key from RAG_ADMIN_API_KEYS")
    if APIKeys(settings.admin_api_keys).match(token) is None:
        raise RequestError(403, "forbidden", "this key may not write documents; use one from RAG_ADMIN_API_KEYS")


DocumentsLibrary = Annotated[Documents, Depends(_documents)]
Admin = Depends(_require_admin)
_WRITE_ERRORS = documented(400, 401, 403, 413, 415, 422, 503)


@router.post("/documents", status_code=202, dependencies=[Admin], openapi_extra=_UPLOAD_BODY, responses=_WRITE_ERRORS)
async def add_document(request: Request, documents: DocumentsLibrary, state: State) -> Accepted:
    """Add a document (a multipart `file`, or JSON `text`); 202 with the job that indexes it. The same bytes
    again are the same document, and nothing is embedded again."""
    upload, fields = await _read_upload(request, documents)
    added = await run_in_threadpool(documents.add, upload, fields, state.index)
    return Accepted(document_id=added.document.document_id, job_id=added.job.job_id)


@router.put(
    "/documents/{document_id}",
    status_code=202,
    dependencies=[Admin],
    openapi_extra=_UPLOAD_BODY,
    responses={**_WRITE_ERRORS, **documented(404)},
)
async def replace_document(document_id: str, request: Request, documents: DocumentsLibrary) -> Accepted:
    """Replace a document's file (or text) and fields, keeping its id."""
    upload, fields = await _read_upload(request, documents)
    job = await run_in_threadpool(documents.replace, document_id, upload, fields)
    return Accepted(document_id=document_id, job_id=job.job_id)


@router.delete(
    "/documents/{document_id}", status_code=202, dependencies=[Admin], responses=documented(401, 403, 404, 422, 503)
)
def delete_document(document_id: str, documents: DocumentsLibrary) -> Accepted:
    """Delete a document: its articles leave the index when the job is done."""
    job = documents.delete(document_id)
    return Accepted(document_id=document_id, job_id=job.job_id)


@router.get("/documents", responses=documented(422, 503))
def list_documents(
    documents: DocumentsLibrary,
    state: State,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DocumentPage:
    """The documents sent so far, oldest first, with their status and article and chunk counts."""
    total, page = documents.page(state.index, offset, limit)
    return DocumentPage(total=total, offset=offset, limit=limit, documents=page)


@router.get("/documents/{document_id}", responses=documented(404, 422, 503))
def get_document(document_id: str, documents: DocumentsLibrary, state: State) -> DocumentInfo:
    return documents.get(document_id, state.index)


@router.get("/jobs/{job_id}", responses=documented(404, 422, 503))
def get_job(job_id: str, documents: DocumentsLibrary) -> Job:
    """A job's status (queued, running, done, failed), progress (0..1), counts and error."""
    return documents.job(job_id)


def _refuse_other_methods(path: str, allowed: tuple[str, ...]) -> None:
    """A 405 whose `Allow` names every method of `path`: with several routes on one path, Starlette's own 405 names
    only the methods of the first."""

    def not_allowed() -> None:
        raise HTTPException(405, headers={"Allow": ", ".join(allowed)})

    others = sorted({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"} - set(allowed))
    router.add_api_route(path, not_allowed, methods=others, include_in_schema=False)


_refuse_other_methods("/documents", ("GET", "POST"))
_refuse_other_methods("/documents/{document_id}", ("GET", "PUT", "DELETE"))


async def _read_upload(request: Request, documents: Documents) -> tuple[Upload, DocumentFields]:
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        limit = int(documents.settings.max_upload_mb * 2**20) + 1
        form = await request.form(max_files=1, max_fields=len(_FIELDS), max_part_size=limit)
        try:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                raise RequestError(422, "missing_file", "send the document as the multipart field 'file'", "file")
            values = {name: value for name in _FIELDS if isinstance(value := form.get(name), str) and value}
            fields = _validated(DocumentFields, values)
            return Upload(await file.read(), file.filename, file.content_type), fields
        finally:
            await form.close()
    if media == "application/json":
        text = _validated(DocumentText, await request.json())
        fields = DocumentFields(**text.model_dump(include=set(_FIELDS)))
        return Upload(text.text.encode("utf-8"), "text.txt", "text/plain"), fields
    raise RequestError(
        415, "unsupported_media_type", "send multipart/form-data with a 'file' field, or application/json with 'text'"
    )


def _validated(model: type[_Model], values: Any) -> _Model:
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"]) or None
        raise RequestError(422, first["type"], f"{param}: {first['msg']}" if param else first["msg"], param) from exc
