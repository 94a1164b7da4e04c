"""RAG_USER_DICT: jieba's user dictionary, applied at ingest and, through the index, at query time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.bm25 import segment
from rag.errors import ConfigError
from rag.lexicon.userdict import UserWord, apply_user_words, read_user_dict
from rag.pipeline import ingest
from rag.store import open_reader

NAMES = "莫干山高新区 10 ns\n# a comment\n南太湖新区\n小个贷 5\n"


@pytest.fixture(autouse=True)
def _no_user_words_after() -> Iterator[None]:
    yield
    apply_user_words(())


@pytest.fixture
def user_dict(tmp_path: Path) -> Path:
    path = tmp_path / "names.txt"
    path.write_text(NAMES, encoding="utf-8")
    return path


def test_read_user_dict_reads_jieba_format(user_dict):
    read = read_user_dict(user_dict)
    assert read.words == (UserWord("莫干山高新区", 10, "ns"), UserWord("南太湖新区"), UserWord("小个贷", 5))
    assert len(read.sha256) == 64


@pytest.mark.parametrize("line", ["莫干山高新区 ten ns", "a 1 n extra"])
def test_read_user_dict_names_the_bad_line(tmp_path, line):
    path = tmp_path / "bad.txt"
    path.write_text(f"南太湖新区\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.txt:2"):
        read_user_dict(path)


def test_read_user_dict_says_when_the_file_is_missing(tmp_path):
    with pytest.raises(ConfigError, match="RAG_USER_DICT"):
        read_user_dict(tmp_path / "absent.txt")


def test_apply_user_words_keeps_names_whole_and_takes_them_back():
    apply_user_words([UserWord("小个贷")])
    assert "小个贷" in segment("通过小个贷申请贷款")
    apply_user_words(())
    assert "小个贷" not in segment("通过小个贷申请贷款")


def test_ingest_resegments_when_the_user_dict_changes(settings, user_dict):
    with_names = settings.model_copy(update={"user_dict": user_dict})  # the same store as `settings`
    report = ingest(with_names)
    assert report.rebuilt_because is not None and "user_dict" in report.rebuilt_because
    apply_user_words(())  # a fresh reader must bring the index's own words back
    reader = open_reader(settings)
    try:
        assert all(reader.document_frequencies(["莫干山高新区", "小个贷"]).values())
        assert "南太湖新区" in segment("南太湖新区的项目")  # query words are cut as the chunks were
        assert [w[0] for w in reader.manifest["user_dict"]["words"]] == ["莫干山高新区", "南太湖新区", "小个贷"]
    finally:
        reader.close()
    assert ingest(with_names).wrote_index is False  # unchanged: nothing to redo
    without = ingest(settings)
    assert without.rebuilt_because is not None and "user_dict" in without.rebuilt_because
    reader = open_reader(settings)
    try:
        assert reader.document_frequencies(["莫干山高新区"]) == {"莫干山高新区": 0}
    finally:
        reader.close()
