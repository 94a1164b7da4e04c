"""The store, on both backends (files, Milvus Lite): atomic switches, a lock between writers, readers that never
see half a build; and the Milvus store ranks exactly as the file store does."""

from __future__ import annotations

import numpy as np
import pytest

from rag.embedding import get_embedder
from rag.errors import IndexError_, IndexLockedError, IndexNotFoundError, StoreUnavailableError
from rag.filters import SearchFilters
from rag.ingest import load_source
from rag.lexicon.query import read_question
from rag.store import IndexReader, IndexWriter, Store, live_build, open_reader, store_writer
from rag.store.base import faiss_id
from tests.conftest import CORPUS, MAX_BYTES

QUESTIONS = [
    "截至5月底湖州建了多少个5G基站",
    "去年湖州全市规上工业增加值是多少？",
    "2013年湖州全市固定资产投资完成多少？",
]


def test_store_writer_failure_part_way_leaves_the_previous_build_intact(store_settings):
    before = open_reader(store_settings)
    count = len(before.articles())
    build = live_build(store_settings)
    with pytest.raises(RuntimeError, match="power cut"), store_writer(store_settings) as writer:
        writer.delete_source("000_b906d9a3be0f9243.txt")
        raise RuntimeError("power cut")
    assert live_build(store_settings) == build
    assert len(open_reader(store_settings).articles()) == count


def test_file_store_failure_leaves_no_build_folder_behind(settings):
    with pytest.raises(RuntimeError, match="power cut"), IndexWriter(settings.index_dir) as writer:
        writer.delete_source("000_b906d9a3be0f9243.txt")
        raise RuntimeError("power cut")
    assert list((settings.index_root / ".builds").iterdir()) == [settings.index_dir.resolve()]


def test_store_reader_keeps_its_build_while_a_writer_switches_to_a_new_one(store_settings):
    reader = open_reader(store_settings)
    with store_writer(store_settings) as writer:
        writer.delete_source("004_90004a5f8ebd7398.txt")
        _sync(writer, store_settings)
    assert any(a.source_file == "004_90004a5f8ebd7398.txt" for a in reader.articles())
    fresh = open_reader(store_settings)
    assert fresh.build_id != reader.build_id
    assert not any(a.source_file == "004_90004a5f8ebd7398.txt" for a in fresh.articles())
    assert "004_90004a5f8ebd7398.txt" not in fresh.chunk_counts()


def test_store_writer_refuses_a_second_writer(store_settings):
    with store_writer(store_settings), pytest.raises(IndexLockedError, match="another `rag ingest`"):
        store_writer(store_settings).__enter__()


def test_store_reader_without_an_index_says_what_to_run(tmp_path, store_settings):
    empty = store_settings.model_copy(update={"index_root": tmp_path / "nothing"})
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        open_reader(empty)
    assert live_build(empty) is None


def test_milvus_store_down_names_the_uri(store_settings):
    down = store_settings.model_copy(update={"store": "milvus", "milvus_uri": "http://127.0.0.1:19599"})
    with pytest.raises(StoreUnavailableError, match=r"127\.0\.0\.1:19599"):
        open_reader(down)


def test_file_store_will_not_replace_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "indexes" / "default").mkdir(parents=True)
    with pytest.raises(IndexError_, match="plain folder"):
        IndexWriter(tmp_path / "indexes" / "default").__enter__()


def test_store_round_trips_articles_exactly(store_settings):
    reader = open_reader(store_settings)
    assert isinstance(reader, Store)
    stored = reader.articles("001_f3414c5a51445fce.txt")
    assert tuple(stored) == load_source(CORPUS / "001_f3414c5a51445fce.txt", MAX_BYTES).articles
    assert reader.article(stored[0].id) == stored[0]


def test_milvus_store_holds_what_the_file_store_holds(built_milvus, settings):
    files = IndexReader(settings.index_dir)
    milvus = open_reader(settings.model_copy(update={"store": "milvus"}))
    _same_content(milvus, files)


