"""ingest(): incremental by content hash, refusing bad files without losing what was there."""

from __future__ import annotations

from rag.pipeline import ingest
from rag.store import IndexReader


def statuses(report):
    return {f.source_file: f.status for f in report.files}


def test_ingest_builds_every_seed(settings):
    report = ingest(settings)
    assert set(statuses(report).values()) == {"new"}
    counts = {f.source_file: f.articles for f in report.files}
    assert counts["004_90004a5f8ebd7398.txt"] == 10
    assert sum(counts.values()) == len(IndexReader(settings.index_dir).articles())


def test_ingest_twice_changes_nothing(settings):
    ingest(settings)
    build = settings.index_dir.resolve()
    again = ingest(settings)
    assert not again.wrote_index and "Nothing changed" in again.summary()
    assert settings.index_dir.resolve() == build


def test_ingest_rereads_only_the_file_that_changed(settings):
    ingest(settings)
    path = settings.corpus_dir / "003_5f0dfba9933f395f.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n## 新增一篇\n\n湖州新增一篇报道。\n\n摘自《湖州日报》\n")
    report = statuses(ingest(settings))
    assert report.pop("003_5f0dfba9933f395f.txt") == "changed"
    assert set(report.values()) == {"unchanged"}
    titles = [a.title for a in IndexReader(settings.index_dir).articles("003_5f0dfba9933f395f.txt")]
    assert titles[-1] == "新增一篇"


def test_ingest_removes_the_articles_of_a_deleted_file(settings):
    ingest(settings)
    (settings.corpus_dir / "002_73bfd24cb0fa9e4c.txt").unlink()
    assert statuses(ingest(settings))["002_73bfd24cb0fa9e4c.txt"] == "removed"
    assert not IndexReader(settings.index_dir).articles("002_73bfd24cb0fa9e4c.txt")


def test_ingest_refuses_a_corrupted_file_but_keeps_its_earlier_articles(settings):
    ingest(settings)
    (settings.corpus_dir / "000_b906d9a3be0f9243.txt").write_bytes(b"\x00\x01binary now" * 100)
    report = ingest(settings)
    refused = report.refused[0]
    assert refused.source_file == "000_b906d9a3be0f9243.txt"
    assert "binary" in refused.message and "10 earlier articles are kept" in refused.message
    assert len(IndexReader(settings.index_dir).articles("000_b906d9a3be0f9243.txt")) == 10
    assert ingest(settings).refused  # still reported on the next run, with nothing to redo


def test_ingest_rebuild_starts_over(settings):
    ingest(settings)
    assert set(statuses(ingest(settings, rebuild=True)).values()) == {"new"}
