"""Peak memory of an incremental Milvus build: how much of the live build the writer holds in Python at once.

    .venv/bin/python bench/milvus_writer_memory.py --chunks 20000

Builds a synthetic index of --chunks chunks (100 per source, 384-d random vectors, text made of corpus-like
words) into a Milvus Lite folder, then, in a fresh process, runs the writer that deletes one source (every
other source is carried over to the new build) and reports that process's peak RSS above its RSS after the
imports, and the time. The Milvus Lite server runs in a process of its own and is not counted.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.models import Article, Chunk
from rag.store.base import SourceRecord, text_sha
from rag.store.milvus import MilvusWriter

PER_SOURCE = 100
DIM = 384
WORDS = [
    "湖州",
    "工业",
    "增加值",
    "同比",
    "增长",
    "亿元",
    "项目",
    "投资",
    "开发区",
    "南太湖",
    "新区",
    "数字",
    "经济",
    "基站",
    "建设",
    "全市",
    "规上",
    "企业",
]


def _settings(folder: Path) -> Settings:
    return Settings(store="milvus", milvus_uri=str(folder / "milvus.db"), index_root=folder)


def seed(folder: Path, n_chunks: int) -> None:
    rng = np.random.default_rng(0)
    with MilvusWriter(_settings(folder)) as writer:
        for s in range(max(1, n_chunks // PER_SOURCE)):
            name = f"{s:05d}.txt"
            article = Article(id=f"a{s}", source_file=name, ordinal=0, title=f"第{s}篇", text="")
            chunks = [
                Chunk(id=hashlib.sha256(f"{s}:{c}".encode()).hexdigest(), article_id=article.id, position=c,
                      text="".join(rng.choice(WORDS, 60)) + f"{s}-{c}", tokens=100, start=0, end=0, context="标题")
                for c in range(PER_SOURCE)
            ]  # fmt: skip
            writer.put_source(SourceRecord(name, name, "generic", "utf-8", 1, ()), [article], chunks)
            vectors = rng.standard_normal((len(chunks), DIM)).astype(np.float32)
            unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
            writer.cache_embeddings("synthetic", [text_sha(c.embed_text) for c in chunks], unit)
        writer.sync_vectors("synthetic", DIM, "flat")
        writer.extra_manifest = {"embedder": {"model_id": "synthetic", "dim": DIM}}


def incremental(folder: Path) -> None:
    """One source deleted: every other one is carried over from the live build."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    with MilvusWriter(_settings(folder)) as writer:
        writer.delete_source("00000.txt")
        writer.sync_vectors("synthetic", DIM, "flat")
        writer.extra_manifest = {"embedder": {"model_id": "synthetic", "dim": DIM}}
        chunks = writer.chunk_count()
    took = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"incremental build of {chunks} chunks: {took:.1f} s, peak RSS {peak / 1024:.0f} MiB "
          f"({(peak - before) / 1024:.0f} MiB above the {before / 1024:.0f} MiB after imports)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--incremental", type=Path, help=argparse.SUPPRESS)  # the measured step, in its own process
    args = parser.parse_args()
    if args.incremental:
        incremental(args.incremental)
        return
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        seed(Path(folder), args.chunks)
        from milvus_lite import server_manager_instance

        server_manager_instance.release_server(_settings(Path(folder)).milvus_location)  # one process per folder
        print(f"seeded {args.chunks} chunks in {time.perf_counter() - started:.1f} s")
        subprocess.run([sys.executable, __file__, "--incremental", folder], check=True)


if __name__ == "__main__":
    main()
