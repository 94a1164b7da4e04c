"""The on-disk index: atomic swaps, a lock between writers, readers that never see half a build."""

from __future__ import annotations

import pytest

from rag.errors import IndexError_, IndexLockedError, IndexNotFoundError
from rag.ingest import load_source
from rag.store import IndexReader, IndexWriter
from tests.conftest import CORPUS, MAX_BYTES


def test_index_writer_failure_part_way_leaves_the_previous_build_intact(settings):
    before = IndexReader(settings.index_dir)
    count = len(before.articles())
    with pytest.raises(RuntimeError, match="power cut"), IndexWriter(settings.index_dir) as writer:
        writer.delete_source("000_b906d9a3be0f9243.txt")
        raise RuntimeError("power cut")
    after = IndexReader(settings.index_dir)
    assert len(after.articles()) == count
    assert list((settings.index_root / ".builds").iterdir()) == [settings.index_dir.resolve()]


def test_index_reader_keeps_its_build_while_a_writer_swaps_in_a_new_one(settings):
    reader = IndexReader(settings.index_dir)
    with IndexWriter(settings.index_dir) as writer:
        writer.delete_source("004_90004a5f8ebd7398.txt")
    assert any(a.source_file == "004_90004a5f8ebd7398.txt" for a in reader.articles())
    fresh = IndexReader(settings.index_dir)
    assert not any(a.source_file == "004_90004a5f8ebd7398.txt" for a in fresh.articles())


def test_index_writer_refuses_a_second_writer(settings):
    with IndexWriter(settings.index_dir), pytest.raises(IndexLockedError, match="another `rag ingest`"):
        IndexWriter(settings.index_dir).__enter__()


def test_index_reader_without_an_index_says_what_to_run(tmp_path):
    with pytest.raises(IndexNotFoundError, match="rag ingest"):
        IndexReader(tmp_path / "indexes" / "default")


def test_index_writer_will_not_replace_a_folder_it_did_not_make(tmp_path):
    (tmp_path / "indexes" / "default").mkdir(parents=True)
    with pytest.raises(IndexError_, match="plain folder"):
        IndexWriter(tmp_path / "indexes" / "default").__enter__()


def test_index_round_trips_articles_exactly(settings):
    stored = IndexReader(settings.index_dir).articles("001_f3414c5a51445fce.txt")
    assert tuple(stored) == load_source(CORPUS / "001_f3414c5a51445fce.txt", MAX_BYTES).articles