def _same_content(milvus: Store, files: Store) -> None:
    assert milvus.sources() == files.sources()
    assert milvus.articles() == files.articles()
    assert milvus.publications() == files.publications()
    assert milvus.chunk_counts() == files.chunk_counts()
    assert milvus.chunk_count() == files.chunk_count()
    assert milvus.facts() == files.facts()
    assert milvus.facts(indicator="增加值", period="2013") == files.facts(indicator="增加值", period="2013")
    ids = list(files.chunk_counts())[:1]
    some = [a.id for a in files.articles(ids[0])][:3]
    assert milvus.facts(article_ids=some) == files.facts(article_ids=some)
    sample = sorted(files.chunk_ids_matching(SearchFilters()))[:50]
    assert milvus.chunks(sample) == files.chunks(sample)
    for filters in (
        SearchFilters(publication="嘉兴日报"),
        SearchFilters(source="003_5f0dfba9933f395f"),
        SearchFilters(date_from="2025-09-01", date_to="2025-09-30"),
        SearchFilters(date_to="2025-01-01"),
    ):
        assert milvus.chunk_ids_matching(filters) == files.chunk_ids_matching(filters), filters


@pytest.mark.parametrize("question", QUESTIONS)
def test_milvus_store_ranks_as_the_file_store_does(built_milvus, settings, question):
    files = IndexReader(settings.index_dir)
    milvus = open_reader(settings.model_copy(update={"store": "milvus"}))
    _same_ranks(milvus, files, get_embedder(settings).embed_query(question), question)


def test_milvus_incremental_build_holds_and_ranks_as_the_file_store_does(built_milvus, settings):
    """An ingest that keeps most sources copies their rows from the live build: the result is what the file
    store, and a build from scratch, hold (BM25's weights too, which move with every source added or removed)."""
    from rag.pipeline import ingest

    corpus = settings.corpus_dir
    (corpus / "004_90004a5f8ebd7398.txt").rename(corpus / "005_moved.txt")  # one source gone, one new
    (corpus / "002_73bfd24cb0fa9e4c.txt").unlink()
    for store in ("files", "milvus"):
        report = ingest(settings.model_copy(update={"store": store}))
        assert report.wrote_index and report.embedded == 0, store  # the moved file's texts are embedded already
    files = IndexReader(settings.index_dir)
    milvus = open_reader(settings.model_copy(update={"store": "milvus"}))
    assert "005_moved.txt" in milvus.chunk_counts() and "004_90004a5f8ebd7398.txt" not in milvus.chunk_counts()
    _same_content(milvus, files)
    embedder = get_embedder(settings)
    for question in QUESTIONS:
        _same_ranks(milvus, files, embedder.embed_query(question), question)


def _same_ranks(milvus: Store, files: Store, vector: np.ndarray, question: str) -> None:
    assert [i for i, _ in milvus.dense(vector, 30)] == [i for i, _ in files.dense(vector, 30)]
    from rag.bm25 import match_query

    match = match_query(question)
    assert match
    _same_ranking(milvus.bm25(match, 30), files.bm25(match, 30))
    query = read_question(question, files.document_frequencies, files.chunk_count())
    assert milvus.document_frequencies(query.weights) == files.document_frequencies(query.weights)
    _same_ranking(milvus.weighted_bm25(query.weights, 30), files.weighted_bm25(query.weights, 30))
    allowed = files.chunk_ids_matching(SearchFilters(source=max(files.chunk_counts())))  # the last source's
    _same_ranking(milvus.weighted_bm25(query.weights, 10, allowed), files.weighted_bm25(query.weights, 10, allowed))
    top = [i for i, _ in files.bm25(match, 5)]
    assert milvus.words_in_chunks(query.weights, top) == files.words_in_chunks(query.weights, top)


