"""Do the file store and the Milvus store rank alike? Every question of the given files is searched on both
(dense, bm25, lexicon, hybrid, top k) and the chunk id lists compared; prints per list how many questions
rank identically, and the questions that do not (ids only: bench/eval/untouched.jsonl gets totals alone).

    OMP_NUM_THREADS=1 RAG_MILVUS_URI=./indexes/milvus.db .venv/bin/python bench/store_parity.py bench/eval/tune.jsonl
"""

from __future__ import annotations

import sys
from pathlib import Path

from rag.config import load_settings
from rag.embedding import get_embedder
from rag.evaluate import load_questions
from rag.retrieval import fusion_options, search
from rag.store import open_reader

MODES = ("dense", "bm25", "lexicon", "hybrid")


def main(paths: list[Path], k: int = 10) -> None:
    settings = load_settings()
    files = open_reader(settings.model_copy(update={"store": "files"}))
    milvus = open_reader(settings.model_copy(update={"store": "milvus"}))
    embedder = get_embedder(settings)
    options = fusion_options(settings)
    for path in paths:
        questions = load_questions([path])
        same = dict.fromkeys(MODES, 0)
        differ: list[str] = []
        for q in questions:
            for mode in MODES:
                a = [p.chunk_id for p in search(files, embedder, q.question, k, mode, options)]
                b = [p.chunk_id for p in search(milvus, embedder, q.question, k, mode, options)]
                if a == b:
                    same[mode] += 1
                else:
                    differ.append(f"{q.id}:{mode}")
        print(f"{path.name}: {len(questions)} questions, top {k} identical: {same}")
        if differ and "untouched" not in path.name:
            print("  differ:", ", ".join(differ))


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]])
