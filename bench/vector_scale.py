"""How rag.vectors scales: build time, memory, single-query latency and recall@10 at 100k and 1M chunks.

    .venv/bin/python bench/vector_scale.py                                  # 100k and 1M, ~10 min on 2 cores
    .venv/bin/python bench/vector_scale.py --sizes 100000 --json out.json
    .venv/bin/python bench/vector_scale.py --sizes 1000000 --ef-search 32 64 128   # the hnsw trade-off curve
    .venv/bin/python bench/vector_scale.py --store milvus --sizes 100000 --types flat hnsw  # Milvus Lite, over TCP

With --store milvus the same vectors go into a Milvus Lite server process of its own (`milvus-lite server`,
port 19550) through pymilvus, as RAG_STORE=milvus stores chunks: build time is insert + index + load, memory
is that process's RSS, and latency is one search call per query over gRPC; recall is against exact FAISS.

Everything goes through rag.vectors (build_index, search, save_index, load_index), so the numbers are
those of the index the service builds. Recall@10 is measured against the flat (exact) index's answers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from rag import vectors

K = 10
WARMUP_QUERIES = 20


@dataclass(frozen=True)
class Row:
    n_vectors: int
    index_type: str
    setting: str  # the search knob measured: efSearch for hnsw, nprobe for ivf
    build_s: float
    file_bytes: int
    rss_growth_bytes: int
    load_s: float
    latency_queries: int
    p50_ms: float
    p95_ms: float
    recall_at_10: float


# The data: a Gaussian mixture, not uniform noise. Uniform random vectors in 384-d are all nearly orthogonal
# to each other, so "nearest neighbours" are barely nearer than anything else and the numbers say nothing about
# text. Sentence embeddings instead gather around topics and vary, near any one point, along a few dozen
# directions. So: a few thousand topic centroids with Zipf-like sizes (some topics are far more common than
# others); a point is its centroid plus noise along LOCAL_DIM directions of its own topic, plus a little
# isotropic noise in all 384. The constants are calibrated against real embeddings: 8k all-MiniLM-L6-v2
# embeddings of English documentation paragraphs have a local intrinsic dimension (MLE over the 20 to 100
# nearest) of ~24 and a relative contrast (mean distance / nearest distance) of 1.5; this mixture measures
# 15 to 28 and 1.8 at 20k points, so it is about as hard, if anything a little easier. Looser settings
# (LOCAL_DIM 8-16, less noise) measure 6-15 and 2.8-3.3, and would flatter every ANN index.
N_CENTROIDS = 4096
ZIPF_EXPONENT = 0.7
LOCAL_DIM = 32
SPREAD = 0.8
ISO_NOISE = 0.3
# Queries are held-out points moved a little further off, as a paraphrase of an existing chunk would be.
QUERY_NOISE = 0.1


def mixture(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """`n` L2-normalised float32 vectors from the topic mixture described above, in random topic order."""
    weights = 1.0 / np.arange(1, N_CENTROIDS + 1) ** ZIPF_EXPONENT
    labels = rng.choice(N_CENTROIDS, size=n, p=weights / weights.sum())
    order = np.argsort(labels, kind="stable")
    counts = np.bincount(labels, minlength=N_CENTROIDS)
    out = np.empty((n, dim), dtype=np.float32)
    start = 0
    for count in counts:
        rows = order[start : start + count]  # one topic at a time keeps the float64 temporaries small
        start += count
        centroid = rng.standard_normal(dim)
        centroid /= np.linalg.norm(centroid)
        basis = rng.standard_normal((LOCAL_DIM, dim)) / np.sqrt(dim)  # rows have norm ~1
        local = rng.standard_normal((count, LOCAL_DIM)) * (SPREAD / np.sqrt(LOCAL_DIM)) @ basis
        iso = rng.standard_normal((count, dim)) * (ISO_NOISE / np.sqrt(dim))
        out[rows] = centroid + local + iso
    return _normalise(out)


def _normalise(x: np.ndarray) -> np.ndarray:
    x /= np.sqrt(np.einsum("ij,ij->i", x, x))[:, None]  # in place: no 1.5 GB temporary at 1M
    return x


def make_data(n: int, n_queries: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    data = mixture(n + n_queries, dim, rng)
    queries = data[n:].copy()
    queries += rng.standard_normal(queries.shape).astype(np.float32) * (QUERY_NOISE / np.sqrt(dim))
    base = data[:n]  # a view: no second copy of the base vectors
    # Chunk ids are not positions in the store: shuffled and offset, so a mix-up of the two shows as 0 recall.
    ids = (10_000_000 + rng.permutation(n)).astype(np.int64)
    return ids, base, _normalise(queries)


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak is the best we have
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def single_query_latencies(index: object, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Milliseconds per query, one query per call as the service does, and the ids found."""
    for query in queries[:WARMUP_QUERIES]:
        vectors.search(index, query, K)
    found = np.empty((len(queries), K), dtype=np.int64)
    times = np.empty(len(queries))
    for i, query in enumerate(queries):
        start = time.perf_counter()
        _, ids = vectors.search(index, query, K)
        times[i] = time.perf_counter() - start
        found[i] = ids[0]
    return times * 1000, found


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    hits = sum(len(np.intersect1d(f, e[e >= 0])) for f, e in zip(found, exact, strict=True))
    return hits / max(1, int((exact >= 0).sum()))