def _same_ranking(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [i for i, _ in got] == [i for i, _ in want]
    for (_, a), (_, b) in zip(got, want, strict=True):
        assert a == pytest.approx(b, rel=1e-5)


def _sync(writer, settings) -> None:
    embedder = get_embedder(settings)
    writer.sync_vectors(embedder.model_id, embedder.dim, settings.index_type)


def test_faiss_id_is_the_milvus_primary_key(store_settings):
    reader = open_reader(store_settings)
    chunk = next(iter(reader.chunks(sorted(reader.chunk_ids_matching(SearchFilters()))[:1]).values()))
    assert faiss_id(chunk.chunk.id) == chunk.int_id


def test_milvus_ingest_killed_part_way_leaves_the_previous_build_live(built_milvus, settings):
    """kill -9 of a Milvus ingest: the live build stays, and the next ingest drops what the dead one wrote."""
    import os
    import signal
    import subprocess
    import time

    from milvus_lite import server_manager_instance

    from rag.pipeline import ingest
    from rag.store.milvus import collection_prefix, connect, iter_build_collections
    from tests.test_cli import RAG

    milvus = settings.model_copy(update={"store": "milvus"})
    before = live_build(milvus)
    articles = open_reader(milvus).articles()
    server_manager_instance.release_server(milvus.milvus_location)  # Milvus Lite: one process per folder
    digest = (settings.corpus_dir / "003_5f0dfba9933f395f.txt").read_text(encoding="utf-8")
    (settings.corpus_dir / "005_copy.txt").write_text(digest.replace("湖州", "湖州市"), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(RAG_STORE="milvus", RAG_MILVUS_URI=milvus.milvus_location, OMP_NUM_THREADS="1")
    process = subprocess.Popen([RAG, "ingest"], cwd=settings.corpus_dir.parent, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    time.sleep(8)  # loading the corpus and embedding the new file's chunks
    process.send_signal(signal.SIGKILL)
    _, err = process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, err

    assert live_build(milvus) == before
    assert open_reader(milvus).articles() == articles
    report = ingest(milvus)  # the dead writer's lock is not held: its process is gone
    assert {f.source_file: f.status for f in report.files}["005_copy.txt"] == "new"
    client = connect(milvus)
    builds = {name.rsplit("_", 1)[0] for name in iter_build_collections(client, collection_prefix(milvus))}
    client.close()
    assert len(builds) == 2  # the new live build and the one before it, nothing the dead writer left


def test_milvus_writer_dying_mid_commit_leaves_collections_the_next_writer_drops(built_milvus, settings):
    """A writer process that dies after writing some of a build's collections, before the live row names it:
    readers keep the live build, and the next writer drops the orphans."""
    import subprocess
    import sys

    from milvus_lite import server_manager_instance

    from rag.pipeline import ingest
    from rag.store.milvus import collection_prefix, connect, iter_build_collections

    milvus = settings.model_copy(update={"store": "milvus"})
    before = live_build(milvus)
    server_manager_instance.release_server(milvus.milvus_location)
    script = (
        "import os, sys\n"
        "from rag.config import Settings\n"
        "from rag.store.milvus import MilvusWriter\n"
        "writer = MilvusWriter(Settings(index_root=sys.argv[1], store='milvus')).__enter__()\n"
        "writer._write_articles([writer._staged[name] for name in sorted(writer._staged)])\n"
        "os._exit(9)\n"
    )
    died = subprocess.run([sys.executable, "-c", script, str(settings.index_root)], capture_output=True, text=True)
    assert died.returncode == 9, died.stderr

    client = connect(milvus)
    prefix = collection_prefix(milvus)
    orphans = [n for n in iter_build_collections(client, prefix) if before not in n]
    client.close()
    assert orphans and all(n.endswith("_articles") for n in orphans)
    assert live_build(milvus) == before
    ingest(milvus, rebuild=True)
    client = connect(milvus)
    assert not set(orphans) & set(iter_build_collections(client, prefix))
    client.close()
