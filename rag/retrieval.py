"""Find the passages that answer a question: dense (embeddings, cross-lingual), BM25 (words and
figures), the lexicon's weighted BM25 (translated English, synonym-expanded Chinese: rag.lexicon), or all
of them fused, with weights set by the question's form (`list_weights`).

    passages = hybrid_search(index, embedder, "去年湖州规上工业增加值是多少？", k=5, options=FusionOptions())
    passages = hybrid_search(index, embedder, question, k=5, options=options, reranker=reranker_for(settings))
    passages = dense_search(index, embedder, "By the end of May, how many 5G base stations?", k=5)
    passages = bm25_search(index, "规上工业增加值 1324.9", k=5)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rag.bm25 import match_expression, match_query
from rag.config import Settings
from rag.embedding import Embedder
from rag.evidence import Question, coverage, sentence_coverages
from rag.filters import SearchFilters, active
from rag.lexicon.query import LexicalQuery, read_question
from rag.models import Article, Passage
from rag.rerank import Reranker, get_reranker
from rag.store import Store

SearchMode = Literal["dense", "bm25", "lexicon", "hybrid"]
OVER_CAP_FACTOR = 0.8
FULL_TRUST_COVERAGE = 0.8  # word matches covering this much of a question count in full
MATCHED_CHUNKS = 3  # top BM25 chunks whose coverage says how well the words matched
UNSTATED_FIGURE_FACTOR = 0.5  # a sentence without a figure, for a question that asks for one, counts half


@dataclass(frozen=True)
class FusionOptions:
    """Reciprocal rank fusion: score = sum of weight / (rrf_k + rank) over the lists a chunk is in."""

    candidates: int = 30  # taken from each list before fusing
    rrf_k: int = 60
    dense_weight: float = 1.0
    bm25_weight: float = 1.0
    max_per_article: int = 2
    rerank_candidates: int = 20  # fused passages the reranker scores, when there is one
    evidence_weight: float = 2.0  # weight of the ranking by best-sentence coverage (0: off)
    lexicon_weight: float = 1.0  # the translated / synonym-expanded BM25 list (rag.lexicon); 0: off


def search(
    index: Store,
    embedder: Embedder,
    question: str,
    k: int,
    mode: SearchMode,
    options: FusionOptions,
    reranker: Reranker | None = None,
    filters: SearchFilters | None = None,
) -> list[Passage]:
    """`filters` (dates, publication, source) restrict every list inside retrieval, before the top k."""
    if mode == "dense":
        return dense_search(index, embedder, question, k, filters)
    if mode == "bm25":
        return bm25_search(index, question, k, filters)
    if mode == "lexicon":
        return lexicon_search(index, question, k, filters)
    return hybrid_search(index, embedder, question, k, options, reranker, filters)


@dataclass(frozen=True)
class RankedLists:
    """The lists a hybrid search fused, best first, and the weight each had for this question."""

    query: LexicalQuery
    lists: dict[str, list[tuple[int, float]]]  # "dense", "bm25", "lexicon" -> (chunk int id, score)
    weights: dict[str, float]


def ranked_lists(
    index: Store,
    embedder: Embedder,
    question: str,
    options: FusionOptions,
    filters: SearchFilters | None = None,
) -> RankedLists:
    index.check_embedder(embedder.model_id, embedder.dim)
    query = read_question(question, index.document_frequencies, index.chunk_count())
    allowed = _allowed(index, filters)
    if allowed is not None and not allowed:
        return RankedLists(query, {"dense": [], "bm25": [], "lexicon": []}, list_weights(query, options))
    dense = index.dense(embedder.embed_query(question), options.candidates, allowed)
    match = None if query.cross_lingual else match_expression(query.words)
    lexical = index.bm25(match, options.candidates, allowed) if match else []
    widened = _lexicon_hits(index, query, options.candidates, allowed) if options.lexicon_weight else []
    lists = {"dense": dense, "bm25": lexical, "lexicon": widened}
    matched = 1.0 if query.cross_lingual else matched_coverage(index, query, lexical)
    return RankedLists(query, lists, list_weights(query, options, matched))


def list_weights(query: LexicalQuery, options: FusionOptions, matched: float = 1.0) -> dict[str, float]:
    """A rule on the question's form, not on particular questions. An English question has no words of its own
    in the corpus: its lexical side is the translated list alone. A Chinese question keeps both word lists, at
    full weight when the best word matches cover the question (`matched`, 0..1, the best of the top BM25
    chunks' coverage of its weighted words), and less the less they cover: a paraphrase shares few words with
    its passage, and the chunks that do share them are often only on its topic."""
    if query.cross_lingual:
        return {"dense": options.dense_weight, "bm25": 0.0, "lexicon": options.lexicon_weight}
    trust = min(1.0, matched / FULL_TRUST_COVERAGE)
    return {
        "dense": options.dense_weight,
        "bm25": options.bm25_weight * trust,
        "lexicon": options.lexicon_weight * trust,
    }


def matched_coverage(index: Store, query: LexicalQuery, hits: list[tuple[int, float]]) -> float:
    """How much of the question the best word matches hold: the top chunks' best coverage of its words."""
    chunks = index.chunks(i for i, _ in hits[:MATCHED_CHUNKS])
    texts = [f"{found.chunk.context}\n{found.chunk.text}" for found in chunks.values()]
    return max((coverage(query.evidence, text) for text in texts), default=0.0)


def fused_ranking(lists: RankedLists, rrf_k: int) -> list[tuple[int, float]]:
    fused: dict[int, float] = {}
    for name, hits in lists.lists.items():
        weight = lists.weights.get(name, 0.0)
        for rank, (int_id, _) in enumerate(hits, start=1):
            fused[int_id] = fused.get(int_id, 0.0) + weight / (rrf_k + rank)
    return sorted(fused.items(), key=lambda pair: pair[1], reverse=True)


def hybrid_search(
    index: Store,
    embedder: Embedder,
    question: str,
    k: int,
    options: FusionOptions,
    reranker: Reranker | None = None,
    filters: SearchFilters | None = None,
) -> list[Passage]:
    lists = ranked_lists(index, embedder, question, options, filters)
    return fused_search(index, question, lists, k, options, reranker)


def fused_search(
    index: Store,
    question: str,
    lists: RankedLists,
    k: int,
    options: FusionOptions,
    reranker: Reranker | None = None,
) -> list[Passage]:
    """The hybrid result from lists already ranked (rag.explain shows those lists beside it)."""
    passages = _passages(index, fused_ranking(lists, options.rrf_k))
    # Without the lexicon an English question has no words to cover, as before it existed.
    if options.evidence_weight and (options.lexicon_weight or not lists.query.cross_lingual):
        passages = _with_evidence(lists.query.evidence, passages, options)
    if reranker is not None:
        # Passages past the candidates are dropped, not appended: their fused scores are not on the reranker's
        # scale. At least k are scored, so a RAG_RERANK_CANDIDATES below k does not shrink the result.
        passages = reranker.rerank(question, passages[: max(options.rerank_candidates, k)])
    return _diversified(passages, k, options.max_per_article)


def _with_evidence(analysed: Question, passages: list[Passage], options: FusionOptions) -> list[Passage]:
    """Add to each candidate's fused score its best sentence's coverage of the question's words (rag.evidence),
    which rewards the passage that states the answer over ones that only share its topic. Coverage (0..1) is
    added on the scale of a first rank, weight / (rrf_k + 1), not as a rank of its own: ranks would flatten a
    clear 0.71 against 0.60 into the same small step as 0.60 against 0.59."""
    best: list[float] = []
    for sentences in sentence_coverages(analysed, passages):
        # Any figure, not only one that `fits`: a near miss ("…35项技术之一") stays retrievable, so it can be shown.
        scores = [
            covered * (1.0 if has_figure or not analysed.wants_figure else UNSTATED_FIGURE_FACTOR)
            for covered, has_figure in sentences
        ]
        best.append(max(scores, default=0.0))
    unit = options.evidence_weight / (options.rrf_k + 1)
    rescored = [p.model_copy(update={"score": round(p.score + unit * best[i], 6)}) for i, p in enumerate(passages)]
    return sorted(rescored, key=lambda p: -p.score)


def _diversified(passages: list[Passage], k: int, max_per_article: int) -> list[Passage]:
    """Drop a passage that mostly repeats a better one of the same article. Past `max_per_article` from one
    article, each further passage's score is scaled down by OVER_CAP_FACTOR per passage over: it gives way to
    comparably relevant passages of other articles, but still beats weak ones (a 200-chunk work report may
    hold the answer in its third-best chunk)."""
    kept: list[Passage] = []
    kept_of: dict[str, list[Passage]] = {}  # only a passage of the same article can be repeated
    for passage in passages:
        same_article = kept_of.setdefault(passage.article_id, [])
        if not any(_mostly_repeats(passage, better) for better in same_article):
            kept.append(passage)
            same_article.append(passage)
    per_article: dict[str, int] = {}
    scored = []
    for passage in kept:
        per_article[passage.article_id] = per_article.get(passage.article_id, 0) + 1
        over = max(0, per_article[passage.article_id] - max_per_article)
        scored.append((passage.score * OVER_CAP_FACTOR**over, passage))
    chosen = [p for _, p in sorted(scored, key=lambda pair: -pair[0])][:k]
    return [p.model_copy(update={"rank": rank}) for rank, p in enumerate(chosen, start=1)]


def dense_search(
    index: Store, embedder: Embedder, question: str, k: int, filters: SearchFilters | None = None
) -> list[Passage]:
    index.check_embedder(embedder.model_id, embedder.dim)
    allowed = _allowed(index, filters)
    if allowed is not None and not allowed:
        return []
    hits = index.dense(embedder.embed_query(question), k, allowed)
    return _passages(index, hits)


def bm25_search(index: Store, question: str, k: int, filters: SearchFilters | None = None) -> list[Passage]:
    match = match_query(question)
    allowed = _allowed(index, filters)
    if not match or (allowed is not None and not allowed):
        return []
    return _passages(index, index.bm25(match, k, allowed))


def lexicon_search(index: Store, question: str, k: int, filters: SearchFilters | None = None) -> list[Passage]:
    """BM25 over the question's translated (English) or synonym-expanded (Chinese) weighted terms."""
    query = read_question(question, index.document_frequencies, index.chunk_count())
    return _passages(index, _lexicon_hits(index, query, k, _allowed(index, filters)))


def _lexicon_hits(
    index: Store, query: LexicalQuery, k: int, allowed: set[int] | None = None
) -> list[tuple[int, float]]:
    return index.weighted_bm25(query.weights, k, allowed)


def _allowed(index: Store, filters: SearchFilters | None) -> set[int] | None:
    """The chunk ids `filters` lets retrieval draw from; None: all of them."""
    wanted = active(filters)
    return index.chunk_ids_matching(wanted) if wanted is not None else None


def _mostly_repeats(passage: Passage, better: Passage) -> bool:
    if passage.article_id != better.article_id:
        return False
    shared = min(passage.end, better.end) - max(passage.start, better.start)
    return shared > 0.5 * (passage.end - passage.start)


def fusion_options(settings: Settings) -> FusionOptions:
    return FusionOptions(
        candidates=settings.retrieval_candidates,
        rrf_k=settings.rrf_k,
        dense_weight=settings.dense_weight,
        bm25_weight=settings.bm25_weight,
        max_per_article=settings.max_passages_per_article,
        rerank_candidates=settings.rerank_candidates,
        evidence_weight=settings.evidence_weight,
        lexicon_weight=settings.lexicon_weight,
    )


def reranker_for(settings: Settings) -> Reranker | None:
    """The CrossEncoder RAG_RERANK_MODEL names, loaded once per process; None when reranking is off."""
    return get_reranker(settings.rerank_model) if settings.rerank_model else None


def _passages(index: Store, hits: list[tuple[int, float]]) -> list[Passage]:
    stored = index.chunks(i for i, _ in hits)
    articles: dict[str, Article] = {}
    passages: list[Passage] = []
    for int_id, score in hits:
        found = stored.get(int_id)
        if found is None:  # a vector without a chunk row would be a broken build; never show garbage
            continue
        chunk = found.chunk
        if chunk.article_id not in articles:
            articles[chunk.article_id] = index.article(chunk.article_id)
        article = articles[chunk.article_id]
        passages.append(
            Passage(
                rank=len(passages) + 1,
                score=round(score, 6),
                chunk_id=chunk.id,
                article_id=article.id,
                title=article.display_title,
                publication=article.publication,
                source_file=article.source_file,
                date=article.date,
                text=chunk.text,
                start=chunk.start,
                end=chunk.end,
            )
        )
    return passages
