"""English figures as the number tokens the Chinese corpus writes them with."""

from __future__ import annotations

import pytest

from rag.bm25 import segment
from rag.lexicon.figures import figure_terms


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many of the 773 base stations?", {"773"}),
        ("Did revenue reach 1.06 billion yuan?", {"1060000000", "10.6", "106000"}),
        ("Were 150,000 volunteers active?", {"150000", "15"}),
        ("Did the failure rate drop by 45%?", {"45%"}),
        ("Did it drop by 45 percent?", {"45%"}),
        ("How many 5G users?", {"5g"}),
    ],
)
def test_figure_terms_writes_figures_in_the_corpus_units(question, expected):
    assert {t.text for t in figure_terms(question)} == expected


def test_figure_terms_leaves_out_years():
    assert figure_terms("What did Huzhou invest in 2013?") == []


def test_figure_terms_match_the_tokens_the_index_cuts():
    tokens = set(segment("营业收入10.6亿元，志愿者15万人，故障率下降45%"))
    for question in ("1.06 billion yuan", "150,000 volunteers", "45%"):
        assert {t.text for t in figure_terms(question)} & tokens, question
