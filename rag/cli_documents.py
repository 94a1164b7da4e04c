"""`rag documents add|list|rm`: the documents API's library (rag.documents) from the command line.

Each command runs its job here, to the end, on the same incremental build as `rag ingest`; a running service
moves to the new build by itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from rag.config import Settings
from rag.errors import ConfigError, RagError

documents_app = typer.Typer(help="Add, list and remove documents (PDF, DOCX, HTML, TXT, MD) kept under the index root.")
console = Console()
EXIT_FAILED = 1


def _settings(ctx: typer.Context) -> Settings:
    root = ctx.find_root()
    settings: Settings = root.obj
    return settings


@documents_app.command("add")
def add(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The document's file.")],
    title: Annotated[str | None, typer.Option(help="Title, when the file's own is missing or wrong.")] = None,
    date: Annotated[str | None, typer.Option(help="Publication date, YYYY-MM-DD.")] = None,
    publication: Annotated[str | None, typer.Option(help="Publication, e.g. 湖州日报.")] = None,
    url: Annotated[str | None, typer.Option(help="Where the document was published.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the job as JSON.")] = False,
) -> None:
    """Add a document and index it; the same file again is the same document."""
    from rag.documents import Documents
    from rag.ingest.checks import Upload
    from rag.models import DocumentFields

    try:
        fields = DocumentFields(title=title, date=date, publication=publication, url=url)
    except ValidationError as exc:
        raise ConfigError(f"{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']} (dates are YYYY-MM-DD)") from exc
    documents = Documents(_settings(ctx))
    added = documents.add(Upload(file.read_bytes(), file.name), fields)
    job = documents.run(added.job)
    if as_json:
        print(job.model_dump_json(indent=2))
    elif job.status == "done":
        console.print(
            f"{job.document_id}: {job.articles} article(s), {job.chunks} chunk(s) indexed, {job.embedded} embedded"
        )
    if job.status != "done":
        raise RagError(f"{job.document_id}: {job.error}")


@documents_app.command("list")
def list_documents(
    ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """The documents added so far, with their status and counts in the current index."""
    from rag.documents import Documents
    from rag.store import live_build, open_store

    settings = _settings(ctx)
    documents = Documents(settings)
    if live_build(settings) is not None:
        with open_store(settings) as index:
            _, page = documents.page(index, 0, 10**9)
    else:
        _, page = documents.page(None, 0, 10**9)
    if as_json:
        print(json.dumps([d.model_dump() for d in page], ensure_ascii=False, indent=2))
        return
    table = Table("id", "file", "status", "date", "publication", "title", "articles", "chunks")
    for d in page:
        row = (d.document_id, d.filename or "", d.status, d.date or "", d.publication or "", d.title or "")
        table.add_row(*row, str(d.articles), str(d.chunks))
    console.print(table)


@documents_app.command("rm")
def remove(ctx: typer.Context, document_id: Annotated[str, typer.Argument(help="The document's id.")]) -> None:
    """Remove a document and its articles from the index."""
    from rag.documents import Documents

    documents = Documents(_settings(ctx))
    job = documents.run(documents.delete(document_id))
    if job.status != "done":
        raise RagError(f"{document_id}: {job.error}")
    console.print(f"{document_id} removed")