def measure_type(
    index_type: vectors.IndexType,
    ids: np.ndarray,
    base: np.ndarray,
    queries: np.ndarray,
    exact: np.ndarray | None,
    settings: list[int],
    latency_queries: int,
    workdir: Path,
) -> tuple[list[Row], np.ndarray]:
    """Rows for one index type, one per search setting, and the ids it returned for all queries (batch)."""
    gc.collect()
    rss_before = rss_bytes()
    start = time.perf_counter()
    index = vectors.build_index(index_type, ids, base)
    build_s = time.perf_counter() - start
    rss_growth = rss_bytes() - rss_before

    path = workdir / f"{index_type}.faiss"
    vectors.save_index(index, path)
    file_bytes = path.stat().st_size
    del index
    gc.collect()
    start = time.perf_counter()
    index = vectors.load_index(path)  # measure the index as the service would open it
    load_s = time.perf_counter() - start
    path.unlink()

    _, batch_ids = vectors.search(index, queries, K)
    rows = []
    for setting in settings or [0]:
        if index_type == "hnsw":
            vectors.configure_search(index, ef_search=setting)
        elif index_type == "ivf":
            vectors.configure_search(index, nprobe=setting)
        times, found = single_query_latencies(index, queries[:latency_queries])
        label = {"hnsw": f"efSearch={setting}", "ivf": f"nprobe={setting}"}.get(index_type, "exact")
        rows.append(
            Row(
                n_vectors=len(ids),
                index_type=index_type,
                setting=label,
                build_s=build_s,
                file_bytes=file_bytes,
                rss_growth_bytes=rss_growth,
                load_s=load_s,
                latency_queries=len(times),
                p50_ms=float(np.percentile(times, 50)),
                p95_ms=float(np.percentile(times, 95)),
                recall_at_10=1.0 if exact is None else recall(found, exact[: len(found)]),
            )
        )
    del index
    gc.collect()
    return rows, batch_ids


def run_size(n: int, args: argparse.Namespace, workdir: Path) -> list[Row]:
    start = time.perf_counter()
    ids, base, queries = make_data(n, args.queries, args.dim, args.seed)
    print(f"\n{n:,} vectors x {args.dim}: generated in {time.perf_counter() - start:.1f} s", flush=True)
    rows: list[Row] = []
    exact: np.ndarray | None = None
    for index_type in args.types:
        if index_type == "flat":
            # A flat query scans every vector (~100 ms at 1M), so time a few hundred; recall needs no timing.
            latency_queries = min(args.queries, args.flat_latency_queries)
            settings: list[int] = []
        else:
            latency_queries = args.queries
            settings = args.ef_search if index_type == "hnsw" else args.nprobe
        type_rows, batch_ids = measure_type(index_type, ids, base, queries, exact, settings, latency_queries, workdir)
        if index_type == "flat":
            exact = batch_ids
        rows += type_rows
        for row in type_rows:
            print(f"  {row.index_type:5s} {row.setting:13s} build {row.build_s:6.1f} s  p50 {row.p50_ms:7.3f} ms  "
                  f"recall@10 {row.recall_at_10:.4f}", flush=True)  # fmt: skip
    return rows


def print_table(rows: list[Row]) -> None:
    header = (
        f"{'vectors':>9} {'index':5} {'setting':13} {'build s':>8} {'file MiB':>9} {'RSS +MiB':>9} "
        f"{'load s':>7} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'recall@10':>9}"
    )
    print("\n" + header + "\n" + "-" * len(header))
    for r in rows:
        print(
            f"{r.n_vectors:>9,} {r.index_type:5} {r.setting:13} {r.build_s:>8.1f} {r.file_bytes / 2**20:>9.0f} "
            f"{r.rss_growth_bytes / 2**20:>9.0f} {r.load_s:>7.2f} {r.latency_queries:>7} {r.p50_ms:>8.3f} "
            f"{r.p95_ms:>8.3f} {r.recall_at_10:>9.4f}"
        )


MILVUS_PORT = 19550
MILVUS_INDEX = {"flat": ("FLAT", {}), "hnsw": ("HNSW", {"M": 32, "efConstruction": 200}), "ivf": ("IVF_FLAT", {})}


