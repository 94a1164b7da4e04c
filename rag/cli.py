"""`rag`: the command line. Thin: parse, call the library, render. Errors map to exit codes in `main`."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from rag import __version__
from rag.config import Settings, load_settings
from rag.errors import RagError

if TYPE_CHECKING:
    from rag.answer import Answer
    from rag.evaluate import Report, Scores
    from rag.facts.models import FactMatch
    from rag.filters import SearchFilters
    from rag.retrieval import SearchMode
    from rag.verify import Verification

app = typer.Typer(
    help="Huzhou RAG: cited, verified answers over news about Huzhou's development.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)


class IndexType(StrEnum):
    flat = "flat"
    hnsw = "hnsw"
    ivf = "ivf"


class SearchModeOption(StrEnum):
    hybrid = "hybrid"
    dense = "dense"
    bm25 = "bm25"
    lexicon = "lexicon"  # BM25 over translated (English) or synonym-expanded (Chinese) terms


_PROGRESS_COLUMNS = (TextColumn("[bold]{task.description:>6}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
EXIT_USER_ERROR = 2  # the user must act: a missing folder, a locked index, an unknown id
EXIT_PARTIAL = 1  # done, but some input was refused


def _version(value: bool) -> None:
    if value:
        console.print(f"rag {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    ctx.obj = load_settings()


def _settings(ctx: typer.Context, **overrides: object) -> Settings:
    settings: Settings = ctx.obj
    values = {k: v for k, v in overrides.items() if v is not None}
    return settings.model_copy(update=values) if values else settings


@app.command()
def ingest(
    ctx: typer.Context,
    corpus: Annotated[Path | None, typer.Option(help="Corpus folder [default: RAG_CORPUS_DIR or corpus/].")] = None,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Start the index over instead of updating it.")] = False,
    index_type: Annotated[
        IndexType | None, typer.Option(help="FAISS index: flat (exact) or hnsw/ivf for large corpora.")
    ] = None,
) -> None:
    """Read the corpus folder into the index, re-reading and re-embedding only what changed."""
    from rag.pipeline import ingest as run_ingest

    settings = _settings(ctx, corpus_dir=corpus, index_type=index_type.value if index_type else None)
    with Progress(*_PROGRESS_COLUMNS, console=errors, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        report = run_ingest(settings, rebuild=rebuild, progress=progress)

    if report.files:
        table = Table("file", "status", "shape", "encoding", "articles", "chunks", "note", title="Corpus")
        for f in report.files:
            style = {"refused": "red", "skipped": "yellow", "unchanged": "dim"}.get(f.status, "")
            row = (f.source_file, f.status, f.shape or "", f.encoding or "", str(f.articles), str(f.chunks), f.message)
            table.add_row(*row, style=style)
        console.print(table)
    console.print(report.summary())
    if report.refused:
        errors.print(f"[red]{len(report.refused)} file(s) refused; see the note column and fix or remove them.")
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def search(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="What to look for, in Chinese or English.")],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many passages.")] = 5,
    mode: Annotated[
        SearchModeOption, typer.Option(help="hybrid (both, fused), dense (embeddings) or bm25 (words).")
    ] = SearchModeOption.hybrid,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Only articles dated on or after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only articles dated on or before YYYY-MM-DD.")] = None,
    publication: Annotated[str | None, typer.Option("--publication", help="Only this publication's articles.")] = None,
    explain: Annotated[
        bool, typer.Option("--explain", help="Hybrid: show each passage's dense, BM25 and lexicon ranks and terms.")
    ] = False,
) -> None:
    """Show the passages of the index that best match a question."""
    from rag.embedding import get_embedder
    from rag.retrieval import fusion_options
    from rag.retrieval import search as run_search
    from rag.store import open_store

    settings = _settings(ctx)
    with open_store(settings) as index:
        embedder = get_embedder(settings)
        index.check_embedder(embedder.model_id, embedder.dim)  # another model's vectors would rank at random
        filters = _filters(since, until, publication)
        if explain:
            from rag.explain import explain_search

            _print_explanation(explain_search(index, embedder, question, k, fusion_options(settings)), as_json)
            return
        passages = run_search(index, embedder, question, k, mode.value, fusion_options(settings), filters=filters)
    if as_json:
        fields = {"rank", "chunk_id", "article_id", "title", "publication", "source_file", "date", "text", "score"}
        payload = {"query": question, "passages": [p.model_dump(include=fields) for p in passages]}
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not passages:
        console.print("No passage matches.")
        return
    for p in passages:
        where = " · ".join(x for x in (p.publication, p.source_file, p.date) if x)
        console.print(f"[bold]{p.rank}.[/bold] [cyan]{p.score:.3f}[/cyan]  [bold]{p.title}[/bold]  [dim]{where}[/dim]")
        console.print(p.text, highlight=False)
        console.print()


def _filters(since: str | None, until: str | None, publication: str | None) -> SearchFilters | None:
    from pydantic import ValidationError

    from rag.errors import ConfigError
    from rag.filters import SearchFilters

    try:
        return SearchFilters.model_validate({"date_from": since, "date_to": until, "publication": publication})
    except ValidationError as exc:
        raise ConfigError(f"--since/--until/--publication: {exc.errors()[0]['msg']} (dates are YYYY-MM-DD)") from exc


class AnswerModeOption(StrEnum):
    auto = "auto"
    llm = "llm"
    extractive = "extractive"


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, in Chinese or English.")],
    k: Annotated[int | None, typer.Option("--k", min=1, max=20, help="Passages to give the answerer.")] = None,
    mode: Annotated[
        AnswerModeOption, typer.Option(help="auto (the LLM when configured), llm, or extractive.")
    ] = AnswerModeOption.auto,
    show_passages: Annotated[bool, typer.Option("--show-passages", help="Also print every passage given.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Only articles dated on or after YYYY-MM-DD.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Only articles dated on or before YYYY-MM-DD.")] = None,
    publication: Annotated[str | None, typer.Option("--publication", help="Only this publication's articles.")] = None,
) -> None:
    """Answer a question with [n] citations to the articles, and check every figure against them."""
    from rag.answer import Answerer
    from rag.embedding import get_embedder
    from rag.generate.llm import LLMClient
    from rag.retrieval import reranker_for
    from rag.store import open_store

    settings = _settings(ctx)
    with open_store(settings) as index:
        embedder = get_embedder(settings)
        index.check_embedder(embedder.model_id, embedder.dim)
        answerer = Answerer(settings, index, embedder, LLMClient.from_settings(settings), reranker_for(settings))
        answer = answerer.ask(question, k=k, mode=mode.value, filters=_filters(since, until, publication))
    if as_json:
        print(answer.model_dump_json(indent=2))
        return
    _print_answer(answer, show_passages)


@app.command(name="eval")
def evaluate_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Question files (JSON lines, see ../shared/eval/README.md).")],
    k: Annotated[int, typer.Option("--k", min=1, max=20, help="Passages retrieved per question.")] = 5,
    mode: Annotated[AnswerModeOption, typer.Option(help="How answers are written.")] = AnswerModeOption.extractive,
    compare: Annotated[
        bool,
        typer.Option(
            "--compare",
            help="Run dense, bm25, lexicon (translated / expanded bm25), hybrid-plain (without it), hybrid and "
            "hybrid+rerank side by side.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    api: Annotated[
        str | None,
        typer.Option(
            "--api", help="Measure a running service through its HTTP API instead (e.g. http://127.0.0.1:8000)."
        ),
    ] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", help="The key for --api, when it needs one.")] = None,
) -> None:
    """Measure retrieval and answer quality on questions with gold evidence."""
    from rag.answer import Answerer
    from rag.embedding import get_embedder
    from rag.evaluate import evaluate, load_questions
    from rag.generate.llm import LLMClient
    from rag.retrieval import fusion_options, reranker_for
    from rag.retrieval import search as run_search
    from rag.store import open_store

    questions = load_questions(files)
    if api is not None:
        from rag.evaluate_api import api_callables

        retrieve, answer = api_callables(api, k, mode.value, api_key)
        report = evaluate(f"api {api}", questions, k, retrieve=retrieve, answer=answer)
        if as_json:
            print(json.dumps([report.as_dict()], ensure_ascii=False, indent=2))
        else:
            _print_eval([report], len(questions), files)
        return
    settings = _settings(ctx)
    reranker = reranker_for(settings)
    configs = ["dense", "bm25", "lexicon", "hybrid-plain", "hybrid"] if compare else ["hybrid"]
    if reranker is not None:
        configs = [*configs, "hybrid+rerank"] if compare else ["hybrid+rerank"]
    reports = []
    with (
        open_store(settings) as index,
        Progress(*_PROGRESS_COLUMNS, console=errors, transient=True) as progress,
    ):
        embedder = get_embedder(settings)
        llm = LLMClient.from_settings(settings)
        options = fusion_options(settings)
        for config in configs:
            task = progress.add_task(config, total=len(questions))
            use_reranker = reranker if config == "hybrid+rerank" else None
            retrieval_mode = cast("SearchMode", "hybrid" if config.startswith("hybrid") else config)
            # hybrid-plain: the fusion without rag.lexicon's list, to show what it adds; retrieval only
            config_options = replace(options, lexicon_weight=0.0) if config == "hybrid-plain" else options
            answers = config.startswith("hybrid") and config != "hybrid-plain"
            answerer = Answerer(settings, index, embedder, llm, use_reranker) if answers else None
            reports.append(
                evaluate(
                    config,
                    questions,
                    k,
                    retrieve=partial(run_search, index, embedder, k=k, mode=retrieval_mode, options=config_options,
                                     reranker=use_reranker),
                    answer=partial(answerer.ask, k=k, mode=mode.value) if answerer else None,
                    on_question=partial(progress.advance, task),
                )
            )  # fmt: skip
    if as_json:
        print(json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=2))
        return
    _print_eval(reports, len(questions), files)


@app.command()
def articles(
    ctx: typer.Context,
    article_id: Annotated[str | None, typer.Argument(help="Show this article in full.")] = None,
    source: Annotated[str | None, typer.Option(help="Only the articles of this source file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the articles recognised in the corpus, or print one."""
    from rag.store import open_store

    settings = _settings(ctx)
    with open_store(settings) as index:
        if article_id is not None:
            _print_article(index.article(article_id), as_json)
            return
        found = index.articles(source_file=source)
    if source is not None and not found:
        raise RagError(f"no articles from {source!r}; list the sources with `rag ingest` or `rag articles`")
    if as_json:
        print(json.dumps([a.model_dump(exclude={"spans", "text"}) for a in found], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(found)} articles")
    table.add_column("id", no_wrap=True)
    for column in ("kind", "publication", "title", "chars"):
        table.add_column(column)
    for a in found:
        title = a.title or f"[dim]{a.display_title}[/dim]"
        table.add_row(a.id, a.kind, a.publication or "", title, str(len(a.text)))
    console.print(table)


# --- the figures table (rag.facts) -----------------------------------------------------------------------------


@app.command()
def facts(
    ctx: typer.Context,
    indicator: Annotated[str | None, typer.Option(help="Only rows whose indicator contains this.")] = None,
    place: Annotated[str | None, typer.Option(help="Only rows of this place or organisation (吴兴: 吴兴区).")] = None,
    period: Annotated[str | None, typer.Option(help="Only rows whose period starts so: 2013, Y0-H1.")] = None,
    question: Annotated[str | None, typer.Option(help="Read this question into a frame and match it.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List the figures table: every figure of the corpus with what it measures, whose, when and of what kind."""
    from rag.facts.service import match_question
    from rag.store import open_store

    settings = _settings(ctx)
    with open_store(settings) as index:
        if question is not None:
            result = match_question(index, question, settings.home_place)
            if as_json:
                print(result.model_dump_json(indent=2))
                return
            _print_fact_match(result)
            return
        rows = index.facts(indicator=indicator, place=place, period=period)
    if as_json:
        print(json.dumps([f.model_dump() for f in rows], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(rows)} figures")
    for column in ("figure", "indicator", "owner", "period", "kind", "measure", "flags", "source"):
        table.add_column(column)
    for f in rows:
        when = f"{f.period or '—'} ({f.period_text})" if f.period_text else f.period or "—"
        table.add_row(
            f.text, f.indicator, f.owner, when, f.kind, f.measure, ",".join(f.flags), f"{f.source_file[:3]} @{f.start}"
        )
    console.print(table)


def _print_fact_match(result: FactMatch) -> None:
    frame = result.frame
    for part in frame.parts or (frame,):
        console.print(
            f"[dim]asks[/dim] {part.indicator or '—'} · {part.owner} · {part.period or 'any period'} · {part.kind}"
            f" · {part.measure or 'any'} {part.unit}",
            highlight=False,
        )
    console.print(f"[dim]operation[/dim] {frame.operation}")
    for fact in result.answers:
        console.print(f"[green]answer[/green] {fact.text} — {escape(fact.sentence)}", highlight=False)
    if result.arithmetic:
        console.print(f"[green]computed[/green] {result.arithmetic}", highlight=False)
    if result.reason:
        console.print(f"[yellow]not answered[/yellow] {result.reason}", highlight=False)


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes; each loads the models and the index itself.")
    ] = 1,
) -> None:
    """Serve the HTTP API (OpenAI-compatible /v1, /api/ask, /api/search; docs at /docs)."""
    from rag.api.server import serve as run_server
    from rag.api.server import share_cores

    settings = _settings(ctx)
    threads = share_cores(settings, workers)
    console.print(
        f"Serving index {settings.milvus_location if settings.store == 'milvus' else settings.index_dir} "
        f"on http://{host}:{port}/  "
        f"({workers} worker{'s' * (workers > 1)} × {threads} compute threads; Ctrl-C stops)",
        soft_wrap=True,
    )
    run_server(settings, host, port, workers)


def _print_answer(answer: Answer, show_passages: bool) -> None:
    body = re.sub(r"\\\[(\d+)\]", r"[bold cyan]\\[\1][/bold cyan]", escape(answer.answer))
    console.print(body, highlight=False)
    how = "LLM" if answer.mode == "llm" else "extractive"
    if answer.fallback_reason:
        how += f" (the LLM failed: {answer.fallback_reason})"
    console.print(f"[dim]{how} · {answer.took_ms:.0f} ms[/dim]")
    if not answer.answerable and answer.reason:
        console.print(f"[dim]why: {escape(answer.reason)}[/dim]")
    if answer.citations:
        console.print("\n[bold]Sources[/bold]")
    for c in answer.citations:
        where = " · ".join(x for x in (c.publication, c.date, c.source_file) if x)
        console.print(f"[bold cyan]\\[{c.n}][/bold cyan] [bold]{escape(c.title)}[/bold]  [dim]{escape(where)}[/dim]")
        console.print(f"    {escape(c.text)}", highlight=False)
    _print_verification(answer.verification)
    if show_passages:
        console.print("\n[bold]Passages given[/bold]")
        for n, p in enumerate(answer.passages, start=1):
            console.print(f"[bold]{n}.[/bold] [bold]{escape(p.title)}[/bold]  [dim]{p.publication or ''}[/dim]")
            console.print(f"    {escape(p.text)}", highlight=False)


def _print_verification(verification: Verification) -> None:
    if verification.ok:
        console.print("\n[green]✓ verified:[/green] every figure is in a passage its sentence cites")
        return
    console.print("\n[yellow]⚠ verification found problems:[/yellow]")
    for f in verification.unsupported_figures:
        console.print(f"  figure {f.figure!r} is not in the cited passage(s) {f.cited or 'none'}")
    for c in verification.invalid_citations:
        console.print(f"  citation {c.marker!r}: {c.reason}")
    for sentence in verification.uncited_sentences:
        console.print(f"  no citation: {sentence[:80]}")


def _print_eval(reports: list[Report], n_questions: int, files: list[Path]) -> None:
    columns = ("R@k", "MRR", "answered", "incl", "cites", "refusal", "ms")

    def cells(s: Scores) -> list[str]:
        values = (s.recall_at_k, s.mrr, s.answered, s.must_include, s.cites_evidence, s.refusal, s.mean_ms)
        return ["—" if v is None else (f"{v:.0f}" if v is s.mean_ms else f"{v:.3f}") for v in values]

    title = f"{n_questions} questions from {', '.join(f.name for f in files)}, k={reports[0].k}"
    table = Table("config", *columns, title=title)
    for report in reports:
        table.add_row(report.name, *cells(report.overall()))
    console.print(table)
    by_type = Table("type", "n", *columns, title=f"by question type ({reports[-1].name})")
    for kind, s in reports[-1].by_type().items():
        by_type.add_row(kind, str(s.questions), *cells(s))
    console.print(by_type)
    if len(reports) > 1:
        _print_retrieval_by_type(reports)


def _print_retrieval_by_type(reports: list[Report]) -> None:
    """Each configuration's recall@k / MRR per question type, side by side."""
    table = Table("type", "n", *(r.name for r in reports), title="recall@k / MRR by question type")
    per_config = [report.by_type() for report in reports]
    for kind, first in per_config[0].items():
        cells = []
        for scores in per_config:
            found = scores[kind]
            cells.append("—" if found.recall_at_k is None else f"{found.recall_at_k:.3f} / {found.mrr:.3f}")
        table.add_row(kind, str(first.questions), *cells)
    console.print(table)


def _print_explanation(explanation: object, as_json: bool) -> None:
    from dataclasses import asdict

    from rag.explain import Explanation

    assert isinstance(explanation, Explanation)
    if as_json:
        fields = {"rank", "chunk_id", "article_id", "title", "score", "text"}
        payload = {
            "query": explanation.question,
            "cross_lingual": explanation.cross_lingual,
            "weights": explanation.weights,
            "terms": [asdict(t) for t in explanation.terms],
            "passages": [
                {
                    **row.passage.model_dump(include=fields),
                    "ranks": row.ranks,
                    "matched": [asdict(t) for t in row.matched],
                }
                for row in explanation.passages
            ],
        }
        print(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    weights = ", ".join(f"{name} {weight:.2f}" for name, weight in explanation.weights.items())
    console.print(
        f"[bold]fusion weights[/bold]: {weights}" + ("  (cross-lingual)" if explanation.cross_lingual else "")
    )
    searched = "  ".join(f"{t.text}[dim]<{t.source} {t.origin} {t.weight:g}>[/dim]" for t in explanation.terms)
    console.print(f"[bold]terms[/bold]: {searched or '—'}", highlight=False)
    console.print()
    for row in explanation.passages:
        p = row.passage
        ranks = "  ".join(f"{name} {'—' if rank is None else rank}" for name, rank in row.ranks.items())
        console.print(f"[bold]{p.rank}.[/bold] [cyan]{p.score:.4f}[/cyan]  [bold]{p.title}[/bold]  [dim]{ranks}[/dim]")
        by_origin: dict[str, list[str]] = {}
        for term in row.matched:
            label = term.text if term.origin == "original" else f"{term.text}<{term.source}>"
            by_origin.setdefault(term.origin, []).append(label)
        for origin, labels in by_origin.items():
            console.print(f"   [green]{origin}[/green]: {' '.join(labels)}", highlight=False)
        console.print(p.text, highlight=False)
        console.print()


def _print_article(article: object, as_json: bool) -> None:
    from rag.models import Article

    assert isinstance(article, Article)
    if as_json:
        print(article.model_dump_json(indent=2))
        return
    if article.kicker:
        console.print(article.kicker, style="dim")
    console.print(article.display_title, style="bold")
    if article.subtitle:
        console.print(article.subtitle)
    facts = [
        ("id", article.id),
        ("kind", article.kind),
        ("source", f"{article.source_file} [{article.start}:{article.end}]"),
        ("publication", article.publication or "—"),
        ("date", f"{article.date} ({article.date_kind})" if article.date else "—"),
        ("reporters", "、".join(article.reporters) or "—"),
    ]
    for name, value in facts:
        console.print(f"[dim]{name:>12}[/dim]  {value}")
    console.print()
    console.print(article.text, highlight=False)


def main() -> None:
    try:
        app()
    except RagError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(EXIT_USER_ERROR)


# `rag documents add|list|rm` (rag.cli_documents)
from rag.cli_documents import documents_app  # noqa: E402 - the sub-app registers after the commands above

app.add_typer(documents_app, name="documents")
