"""Words a question does not spell the way its passage does: English questions mapped to Chinese terms
(CC-CEDICT), Chinese words widened to their near-synonyms (同义词词林), and the user dictionary that keeps
local names whole for jieba.

    terms = translated_terms("How many 5G base stations had Huzhou built?", index.document_frequencies)
    terms = expanded_terms(["故障率", "毛病"], index.document_frequencies)
"""

from rag.lexicon.synonyms import expanded_terms, load_thesaurus
from rag.lexicon.terms import Term, TermOrigin
from rag.lexicon.translate import load_dictionary, translated_terms

__all__ = ["Term", "TermOrigin", "expanded_terms", "load_lexicon", "translated_terms"]


def load_lexicon() -> None:
    """Read CC-CEDICT and the thesaurus now (about 1.5 s) rather than on the first question."""
    load_dictionary()
    load_thesaurus()
