"""Every error this package raises on purpose.

RagError
 ├── ConfigError              a setting is missing or invalid
 ├── EmbeddingServerError     a remote embedding server is down, fails, or answers with the wrong shape
 │    └── EmbeddingServersError  every one of several servers was down or failing
 ├── CorpusError              the corpus as a whole cannot be read
 │    └── SourceError         one source file cannot be ingested
 │         ├── EmptySourceError
 │         ├── BinaryFileError
 │         ├── UndecodableFileError
 │         └── FileTooLargeError
 ├── IndexError_              the on-disk index is missing, locked or incompatible
 │    ├── IndexNotFoundError
 │    ├── IndexLockedError
 │    └── ArticleNotFoundError
 └── DocumentError            a document request cannot be carried out
      ├── DocumentNotFoundError, JobNotFoundError
      └── RejectedDocumentError  (the upload is empty, too large or not what it claims)
SourceError also has DocumentFormatError: ScannedPdfError, EncryptedPdfError, DamagedDocumentError, ZipBombError.

Messages say what failed and what to do about it.
"""

from __future__ import annotations

from pathlib import Path


class RagError(Exception):
    """Base class: a problem the user can act on."""


class ConfigError(RagError):
    pass


class EmbeddingServerError(RagError):
    """RAG_EMBEDDER=openai: the server at `base_url` gave no usable vectors; the message says why."""

    def __init__(self, base_url: str, message: str) -> None:
        self.base_url = base_url
        super().__init__(f"the embedding server at {base_url} {message}")


class EmbeddingServersError(EmbeddingServerError):
    """Several RAG_EMBEDDING_BASE_URL servers were tried for one batch, in turn, and none answered."""

    def __init__(self, failures: list[EmbeddingServerError]) -> None:
        self.failures = tuple(failures)
        self.base_url = failures[-1].base_url
        self.base_urls = tuple(failure.base_url for failure in failures)
        tried = "; ".join(str(failure) for failure in failures)
        RagError.__init__(self, f"no embedding server answered ({len(failures)} tried in turn): {tried}")


class CorpusError(RagError):
    pass


class SourceError(CorpusError):
    """One source file could not be ingested; the others still can."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        super().__init__(f"{path}: {message}")


class EmptySourceError(SourceError):
    """Not fatal: an empty file is skipped with a warning."""


class BinaryFileError(SourceError):
    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(path, f"looks like a binary file ({reason}), not text; remove it from the corpus")


class UndecodableFileError(SourceError):
    def __init__(self, path: Path, tried: list[str]) -> None:
        super().__init__(
            path,
            f"is not valid text in any supported encoding (tried {', '.join(tried)}); re-save it as UTF-8",
        )


class FileTooLargeError(SourceError):
    def __init__(self, path: Path, size_bytes: int, limit_bytes: int) -> None:
        super().__init__(
            path,
            f"is {size_bytes / 2**20:.1f} MiB, over the {limit_bytes / 2**20:.0f} MiB limit per source file; "
            "split it into smaller files or raise RAG_MAX_SOURCE_MB",
        )


class IndexError_(RagError):  # trailing underscore: do not shadow the builtin IndexError
    pass


class IndexNotFoundError(IndexError_):
    def __init__(self, path: Path | str) -> None:
        super().__init__(f"no index at {path}; build it with `rag ingest` (or `make serve`)")


class IndexLockedError(IndexError_):
    def __init__(self, path: Path | str) -> None:
        super().__init__(f"another `rag ingest` is writing {path}; wait for it to finish and run again")


class StoreUnavailableError(IndexError_):
    """The index server (Milvus) does not answer."""

    def __init__(self, uri: str, reason: str) -> None:
        super().__init__(
            f"cannot reach the Milvus index at {uri} ({reason}); start it, or point RAG_MILVUS_URI at a running "
            "server (http://host:19530) or a local file (./indexes/milvus.db)"
        )


class ArticleNotFoundError(IndexError_):
    def __init__(self, article_id: str) -> None:
        super().__init__(f"no article with id {article_id!r}; list ids with `rag articles`")


# --- documents: PDF, DOCX and HTML sources, and documents sent over HTTP ---------------------------


class DocumentFormatError(SourceError):
    """A PDF, DOCX or HTML file that cannot be read as what it is (scanned, encrypted, damaged, not what it claims)."""


class ScannedPdfError(DocumentFormatError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            path,
            "is a PDF with no text layer (a scan or a picture of pages); run OCR on it first (e.g. `ocrmypdf in.pdf "
            "out.pdf`) and send the result",
        )


class EncryptedPdfError(DocumentFormatError):
    def __init__(self, path: Path) -> None:
        super().__init__(
            path, "is an encrypted PDF that needs a password to open; save an unprotected copy and send that"
        )


class DamagedDocumentError(DocumentFormatError):
    def __init__(self, path: Path, kind: str, reason: str) -> None:
        super().__init__(path, f"is a damaged {kind} file ({reason}); open it and save or export it again")


class ZipBombError(DocumentFormatError):
    def __init__(self, path: Path, unpacked_bytes: int, limit_bytes: int) -> None:
        super().__init__(
            path,
            f"unpacks to {unpacked_bytes / 2**20:.0f} MiB, over the {limit_bytes / 2**20:.0f} MiB a document may "
            "unpack to (a zip bomb?); send the document itself",
        )


class DocumentError(RagError):
    """A request about documents sent over HTTP or `rag documents` that cannot be carried out."""


class DocumentNotFoundError(DocumentError):
    def __init__(self, document_id: str) -> None:
        super().__init__(
            f"no document with id {document_id!r}; list them with `rag documents list` or `GET /api/documents`"
        )


class JobNotFoundError(DocumentError):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no job with id {job_id!r}; a job id comes from `POST /api/documents`")


class RejectedDocumentError(DocumentError):
    """The upload itself is wrong (empty, too large, not the type it claims); nothing was stored."""


class UploadTooLargeError(RejectedDocumentError):
    pass


class MismatchedTypeError(RejectedDocumentError):
    """The file's content is not the type its name or media type claims."""
