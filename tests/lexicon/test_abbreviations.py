"""Short and long forms of a phrase (规上 for 规模以上), from CC-CEDICT's "abbr. for" entries and from the corpus's
own coinages."""

from __future__ import annotations

from rag.bm25 import query_words
from rag.lexicon.abbreviations import COINED_WEIGHT, DICTIONARY_WEIGHT, abbreviated_terms
from rag.lexicon.query import read_question


def _found(question: str, index) -> set[tuple[str, str, float]]:
    return {(t.text, t.source, t.weight) for t in abbreviated_terms(query_words(question), index.document_frequencies)}


def test_a_phrase_written_in_full_finds_the_corpus_short_form(index):
    # 000, 002 and 004 write only 规上工业; jieba's dictionary has no 规上, so it is the corpus's own coinage.
    found = _found("湖州去年规模以上工业增加值是多少？", index)
    assert {("规上", "规模", COINED_WEIGHT), ("规上", "以上", COINED_WEIGHT)} <= found
    # 000, 003 and 004 write 智造 for 智能制造
    assert ("智造", "智能", COINED_WEIGHT) in _found("湖州智能制造企业有多少家", index)


def test_cc_cedict_abbreviations_count_in_full(index):
    found = _found("跨境电商综试区有多少个", index)  # CC-CEDICT: 电商 is "abbr. for 电子商务"
    held = index.document_frequencies(["电子商务"])["电子商务"]
    assert (("电子商务", "电商", DICTIONARY_WEIGHT) in found) == (held > 0)


def test_dictionary_words_single_characters_and_chance_runs_are_not_abbreviations(index):
    assert not {t for t, _, _ in _found("人口民族情况如何", index)} & {"人民"}  # 人民 is a word of its own
    assert not {t for t, source, _ in _found("项目总投资是多少", index) if source == "总"}  # 总 -> 总经理
    assert "强高" not in {t for t, _, _ in _found("研发投入强度提高到多少", index)}  # one chunk holds it, by chance


def test_the_question_reading_carries_the_short_form_for_each_word_it_replaces(index):
    query = read_question("湖州去年规模以上工业增加值是多少？", index.document_frequencies, index.chunk_count())
    assert "规上" in query.weights
    assert ("规上", COINED_WEIGHT) in query.evidence.alternatives["规模"]
    assert ("规上", COINED_WEIGHT) in query.evidence.alternatives["以上"]
