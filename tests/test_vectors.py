"""rag.vectors with real FAISS on a few thousand vectors: ids, exactness, recall, removal, persistence, input checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rag import vectors
from rag.errors import ConfigError, IndexError_

DIM = 64
N = 3000
K = 10


def unit_rows(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x / np.linalg.norm(x, axis=1, keepdims=True), dtype=np.float32)


def clustered(n: int, seed: int) -> np.ndarray:
    """Points around 50 topic centroids, so neighbours are meaningfully nearer than the rest."""
    rng = np.random.default_rng(seed)
    centroids = unit_rows(rng.standard_normal((50, DIM)))
    return unit_rows(centroids[rng.integers(0, 50, n)] + 0.15 * rng.standard_normal((n, DIM)))


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(ids, vectors, queries); ids are shuffled and offset so they cannot pass for positions."""
    rng = np.random.default_rng(7)
    ids = (5_000_000 + rng.permutation(N) * 3).astype(np.int64)
    return ids, clustered(N, seed=1), clustered(200, seed=2)


def exact_top_k(ids: np.ndarray, base: np.ndarray, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores = queries @ base.T
    top = np.argsort(-scores, axis=1)[:, :k]
    return np.take_along_axis(scores, top, axis=1), ids[top]


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return sum(len(np.intersect1d(f, e)) for f, e in zip(found, exact, strict=True)) / exact.size


@pytest.mark.parametrize("index_type", vectors.INDEX_TYPES)
def test_build_index_search_returns_our_ids(index_type, data):
    ids, base, _ = data
    index = vectors.build_index(index_type, ids, base)
    assert index.ntotal == N
    _, found = vectors.search(index, base[:100], K)
    assert np.mean(found[:, 0] == ids[:100]) >= 0.95  # each stored vector finds itself, under its own id


def test_flat_search_equals_brute_force_numpy(data):
    ids, base, queries = data
    scores, found = vectors.search(vectors.build_index("flat", ids, base), queries, K)
    want_scores, want_ids = exact_top_k(ids, base, queries, K)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(found, want_ids)


@pytest.mark.parametrize("index_type", ["hnsw", "ivf"])
def test_approximate_index_recall_at_10_vs_flat(index_type, data):
    ids, base, queries = data
    _, exact = vectors.search(vectors.build_index("flat", ids, base), queries, K)
    _, found = vectors.search(vectors.build_index(index_type, ids, base), queries, K)
    assert recall(found, exact) >= 0.9


def test_search_accepts_one_query_as_a_vector(data):
    ids, base, queries = data
    index = vectors.build_index("flat", ids, base)
    scores, found = vectors.search(index, queries[0], K)
    assert scores.shape == found.shape == (1, K)
    np.testing.assert_array_equal(found, vectors.search(index, queries[:1], K)[1])


def test_search_pads_with_minus_one_when_the_index_holds_fewer_than_k(data):
    ids, base, queries = data
    scores, found = vectors.search(vectors.build_index("flat", ids[:3], base[:3]), queries[:2], 5)
    assert (found[:, 3:] == -1).all() and np.isneginf(scores[:, 3:]).all()
    assert set(found[0, :3]) == set(ids[:3])


def test_new_index_is_empty_and_ready_for_ids(data):
    ids, base, _ = data
    index = vectors.new_index("hnsw", DIM)
    assert index.ntotal == 0
    vectors.add_vectors(index, ids[:500], base[:500])
    vectors.add_vectors(index, ids[500:1000], base[500:1000])
    _, found = vectors.search(index, base[600:601], 1)
    assert found[0, 0] == ids[600]


@pytest.mark.parametrize("index_type", ["flat", "ivf"])
def test_remove_ids_removes_and_keeps_the_rest_addressable(index_type, data):
    ids, base, _ = data
    index = vectors.build_index(index_type, ids, base)
    gone = ids[::3]
    vectors.remove_ids(index, gone)
    assert index.ntotal == N - len(gone)
    _, found = vectors.search(index, base, K)
    assert not np.isin(found, gone).any()
    kept = np.arange(N) % 3 != 0
    # after removal the remaining ids must still point at their own vectors, not at shifted neighbours
    assert np.mean(found[kept, 0] == ids[kept]) >= 0.95


def test_supports_removal_only_where_faiss_can_remove():
    assert vectors.supports_removal("flat")
    assert vectors.supports_removal("ivf")
    assert not vectors.supports_removal("hnsw")


def test_remove_ids_on_hnsw_says_to_rebuild(data):
    ids, base, _ = data
    index = vectors.build_index("hnsw", ids[:200], base[:200])
    with pytest.raises(ConfigError, match="rebuild"):
        vectors.remove_ids(index, ids[:1])


@pytest.mark.parametrize("index_type", vectors.INDEX_TYPES)
def test_save_load_round_trip_keeps_results(index_type, data, tmp_path):
    ids, base, queries = data
    index = vectors.build_index(index_type, ids, base)
    path = tmp_path / "vectors.faiss"
    vectors.save_index(index, path)
    loaded = vectors.load_index(path)
    assert vectors.index_type_of(loaded) == index_type
    assert loaded.ntotal == N
    for before, after in zip(vectors.search(index, queries, K), vectors.search(loaded, queries, K), strict=True):
        np.testing.assert_array_equal(before, after)


def hnsw_ef_search(index) -> int:
    import faiss

    return faiss.downcast_index(index.index).hnsw.efSearch


def test_load_index_sets_ef_search_whatever_the_file_says(data, tmp_path):
    ids, base, _ = data
    index = vectors.build_index("hnsw", ids, base)
    assert hnsw_ef_search(index) == vectors.HNSW_EF_SEARCH
    vectors.configure_search(index, ef_search=7)  # e.g. a file written by an older version
    path = tmp_path / "vectors.faiss"
    vectors.save_index(index, path)
    assert hnsw_ef_search(vectors.load_index(path)) == vectors.HNSW_EF_SEARCH
    assert hnsw_ef_search(vectors.load_index(path, ef_search=123)) == 123


def test_load_index_missing_file_names_it(tmp_path):
    path = tmp_path / "nowhere.faiss"
    with pytest.raises(IndexError_, match=r"nowhere\.faiss.*missing"):
        vectors.load_index(path)


@pytest.mark.parametrize("content", [b"", b"not a faiss index at all" * 10, "truncated"])
def test_load_index_corrupt_file_names_it(content, data, tmp_path):
    path = tmp_path / "broken.faiss"
    if content == "truncated":
        ids, base, _ = data
        vectors.save_index(vectors.build_index("flat", ids, base), path)
        path.write_bytes(path.read_bytes()[:5000])
    else:
        path.write_bytes(content)
    with pytest.raises(IndexError_, match=r"broken\.faiss.*corrupt"):
        vectors.load_index(path)


def test_save_index_into_a_missing_folder_names_it(data, tmp_path):
    ids, base, _ = data
    with pytest.raises(IndexError_, match="no-such-dir"):
        vectors.save_index(vectors.build_index("flat", ids[:10], base[:10]), tmp_path / "no-such-dir" / "v.faiss")


GOOD = unit_rows(np.random.default_rng(3).standard_normal((20, DIM)))
GOOD_IDS = np.arange(20, dtype=np.int64)


@pytest.mark.parametrize(
    ("index_type", "ids", "vecs", "error", "message"),
    [
        ("flat", GOOD_IDS, GOOD.astype(np.float64), ValueError, "float32"),
        ("flat", GOOD_IDS, GOOD[0], ValueError, "2-d"),
        ("flat", GOOD_IDS, np.asfortranarray(GOOD), ValueError, "C-contiguous"),
        ("flat", GOOD_IDS, GOOD.tolist(), ValueError, "numpy array"),
        ("flat", GOOD_IDS, GOOD * 2, ValueError, "L2-normalised"),
        ("flat", GOOD_IDS, np.full_like(GOOD, np.nan), ValueError, "L2-normalised"),
        ("flat", GOOD_IDS.astype(np.int32), GOOD, ValueError, "int64"),
        ("flat", GOOD_IDS.tolist(), GOOD, ValueError, "int64"),
        ("flat", GOOD_IDS[:5], GOOD, ValueError, "5 ids for 20 vectors"),
        ("flat", np.zeros(20, dtype=np.int64), GOOD, ValueError, "unique"),
        ("flat", GOOD_IDS - 1, GOOD, ValueError, ">= 0"),
        ("annoy", GOOD_IDS, GOOD, ConfigError, "unknown index type 'annoy'"),
    ],
)
def test_build_index_rejects_bad_input(index_type, ids, vecs, error, message):
    with pytest.raises(error, match=message):
        vectors.build_index(index_type, ids, vecs)


def test_search_with_the_wrong_dimension_says_to_rebuild():
    index = vectors.build_index("flat", GOOD_IDS, GOOD)
    with pytest.raises(ConfigError, match=r"64-d vectors but got 32-d.*rebuild"):
        vectors.search(index, unit_rows(np.ones((1, 32))), K)


def test_add_vectors_with_the_wrong_dimension_is_refused():
    index = vectors.new_index("flat", 128)
    with pytest.raises(ConfigError, match="128-d vectors but got 64-d"):
        vectors.add_vectors(index, GOOD_IDS, GOOD)


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_search_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must be a positive int"):
        vectors.search(vectors.build_index("flat", GOOD_IDS, GOOD), GOOD[:1], k)


def test_new_ivf_without_data_says_to_use_build_index():
    with pytest.raises(ConfigError, match="build_index"):
        vectors.new_index("ivf", DIM)


def test_new_index_rejects_a_non_positive_dimension():
    with pytest.raises(ConfigError, match="dimension"):
        vectors.new_index("flat", 0)


def test_ivf_lists_grow_with_sqrt_n_and_stay_trainable():
    assert vectors.ivf_lists(1_000_000) == 4000
    assert vectors.ivf_lists(3000) == 3000 // 39  # few vectors: enough points per list for k-means
    assert vectors.ivf_lists(5) == 1


def test_importing_rag_vectors_does_not_import_faiss():
    code = "import sys, rag.vectors; sys.exit('faiss' in sys.modules)"
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root, check=False).returncode == 0
