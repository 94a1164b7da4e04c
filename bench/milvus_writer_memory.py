"""Peak memory of an incremental Milvus build: how much of the live build the writer holds in Python at once.

    .venv/bin/python bench/milvus_writer_memory.py --chunks 20000

Builds a synthetic index of --chunks chunks (100 per source, 384-d random vectors, text made of corpus-like
words) in a `milvus-lite server` process (port --port), then, in a fresh process, runs the writer that deletes
one source (every other source is carried over to the new build) and reports that process's peak RSS (VmHWM)
and its RSS after the imports, and the time. The server holds the data and is not counted.
"""

from __future__ import annotations

import argparse
import hashlib
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


def _settings(uri: str) -> Settings:
    return Settings(store="milvus", milvus_uri=uri)


def _peak_rss_mib() -> float:
    """VmHWM: this process's peak RSS since it started (ru_maxrss would carry the parent's across fork+exec)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def seed(uri: str, n_chunks: int) -> None:
    rng = np.random.default_rng(0)
    with MilvusWriter(_settings(uri)) as writer:
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


def incremental(uri: str) -> None:
    """One source deleted: every other one is carried over from the live build."""
    before = _peak_rss_mib()
    started = time.perf_counter()
    with MilvusWriter(_settings(uri)) as writer:
        writer.delete_source("00000.txt")
        writer.sync_vectors("synthetic", DIM, "flat")
        writer.extra_manifest = {"embedder": {"model_id": "synthetic", "dim": DIM}}
        chunks = writer.chunk_count()
    took = time.perf_counter() - started
    peak = _peak_rss_mib()
    print(f"incremental build of {chunks} chunks: {took:.1f} s, peak RSS {peak:.0f} MiB "
          f"({peak - before:.0f} MiB above the {before:.0f} MiB after imports)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=20_000)
    parser.add_argument("--port", type=int, default=19552)
    parser.add_argument("--incremental", help=argparse.SUPPRESS)  # the measured step, in a process of its own
    args = parser.parse_args()
    if args.incremental:
        incremental(args.incremental)
        return
    uri = f"http://127.0.0.1:{args.port}"
    with tempfile.TemporaryDirectory() as folder:
        server_bin = Path(sys.executable).with_name("milvus-lite")
        command = [str(server_bin), "server", "--data-dir", f"{folder}/milvus", "--port", str(args.port)]
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for(uri)
            started = time.perf_counter()
            seed(uri, args.chunks)
            print(f"seeded {args.chunks} chunks in {time.perf_counter() - started:.1f} s")
            subprocess.run([sys.executable, __file__, "--incremental", uri], check=True)
        finally:
            server.terminate()
            server.wait(timeout=60)


def _wait_for(uri: str, timeout: float = 60.0) -> None:
    from pymilvus import MilvusClient

    deadline = time.monotonic() + timeout
    while True:
        try:
            MilvusClient(uri=uri, timeout=5).list_collections()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


if __name__ == "__main__":
    main()
