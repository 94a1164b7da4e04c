"""The FAISS side of the on-disk index: build, search, save and load one vector index.

Vectors are L2-normalised float32 embeddings, so inner product equals cosine similarity and every
index here uses METRIC_INNER_PRODUCT: a higher score is a closer chunk. Every index is keyed by our
own int64 chunk ids, never by FAISS's insertion positions.

    index = build_index("hnsw", chunk_ids, embeddings)
    scores, ids = search(index, query_vectors, k=10)      # ids are chunk ids, -1 where fewer than k
    save_index(index, build_dir / "vectors.faiss")
    index = load_index(build_dir / "vectors.faiss")

The three kinds, and when to pick them:

    flat  exact search, removal in place; fine up to ~100k chunks (a query scans every vector)
    hnsw  graph search, ~1 ms at 1M chunks with recall@10 >= 0.95; no removal: rebuild instead
    ivf   clustered search, needs training data (use build_index); removal in place

FAISS is imported inside the functions that need it, so importing `rag` stays fast.
"""

from __future__ import annotations

import functools
import math
import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np

from rag.errors import ConfigError, IndexError_

if TYPE_CHECKING:
    import faiss

IndexType = Literal["flat", "hnsw", "ivf"]
INDEX_TYPES: tuple[str, ...] = get_args(IndexType)
DEFAULT_DIM = 384

# HNSW, measured on 1M clustered 384-d vectors (bench/vector_scale.py, 2 cores): M=32 links per node,
# efConstruction=64 (the 1M build is the slowest step: ~150 s quiet, ~260 s on a loaded machine). At search time
# efSearch=64 reaches only recall@10 0.88 at 1M (0.97 at 100k); 128 -> 0.93, 192 -> 0.945, 256 -> 0.951, all
# with p50 under 1 ms. 320 keeps recall@10 >= 0.95 with some margin, still ~1 ms. Memory: the vectors plus
# ~2*M*4 bytes of links per vector.
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 320

# IVF: ~4*sqrt(n) lists is FAISS's usual advice; nprobe lists are scanned per query.
IVF_NPROBE = 32
IVF_MAX_LISTS = 65536
# k-means wants >= 39 points per list (FAISS warns below that), which caps the lists of a small index.
IVF_MIN_POINTS_PER_LIST = 39
# k-means on a sample is as good as on everything for placing the lists, and much faster at 1M vectors.
IVF_TRAIN_POINTS_PER_LIST = 64

_NORM_TOLERANCE = 1e-3


def new_index(index_type: IndexType, dim: int = DEFAULT_DIM, *, n_vectors: int = 0) -> faiss.Index:
    """An empty index keyed by our chunk ids, ready for `add_vectors` (or `index.add_with_ids`).

    `n_vectors` sizes an "ivf" index (its number of lists) and is required for it; the returned ivf index is
    untrained, so prefer `build_index`, which trains it on the vectors it is given.
    """
    faiss = _faiss()
    _check_type(index_type)
    if dim <= 0:
        raise ConfigError(f"vector dimension must be positive, got {dim}")
    if index_type == "flat":
        return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    if index_type == "hnsw":
        graph = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        graph.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        graph.hnsw.efSearch = HNSW_EF_SEARCH
        # IndexIDMap2 also keeps id -> position, so `reconstruct(chunk_id)` works; the Python wrapper keeps
        # `graph` alive for as long as the map.
        return faiss.IndexIDMap2(graph)
    if n_vectors <= 0:
        raise ConfigError(
            "an ivf index needs training data before it can hold vectors; build it with "
            "build_index('ivf', ids, vectors), or pass n_vectors=... and train it yourself"
        )
    # IVF stores our ids in its inverted lists itself, and an IndexIDMap over it would break remove_ids
    # (the map assumes the sub-index renumbers positions after a removal, as flat does and IVF does not).
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, ivf_lists(n_vectors), faiss.METRIC_INNER_PRODUCT)
    ivf.cp.max_points_per_centroid = IVF_TRAIN_POINTS_PER_LIST
    ivf.nprobe = min(IVF_NPROBE, ivf.nlist)
    return ivf


def build_index(index_type: IndexType, ids: np.ndarray, vectors: np.ndarray) -> faiss.Index:
    """A new index of `index_type` holding `vectors` under `ids` (trained on them first for "ivf")."""
    _check_type(index_type)
    n, dim = _check_vectors(vectors)
    _check_ids(ids, n)
    index = new_index(index_type, dim, n_vectors=n)
    if not index.is_trained:
        index.train(vectors)
    index.add_with_ids(vectors, ids)
    return index


