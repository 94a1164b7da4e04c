"""Why each passage of a hybrid search ranks where it does: its rank in the dense, BM25 and lexicon lists, the
question's terms it holds (the question's own words, their translations or synonyms, figures) and its score.

    explained = explain_search(index, embedder, "How many 5G base stations had Huzhou built?", k=5, options)
    for row in explained.passages: print(row.passage.rank, row.ranks, [t.text for t in row.matched])
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.embedding import Embedder
from rag.lexicon.terms import Term
from rag.models import Passage
from rag.rerank import Reranker
from rag.retrieval import FusionOptions, fused_search, ranked_lists
from rag.store import Store, faiss_id


@dataclass(frozen=True)
class ExplainedPassage:
    passage: Passage  # its score is the fused score, evidence and diversity included
    ranks: dict[str, int | None]  # "dense", "bm25", "lexicon" -> rank in that list (None: not in it)
    matched: tuple[Term, ...]  # the question's terms this passage's chunk holds


@dataclass(frozen=True)
class Explanation:
    question: str
    cross_lingual: bool
    weights: dict[str, float]  # each list's fusion weight for this question
    terms: tuple[Term, ...]  # every term the lexical side searched for
    passages: tuple[ExplainedPassage, ...]


def explain_search(
    index: Store,
    embedder: Embedder,
    question: str,
    k: int,
    options: FusionOptions,
    reranker: Reranker | None = None,
) -> Explanation:
    lists = ranked_lists(index, embedder, question, options)
    passages = fused_search(index, question, lists, k, options, reranker)
    positions = {name: {int_id: rank for rank, (int_id, _) in enumerate(hits, 1)} for name, hits in lists.lists.items()}
    terms = lists.query.terms
    held = index.words_in_chunks((t.text for t in terms), (faiss_id(p.chunk_id) for p in passages))
    explained = []
    for passage in passages:
        int_id = faiss_id(passage.chunk_id)
        ranks = {name: found.get(int_id) for name, found in positions.items()}
        matched = tuple(t for t in terms if t.text in held.get(int_id, set()))
        explained.append(ExplainedPassage(passage, ranks, matched))
    return Explanation(question, lists.query.cross_lingual, lists.weights, terms, tuple(explained))
