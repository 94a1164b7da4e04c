"""Source files -> Articles. `load_corpus` reads a folder; `load_source` one file."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from rag.errors import CorpusError, EmptySourceError, SourceError
from rag.ingest.assemble import REMOVED_KINDS, Removed, finish
from rag.ingest.decode import read_bytes
from rag.ingest.formats import Shape, read_source_text
from rag.models import Article, DocumentFields

__all__ = [
    "LOADER_VERSION",
    "REMOVED_KINDS",
    "LoadedSource",
    "Removed",
    "SourceProblem",
    "corpus_files",
    "file_sha256",
    "load_source",
    "source_sha256",
    "try_load_source",
]

# Bump when a loader changes what it produces, so indexes built by an older loader are rebuilt.
LOADER_VERSION = 2


@dataclass(frozen=True)
class LoadedSource:
    source_file: str
    sha256: str
    shape: Shape
    encoding: str
    text: str
    articles: tuple[Article, ...]
    removed: tuple[Removed, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceProblem:
    """A file that was skipped (`fatal=False`, e.g. empty) or refused (`fatal=True`)."""

    source_file: str
    message: str
    fatal: bool
    sha256: str | None = None


def corpus_files(corpus_dir: Path) -> list[Path]:
    if not corpus_dir.exists():
        raise CorpusError(f"corpus folder {corpus_dir} does not exist; create it and put .txt or .md files in it")
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir} is not a folder; point RAG_CORPUS_DIR at the folder of source files")
    return sorted(
        p for p in corpus_dir.iterdir() if p.is_file() and not p.name.startswith((".", "~")) and p.name != "README.md"
    )


def try_load_source(path: Path, max_bytes: int, fields: DocumentFields | None = None) -> LoadedSource | SourceProblem:
    """Load one file, turning what is wrong with it into a SourceProblem the caller can report."""
    try:
        return load_source(path, max_bytes, fields)
    except EmptySourceError:
        return SourceProblem(path.name, f"{path.name}: empty file, skipped", fatal=False)
    except SourceError as exc:
        return SourceProblem(path.name, str(exc), fatal=True)
    except OSError as exc:
        return SourceProblem(path.name, f"{path.name}: cannot be read ({exc.strerror})", fatal=True)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def source_sha256(data: bytes, fields: DocumentFields | None = None) -> str:
    """A source's identity: its bytes, and the fields its sender gave, which change its articles too."""
    digest = hashlib.sha256(data)
    if fields is not None:
        digest.update(b"\0" + fields.model_dump_json().encode())
    return digest.hexdigest()


def load_source(path: Path, max_bytes: int, fields: DocumentFields | None = None) -> LoadedSource:
    data = read_bytes(path, max_bytes)
    if not data.strip():
        raise EmptySourceError(path, "empty file")
    source = read_source_text(path, data)
    if not source.text.strip():
        raise EmptySourceError(path, "empty file")
    parsed = source.parsed
    stem = re.sub(r"[^0-9A-Za-z_.\u4e00-\u9fff-]+", "_", path.stem)
    articles = tuple(
        finish(
            draft,
            source=source.text,
            source_file=path.name,
            article_id=f"{stem}-{ordinal:02d}",
            ordinal=ordinal,
            removed=parsed.removed,
            clean_paragraph=parsed.clean_paragraph,
        )
        for ordinal, draft in enumerate(parsed.drafts)
    )
    if fields is not None:
        articles = fields.apply(articles)
    plain = ("utf-8", "utf-8-sig", "pdf", "docx")
    warnings = () if source.encoding in plain else (f"decoded as {source.encoding.upper()}",)
    return LoadedSource(
        source_file=path.name,
        sha256=source_sha256(data, fields),
        shape=source.shape,
        encoding=source.encoding,
        text=source.text,
        articles=articles,
        removed=tuple(parsed.removed),
        warnings=warnings,
    )
