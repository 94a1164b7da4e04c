"""English questions as Chinese terms through CC-CEDICT, against the real index's word statistics."""

from __future__ import annotations

from rag.lexicon import translated_terms


def _by_text(question, index):
    return {t.text: t for t in translated_terms(question, index.document_frequencies)}


def test_translated_terms_maps_phrases_to_the_corpus_words(index):
    terms = _by_text("How many 5G base stations had Huzhou built by the end of May?", index)
    assert terms["基站"].source == "base stations"
    assert terms["基站"].origin == "translated"
    assert terms["5g"].origin == "figure"
    assert "湖州" in terms


def test_translated_terms_reads_capitalised_names_as_pinyin(index):
    terms = _by_text("What did Changxing invest?", index)
    assert terms["长兴"].source == "Changxing"


def test_translated_terms_keeps_only_words_the_corpus_holds(index):
    terms = translated_terms("How many volunteers joined the zebra crossing campaign?", index.document_frequencies)
    held = index.document_frequencies(t.text for t in terms)
    assert terms and all(held[t.text] > 0 for t in terms)


def test_translated_terms_weighs_a_sure_translation_above_a_vague_one(index):
    terms = _by_text("How many base stations were built?", index)
    built = [t for t in terms.values() if t.source == "built"]
    assert len(built) > 1
    assert all(t.weight < terms["基站"].weight for t in built)


def test_translated_terms_ignores_function_words_and_months(index):
    terms = translated_terms("What is it and where was it in May?", index.document_frequencies)
    assert terms == []