def add_vectors(index: faiss.Index, ids: np.ndarray, vectors: np.ndarray) -> None:
    """Add `vectors` under `ids`. Ids must not be in the index already: remove them first."""
    n, dim = _check_vectors(vectors)
    _check_dim(index, dim)
    _check_ids(ids, n)
    if not index.is_trained:
        raise ConfigError("this ivf index is untrained; create it with build_index('ivf', ids, vectors)")
    index.add_with_ids(vectors, ids)


def supports_removal(index_type: IndexType) -> bool:
    """Whether `remove_ids` works in place; if not, callers rebuild the index from the stored vectors."""
    _check_type(index_type)
    return index_type != "hnsw"  # FAISS cannot unlink a node from an HNSW graph


def index_type_of(index: faiss.Index) -> IndexType:
    faiss = _faiss()
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    if isinstance(inner, faiss.IndexHNSW):
        return "hnsw"
    if isinstance(inner, faiss.IndexIVF):
        return "ivf"
    if isinstance(inner, faiss.IndexFlat):
        return "flat"
    raise IndexError_(f"unsupported FAISS index {type(inner).__name__}; rebuild with `rag ingest --rebuild`")


def remove_ids(index: faiss.Index, ids: np.ndarray) -> None:
    """Remove `ids` from a flat or ivf index; ids not in the index are ignored."""
    index_type = index_type_of(index)
    if not supports_removal(index_type):
        raise ConfigError(
            f"a {index_type} index cannot remove vectors; rebuild it with build_index() from the remaining vectors"
        )
    _check_ids(ids)
    index.remove_ids(ids)  # type: ignore[arg-type]  # the Python wrapper takes an id array; the stub says IDSelector


def search(index: faiss.Index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-`k` chunks for each query: (scores, ids), both shaped (n_queries, k), best first.

    A single query may be passed as a 1-d vector. Where the index holds fewer than `k` vectors the
    missing slots have id -1 and score -inf.
    """
    if queries.ndim == 1:
        queries = queries.reshape(1, -1)
    _, dim = _check_vectors(queries, what="queries")
    _check_dim(index, dim)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")
    scores, ids = index.search(queries, int(k))
    scores[ids < 0] = -np.inf
    return scores, ids


def search_among(index: faiss.Index, query: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`search` for one query, over the vectors whose ids are in `allowed` only (FAISS skips the others while it
    searches, so k results come back whenever k allowed vectors exist)."""
    faiss = _faiss()
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    selector = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
    # Each index type reads only its own parameter class, so the search knobs are carried over explicitly.
    if isinstance(inner, faiss.IndexHNSW):
        params = faiss.SearchParametersHNSW(sel=selector, efSearch=inner.hnsw.efSearch)
    elif isinstance(inner, faiss.IndexIVF):
        params = faiss.SearchParametersIVF(sel=selector, nprobe=inner.nprobe)
    else:
        params = faiss.SearchParameters(sel=selector)
    scores, ids = index.search(query.reshape(1, -1).astype(np.float32), int(k), params=params)
    scores[ids < 0] = -np.inf
    return scores, ids


def configure_search(index: faiss.Index, *, ef_search: int | None = None, nprobe: int | None = None) -> None:
    """Set the search-time knobs of an hnsw (`ef_search`) or ivf (`nprobe`) index; others ignore them."""
    faiss = _faiss()
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap2) else index
    if ef_search is not None and isinstance(inner, faiss.IndexHNSW):
        if ef_search < 1:
            raise ValueError(f"ef_search must be >= 1, got {ef_search}")
        inner.hnsw.efSearch = ef_search
    if nprobe is not None and isinstance(inner, faiss.IndexIVF):
        if nprobe < 1:
            raise ValueError(f"nprobe must be >= 1, got {nprobe}")
        inner.nprobe = min(nprobe, inner.nlist)


def save_index(index: faiss.Index, path: Path) -> None:
    """Write `index` to `path` and flush it to disk.

    Not atomic on its own: write into a new build folder and swap that in (as rag.store does).
    """
    faiss = _faiss()
    try:
        faiss.write_index(index, str(path))
        # On disk before the caller swaps the build in: after a power cut the new build must be whole.
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
    except (RuntimeError, OSError) as exc:
        raise IndexError_(f"could not write the vector index to {path}: {exc}") from exc