def process_rss(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run_size_milvus(n: int, args: argparse.Namespace, workdir: Path) -> list[Row]:
    """One Milvus Lite server per size; one collection per index type, built from the same vectors."""
    import subprocess

    from pymilvus import DataType

    ids, base, queries = make_data(n, args.queries, args.dim, args.seed)
    print(f"\n{n:,} vectors x {args.dim} into Milvus Lite", flush=True)
    _, exact = vectors.search(vectors.build_index("flat", ids, base), queries, K)
    server_bin = Path(sys.executable).with_name("milvus-lite")
    data_dir = workdir / f"milvus-{n}"
    server = subprocess.Popen(
        [str(server_bin), "server", "--data-dir", str(data_dir), "--port", str(MILVUS_PORT)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    rows: list[Row] = []
    try:
        client = _wait_for_milvus(f"http://127.0.0.1:{MILVUS_PORT}")
        idle_rss = process_rss(server.pid)
        for index_type in args.types:
            name = f"bench_{index_type}"
            schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
            schema.add_field("id", DataType.INT64, is_primary=True)
            schema.add_field("dense", DataType.FLOAT_VECTOR, dim=args.dim)
            kind, params = MILVUS_INDEX[index_type]
            index_params = client.prepare_index_params()
            index_params.add_index("dense", index_type=kind, metric_type="IP", params=params)
            rss_before = process_rss(server.pid)
            start = time.perf_counter()
            client.create_collection(name, schema=schema, index_params=index_params)
            for first in range(0, n, 5000):
                block = base[first : first + 5000]
                client.insert(name, [{"id": int(i), "dense": v} for i, v in zip(ids[first:], block, strict=False)])
            client.flush(name)
            client.load_collection(name)
            client.search(name, data=[queries[0].tolist()], anns_field="dense", limit=K)  # builds lazily, if so
            build_s = time.perf_counter() - start
            rss_growth = process_rss(server.pid) - rss_before
            search_params = {"metric_type": "IP", "params": {"ef": args.ef_search[0]} if index_type == "hnsw" else {}}
            n_timed = min(args.queries, args.flat_latency_queries) if index_type == "flat" else args.queries
            times = np.empty(n_timed)
            found = np.full((n_timed, K), -1, dtype=np.int64)
            for i, query in enumerate(queries[:n_timed]):
                started = time.perf_counter()
                hits = client.search(
                    name, data=[query.tolist()], anns_field="dense", limit=K, search_params=search_params
                )
                times[i] = time.perf_counter() - started
                found[i, : len(hits[0])] = [int(h["id"]) for h in hits[0]]
            times *= 1000
            row = Row(
                n_vectors=n, index_type=f"milvus-{index_type}", setting=kind, build_s=build_s,
                file_bytes=_folder_bytes(data_dir), rss_growth_bytes=rss_growth, load_s=0.0,
                latency_queries=n_timed, p50_ms=float(np.percentile(times, 50)),
                p95_ms=float(np.percentile(times, 95)), recall_at_10=recall(found, exact[:n_timed]),
            )  # fmt: skip
            rows.append(row)
            rss_mib = process_rss(server.pid) / 2**20
            print(f"  {row.index_type:12s} build {build_s:6.1f} s  server RSS {rss_mib:.0f} MiB "
                  f"(idle {idle_rss / 2**20:.0f})  p50 {row.p50_ms:7.3f} ms  p95 {row.p95_ms:7.3f} ms  "
                  f"recall@10 {row.recall_at_10:.4f}", flush=True)  # fmt: skip
            client.drop_collection(name)
        client.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows


def _wait_for_milvus(uri: str, timeout: float = 60.0) -> object:
    from pymilvus import MilvusClient

    deadline = time.monotonic() + timeout
    while True:
        try:
            client = MilvusClient(uri=uri, timeout=5)
            client.list_collections()
            return client
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=1000, help="queries per size (recall and latency)")
    parser.add_argument("--flat-latency-queries", type=int, default=200, help="flat queries to time (each scans all)")
    parser.add_argument("--types", nargs="+", default=list(vectors.INDEX_TYPES), choices=vectors.INDEX_TYPES)
    parser.add_argument("--ef-search", type=int, nargs="+", default=[vectors.HNSW_EF_SEARCH])
    parser.add_argument("--nprobe", type=int, nargs="+", default=[vectors.IVF_NPROBE])
    parser.add_argument("--dim", type=int, default=vectors.DEFAULT_DIM)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--store", choices=["files", "milvus"], default="files", help="FAISS, or Milvus Lite")
    args = parser.parse_args(argv)
    if "flat" in args.types:
        args.types = ["flat"] + [t for t in args.types if t != "flat"]  # flat first: it is the ground truth
    else:
        print("no flat index: recall is not measured (reported as 1.0)", file=sys.stderr)

    vectors.set_num_threads(vectors.usable_cpus())
    print(
        f"rag.vectors: hnsw M={vectors.HNSW_M} efConstruction={vectors.HNSW_EF_CONSTRUCTION}; "
        f"{vectors.usable_cpus()} FAISS threads; k={K}; {args.queries} queries per size"
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="vector_scale-") as tmp:
        for n in args.sizes:
            rows += run_size_milvus(n, args, Path(tmp)) if args.store == "milvus" else run_size(n, args, Path(tmp))
            gc.collect()
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
