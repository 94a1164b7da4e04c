"""Place names through CC-CEDICT: another name of the same place, not the same name with its suffix."""

from __future__ import annotations

import pytest

from rag.facts.owners import place_aliases


@pytest.mark.parametrize(
    ("place", "alias", "expected"),
    [("俄国", "俄罗斯", True), ("俄罗斯", "俄国", True), ("南韩", "南朝鲜", True), ("湖州", "湖州市", False)],
)
def test_place_aliases_are_other_names_of_the_same_place(place: str, alias: str, expected: bool) -> None:
    assert (alias in place_aliases(place)) == expected


def test_a_word_that_is_no_proper_noun_has_no_aliases() -> None:
    assert place_aliases("企业") == ()
