"""A question's lexical side in one value: the weighted BM25 terms and the question as evidence scoring reads it,
both from the same words, so retrieval and the answer step see one reading of the question.

An English question is read through its translations (rag.lexicon.translate): each English phrase is one word
of the evidence question, found in a sentence through any of its Chinese candidates. A Chinese question keeps
its own words at full weight and gains their near-synonyms at a discount (rag.lexicon.synonyms), and the
corpus's short or long form of its phrases (rag.lexicon.abbreviations: 规上 for 规模以上).

    query = read_question("How many 5G base stations had Huzhou built?", index.document_frequencies, n_chunks)
    query.terms          # [Term("基站", 1.0, "translated", "base station"), Term("湖州", ...), Term("5g", ...)]
    query.evidence       # rag.evidence.Question, for rank_sentences / coverage
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from rag.bm25 import query_words
from rag.evidence import Question, analyse_question, is_cross_lingual
from rag.facts.owners import place_aliases
from rag.lexicon.abbreviations import abbreviated_terms
from rag.lexicon.synonyms import expanded_terms
from rag.lexicon.terms import DocumentFrequencies, Term, merged
from rag.lexicon.translate import translated_terms


@dataclass(frozen=True)
class LexicalQuery:
    terms: tuple[Term, ...]  # weighted BM25 terms: original, translated, expanded, figures
    evidence: Question  # the same words as sentence coverage reads them
    cross_lingual: bool
    words: tuple[str, ...] = ()  # a Chinese question's own BM25 words (rag.bm25.query_words); none for English

    @property
    def weights(self) -> dict[str, float]:
        return {term.text: term.weight for term in self.terms}


def read_question(question: str, document_frequencies: DocumentFrequencies, n_chunks: int) -> LexicalQuery:
    if is_cross_lingual(question):
        return _english(question, document_frequencies, n_chunks)
    return _chinese(question, document_frequencies, n_chunks)


def _chinese(question: str, document_frequencies: DocumentFrequencies, n_chunks: int) -> LexicalQuery:
    analysed = analyse_question(question, document_frequencies, n_chunks)
    words = tuple(query_words(question))
    own = [Term(word, 1.0, "original", word) for word in words]
    expanded = expanded_terms(analysed.weights, document_frequencies)
    expanded += _place_aliases(analysed.weights, document_frequencies)
    expanded += abbreviated_terms(words, document_frequencies)
    alternatives: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for term in expanded:
        alternatives[term.source].append((term.text, term.weight))
    evidence = replace(analysed, alternatives={word: tuple(found) for word, found in alternatives.items()})
    return LexicalQuery(tuple(merged(own + expanded)), evidence, cross_lingual=False, words=words)


def _place_aliases(words: Iterable[str], document_frequencies: DocumentFrequencies) -> list[Term]:
    """Another name of a place the question names (俄罗斯 for 俄国) stands for it at full weight, where the corpus
    holds it."""
    aliases = [(word, alias) for word in words for alias in place_aliases(word)]
    frequencies = document_frequencies(alias for _, alias in aliases)
    return [Term(alias, 1.0, "expanded", word) for word, alias in aliases if frequencies.get(alias)]


def _english(question: str, document_frequencies: DocumentFrequencies, n_chunks: int) -> LexicalQuery:
    terms = translated_terms(question, document_frequencies)
    frequencies = document_frequencies(t.text for t in terms)
    by_source: dict[str, list[Term]] = defaultdict(list)
    for term in terms:
        by_source[term.source].append(term)
    weights = {}
    for source, found in by_source.items():
        # A phrase weighs as rare as its likeliest translation, the one the corpus uses most (listed first).
        weights[source] = _idf(frequencies.get(found[0].text, 0), n_chunks)
    alternatives = {source: tuple((t.text, t.weight) for t in found) for source, found in by_source.items()}
    base = analyse_question(question, document_frequencies, n_chunks)
    evidence = replace(base, weights=weights, alternatives=alternatives, cross_lingual=False)
    return LexicalQuery(tuple(terms), evidence, cross_lingual=True)


def _idf(document_frequency: int, n_chunks: int) -> float:
    return math.log(1 + (n_chunks - document_frequency + 0.5) / (document_frequency + 0.5))
