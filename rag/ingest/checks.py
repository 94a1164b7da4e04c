"""Is an upload what it says it is, and can it be read? Checked before anything is stored, so a refused
upload changes nothing.

    kind = checked_kind(Upload(data=body, filename="a01.pdf", content_type="application/pdf"), settings)
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePath

from rag.config import Settings
from rag.errors import EmptySourceError, MismatchedTypeError, RejectedDocumentError, SourceError, UploadTooLargeError
from rag.ingest import load_source
from rag.ingest.formats import Format, sniff_format
from rag.models import DocumentFields

_BY_EXTENSION: dict[str, Format] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
}
_BY_MEDIA_TYPE: dict[str, Format] = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/plain": "text",
    "text/markdown": "text",
}
_NAMES = {"pdf": "a PDF", "docx": "a Word document (.docx)", "html": "a web page (HTML)", "text": "plain text"}


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str | None = None
    content_type: str | None = None  # the part's media type; application/octet-stream claims nothing


def claimed_format(upload: Upload) -> Format | None:
    """The format the upload's file name or media type claims, if either claims one."""
    media = (upload.content_type or "").split(";")[0].strip().lower()
    if media in _BY_MEDIA_TYPE:
        return _BY_MEDIA_TYPE[media]
    suffix = PurePath(upload.filename or "").suffix.lower()
    return _BY_EXTENSION.get(suffix)


def checked_kind(upload: Upload, settings: Settings, fields: DocumentFields | None = None) -> Format:
    """The upload's format, once it is known to be non-empty, within RAG_MAX_UPLOAD_MB, the format it claims,
    and readable by its loader (a scanned or encrypted PDF, a zip bomb, a damaged file are refused here)."""
    name = PurePath(upload.filename or "the document").name
    limit = int(settings.max_upload_mb * 2**20)
    if not upload.data.strip():
        raise RejectedDocumentError(f"{name} is empty (0 bytes of content); send the document's file")
    if len(upload.data) > limit:
        raise UploadTooLargeError(
            f"{name} is {len(upload.data) / 2**20:.1f} MiB, over the {settings.max_upload_mb:g} MiB limit "
            "(RAG_MAX_UPLOAD_MB); split it or raise the limit"
        )
    path = Path(name)
    try:
        actual = sniff_format(path, upload.data)
    except SourceError as exc:
        raise RejectedDocumentError(str(exc)) from exc
    claimed = claimed_format(upload)
    if claimed is not None and claimed != actual:
        raise MismatchedTypeError(
            f"{name} claims to be {_NAMES[claimed]} but its content is {_NAMES[actual]}; send the file as it is, "
            "with its own name or media type"
        )
    _check_readable(name, actual, upload.data, limit, fields)
    return actual


def _check_readable(name: str, kind: Format, data: bytes, limit: int, fields: DocumentFields | None) -> None:
    suffix = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "text": ".txt"}[kind]
    with tempfile.TemporaryDirectory(prefix="rag-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            loaded = load_source(path, limit, fields)
        except EmptySourceError as exc:
            raise RejectedDocumentError(f"{name} holds no text; send a document with text in it") from exc
        except SourceError as exc:
            raise RejectedDocumentError(str(exc).replace(str(path), name)) from exc
    if not any(a.text.strip() or a.title.strip() for a in loaded.articles):
        raise RejectedDocumentError(f"{name} holds no article text; send a document with text in it")
