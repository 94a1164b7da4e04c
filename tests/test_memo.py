"""What an open reader keeps between queries (rag.memo): bounded, and the same answers as a reader that kept
nothing."""

from __future__ import annotations

from rag.bm25 import match_query
from rag.config import Settings
from rag.memo import Memo
from rag.store import IndexReader


def test_a_memo_keeps_its_size_and_forgets_the_least_recently_used_first() -> None:
    memo: Memo[str, int] = Memo(2)
    memo.put("一", 1)
    memo.put("二", 2)
    assert memo.get("一") == 1  # 二 is now the one used longest ago
    memo.put("三", 3)
    assert (memo.get("一"), memo.get("二"), memo.get("三")) == (1, None, 3)
    assert len(memo) == 2


def test_a_reader_answers_again_as_a_fresh_reader_does(settings: Settings) -> None:
    kept, fresh = IndexReader(settings.index_dir), IndexReader(settings.index_dir)
    try:
        ids = [int_id for int_id, _ in kept.bm25(match_query("湖州 5G基站 绿道"), 12)]
        words = ["湖州", "基站", "绿道", "不在索引里的词"]
        first = (kept.chunks(ids), kept.document_frequencies(words), kept.term_postings(words))
        again = (kept.chunks(reversed(ids)), kept.document_frequencies(words), kept.term_postings(words))
        assert first == again == (fresh.chunks(ids), fresh.document_frequencies(words), fresh.term_postings(words))
        assert list(first[0]) == sorted(ids)
        article_id = first[0][ids[0]].chunk.article_id
        assert kept.article(article_id) is kept.article(article_id)
        assert kept.article(article_id) == fresh.article(article_id)
    finally:
        kept.close()
        fresh.close()
