"""The held-out question set (bench/eval/heldout.jsonl) stays true to the corpus it was written from."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.evaluate import EvalQuestion, load_questions, scoring_form

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "bench" / "eval" / "heldout.jsonl"
QUESTIONS = load_questions([HELDOUT])


def _corpus(name: str) -> str:
    return scoring_form((ROOT / "corpus" / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("question", QUESTIONS, ids=[q.id for q in QUESTIONS])
def test_evidence_is_quoted_from_the_corpus(question: EvalQuestion) -> None:
    for evidence in question.evidence:
        assert scoring_form(evidence.quote) in _corpus(evidence.source), evidence.quote


def test_the_set_has_every_kind_of_question() -> None:
    kinds = {q.type for q in QUESTIONS}

    assert kinds == {"numeric", "paraphrase", "entity", "multihop", "crosslingual", "unanswerable", "distractor"}
    assert all(q.answerable == (q.type not in ("unanswerable", "distractor")) for q in QUESTIONS)
    assert all(q.must_include for q in QUESTIONS if q.answerable)