def load_index(path: Path, *, ef_search: int = HNSW_EF_SEARCH, nprobe: int = IVF_NPROBE) -> faiss.Index:
    """Read an index written by `save_index`, with this version's search settings applied.

    The file keeps the efSearch/nprobe it was saved with, which may predate the current tuning (or come
    from a build script that changed them); setting them here makes the constants above authoritative.
    """
    faiss = _faiss()
    if not path.is_file():
        raise IndexError_(f"vector index {path} is missing; rebuild it with `rag ingest --rebuild`")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise IndexError_(
            f"vector index {path} is corrupt or not a FAISS index ({reason}); rebuild it with `rag ingest --rebuild`"
        ) from exc
    index_type_of(index)  # refuses kinds this module did not write
    configure_search(index, ef_search=ef_search, nprobe=nprobe)
    return index


def ivf_lists(n_vectors: int) -> int:
    """About 4*sqrt(n) lists: a list holds ~sqrt(n)/4 vectors, so probing is cheap and training stays small."""
    lists = min(4 * math.sqrt(n_vectors), n_vectors / IVF_MIN_POINTS_PER_LIST, IVF_MAX_LISTS)
    return max(1, int(lists))


def set_num_threads(n: int) -> None:
    """Threads FAISS uses to build and to search batches (one query runs on one thread either way)."""
    if n < 1:
        raise ValueError(f"thread count must be >= 1, got {n}")
    _faiss().omp_set_num_threads(n)


def usable_cpus() -> int:
    # OpenMP counts the host's cores, not the ones this process may run on (taskset, container cpusets);
    # more threads than cores makes OpenMP's spin-waiting threads fight over them and slows builds down.
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@functools.cache
def _faiss() -> ModuleType:
    try:
        import faiss
    except ImportError as exc:
        raise ConfigError("faiss is not installed; install it with `pip install faiss-cpu`") from exc
    faiss.omp_set_num_threads(usable_cpus())
    return faiss


def _check_type(index_type: str) -> None:
    if index_type not in INDEX_TYPES:
        raise ConfigError(f"unknown index type {index_type!r}; choose one of {', '.join(INDEX_TYPES)}")


def _check_dim(index: faiss.Index, dim: int) -> None:
    if index.d != dim:
        raise ConfigError(
            f"the index holds {index.d}-d vectors but got {dim}-d ones; the embedding model changed? "
            "rebuild with `rag ingest --rebuild`"
        )


def _check_vectors(vectors: np.ndarray, *, what: str = "vectors") -> tuple[int, int]:
    if not isinstance(vectors, np.ndarray):
        raise ValueError(f"{what} must be a numpy array, got {type(vectors).__name__}")
    if vectors.ndim != 2:
        raise ValueError(f"{what} must be 2-d (n, dim), got shape {vectors.shape}")
    if vectors.dtype != np.float32:
        raise ValueError(f"{what} must be float32, got {vectors.dtype}; convert with .astype(np.float32)")
    if not vectors.flags.c_contiguous:
        raise ValueError(f"{what} must be C-contiguous; pass np.ascontiguousarray({what})")
    n, dim = vectors.shape
    if dim == 0:
        raise ValueError(f"{what} have dimension 0")
    if n:
        # einsum gives the squared norms without a temporary as large as the vectors (1.5 GB at 1M x 384).
        squared = np.einsum("ij,ij->i", vectors, vectors)
        normalised = np.abs(squared - 1.0) <= 2 * _NORM_TOLERANCE  # False for NaN too
        if not normalised.all():
            bad = int(np.argmin(normalised))
            raise ValueError(
                f"{what} must be L2-normalised so inner product is cosine; row {bad} has norm "
                f"{math.sqrt(squared[bad]):.4f}"
            )
    return n, dim


def _check_ids(ids: np.ndarray, n: int | None = None) -> None:
    """`n` given: ids for n new vectors, so also unique, non-negative and one per vector."""
    if not isinstance(ids, np.ndarray) or ids.dtype != np.int64 or ids.ndim != 1:
        shape = getattr(ids, "shape", None)
        dtype = getattr(ids, "dtype", type(ids).__name__)
        raise ValueError(f"ids must be a 1-d int64 numpy array, got {dtype} with shape {shape}")
    if n is None:
        return
    if len(ids) != n:
        raise ValueError(f"got {len(ids)} ids for {n} vectors")
    if n and ids.min() < 0:
        raise ValueError("ids must be >= 0 (-1 marks a missing result)")
    if len(np.unique(ids)) != n:
        raise ValueError("ids must be unique")
