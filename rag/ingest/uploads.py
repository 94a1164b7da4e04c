"""Where documents sent over HTTP (or `rag documents add`) are kept, so that any build can read them again.

    indexes/.documents/<index name>/originals/<document id>.<pdf|docx|html|txt>   the bytes as sent
    indexes/.documents/<index name>/fields/<document id>.json                     what the sender said about it

`rag ingest` and every document job read these beside the corpus folder, so a rebuild (`rag ingest --rebuild`,
a new embedder) keeps them. Each file is written aside and renamed into place: a crash leaves the old one or
the new one, never half of one.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from rag.config import Settings
from rag.ingest import file_sha256, source_sha256
from rag.models import DocumentFields

EXTENSIONS = {"pdf": ".pdf", "docx": ".docx", "html": ".html", "text": ".txt"}


class StoredFields(DocumentFields):
    """The sender's fields, and what the service records about the upload itself."""

    filename: str | None = None
    created_at: str = ""
    bytes_sha256: str = ""
    size: int = 0


@dataclass(frozen=True)
class UploadStore:
    root: Path

    @classmethod
    def of(cls, settings: Settings) -> UploadStore:
        return cls(settings.index_root / ".documents" / settings.index_name)

    @property
    def originals_dir(self) -> Path:
        return self.root / "originals"

    @property
    def fields_dir(self) -> Path:
        return self.root / "fields"

    def originals(self) -> list[Path]:
        if not self.originals_dir.is_dir():
            return []
        return sorted(p for p in self.originals_dir.iterdir() if p.is_file() and not p.name.startswith("."))

    def original(self, document_id: str) -> Path | None:
        found = [p for p in self.originals() if p.stem == document_id]
        return found[0] if found else None

    def fields(self, document_id: str) -> StoredFields | None:
        path = self.fields_dir / f"{document_id}.json"
        return StoredFields.model_validate_json(path.read_text(encoding="utf-8")) if path.exists() else None

    def document_fields(self, original: Path) -> DocumentFields | None:
        """The fields that shape the articles (not the bookkeeping), for the loader."""
        stored = self.fields(original.stem)
        return DocumentFields(**stored.model_dump(include=set(DocumentFields.model_fields))) if stored else None

    def source_hash(self, original: Path) -> str:
        fields = self.document_fields(original)
        return source_sha256(original.read_bytes(), fields) if fields is not None else file_sha256(original)

    def put(self, document_id: str, kind: str, data: bytes, fields: StoredFields) -> Path:
        """Store (or replace) a document's original and fields; returns the original's path."""
        self.originals_dir.mkdir(parents=True, exist_ok=True)
        self.fields_dir.mkdir(parents=True, exist_ok=True)
        target = self.originals_dir / f"{document_id}{EXTENSIONS[kind]}"
        write_aside(self.fields_dir / f"{document_id}.json", fields.model_dump_json(indent=2).encode())
        write_aside(target, data)
        for stale in self.originals():  # a replacement in another format
            if stale.stem == document_id and stale != target:
                stale.unlink()
        return target

    def remove(self, document_id: str) -> None:
        original = self.original(document_id)
        if original is not None:
            original.unlink()
        (self.fields_dir / f"{document_id}.json").unlink(missing_ok=True)


def write_aside(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
