"""BM25 two ways on the same chunks: ours (jieba words in a sparse field of BM25 weights, what RAG_STORE=milvus
stores, ranking as the file store's FTS5) against Milvus's own BM25 function (a VARCHAR field with a jieba
analyzer, the question sent as text), retrieval only, recall@k and MRR on a question file:

    OMP_NUM_THREADS=1 .venv/bin/python bench/milvus_bm25.py bench/eval/tune.jsonl

Reads the built file index (indexes/default); Milvus's collection goes into a Milvus Lite folder of its own.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

from rag.bm25 import match_query
from rag.config import Settings
from rag.evaluate import EvalQuestion, load_questions, retrieval_scores
from rag.filters import SearchFilters
from rag.lexicon.query import read_question
from rag.models import Passage
from rag.store import IndexReader

Ranker = Callable[[str, int], list[str]]  # question, k -> chunk texts, best first


def milvus_function_ranker(embed_texts: dict[int, str], texts: dict[int, str], folder: Path) -> Ranker:
    """Milvus computes the words (its jieba analyzer over the text we embed), the statistics and the scores."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    client = MilvusClient(str(folder / "bm25.db"))
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field(
        "text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True, analyzer_params={"tokenizer": "jieba"}
    )
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names="sparse")
    )
    params = client.prepare_index_params()
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection("chunks", schema=schema, index_params=params)
    rows = [{"id": i, "text": t} for i, t in embed_texts.items()]
    for start in range(0, len(rows), 500):
        client.insert("chunks", rows[start : start + 500])
    client.load_collection("chunks")

    def rank(question: str, k: int) -> list[str]:
        found = client.search("chunks", data=[question], anns_field="sparse", limit=k, output_fields=["id"],
                              search_params={"metric_type": "BM25"})  # fmt: skip
        return [texts[int(hit["id"])] for hit in found[0]]

    return rank


def our_rankers(index: IndexReader, texts: dict[int, str]) -> dict[str, Ranker]:
    def bm25(question: str, k: int) -> list[str]:
        match = match_query(question)
        return [texts[i] for i, _ in index.bm25(match, k)] if match else []

    def weighted(question: str, k: int) -> list[str]:
        query = read_question(question, index.document_frequencies, index.chunk_count())
        return [texts[i] for i, _ in index.weighted_bm25(query.weights, k)]

    return {"ours: bm25 (FTS5 MATCH)": bm25, "ours: weighted_bm25 (what hybrid uses)": weighted}


def scores(ranker: Ranker, questions: list[EvalQuestion], k: int) -> tuple[float, float]:
    recalls, reciprocals = [], []
    for question in questions:
        passages = [
            Passage(rank=r, score=0.0, chunk_id="", article_id="", title="", publication=None, source_file="",
                    date=None, text=t)
            for r, t in enumerate(ranker(question.question, k), start=1)
        ]  # fmt: skip
        recall, reciprocal = retrieval_scores(question, passages)
        if recall is not None and reciprocal is not None:
            recalls.append(recall)
            reciprocals.append(reciprocal)
    return sum(recalls) / len(recalls), sum(reciprocals) / len(reciprocals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("questions", type=Path)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()
    index = IndexReader(Settings().index_dir)
    chunks = index.chunks(index.chunk_ids_matching(SearchFilters()))
    texts = {i: c.chunk.text for i, c in chunks.items()}
    embed_texts = {i: c.chunk.embed_text for i, c in chunks.items()}  # what our BM25 words come from
    questions = load_questions([args.questions])
    with tempfile.TemporaryDirectory() as folder:
        rankers = {
            **our_rankers(index, texts),
            "Milvus BM25 function (jieba analyzer)": milvus_function_ranker(embed_texts, texts, Path(folder)),
        }
        print(f"{len(questions)} questions, {len(texts)} chunks, k={args.k}")
        for name, ranker in rankers.items():
            recall, mrr = scores(ranker, questions, args.k)
            print(f"{name:45s} recall@{args.k} {recall:.3f}  MRR {mrr:.3f}")


if __name__ == "__main__":
    main()
