"""`rag eval`: quality on question files with gold evidence (format and scoring rule: ../shared/eval/README.md).

Per question file line: `id, question, lang, type, answerable, must_include, evidence[{source, quote}]`.
Normalisation for every comparison: Unicode NFKC, all whitespace removed.

- recall@k: share of a question's evidence quotes found in its top-k passages; MRR: 1 / rank of the first
  passage that holds any quote. Both over the questions that have evidence.
- answered: share of answerable questions that got an answer (not a refusal).
- must_include: share of answerable questions whose answer holds every `must_include` string.
- cites evidence: share of answered, answerable questions citing a passage that holds an evidence quote.
- refusal: share of unanswerable and distractor questions that were refused.

A configuration names a retrieval mode (dense, bm25, hybrid, hybrid+rerank); the answer metrics come from the
Answerer, which always retrieves hybrid (reranked when a reranker is given), so they are filled only for the
hybrid configurations.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ValidationError

from rag.answer import Answer
from rag.errors import RagError
from rag.models import Passage


class EvalError(RagError):
    pass


class Evidence(BaseModel):
    source: str
    quote: str


class EvalQuestion(BaseModel):
    id: str
    question: str
    lang: str = "zh"
    type: str = "unknown"
    answerable: bool = True
    answer: str = ""
    must_include: list[str] = []
    evidence: list[Evidence] = []


@dataclass
class QuestionResult:
    question: EvalQuestion
    recall: float | None  # None: no evidence to find
    reciprocal_rank: float | None
    answer: Answer | None = None

    @property
    def answered(self) -> bool:
        return self.answer is not None and self.answer.answerable

    @property
    def includes_all(self) -> bool:
        if self.answer is None:
            return False
        return all(scoring_form(s) in scoring_form(self.answer.answer) for s in self.question.must_include)

    @property
    def cites_evidence(self) -> bool:
        if self.answer is None:
            return False
        quotes = [scoring_form(e.quote) for e in self.question.evidence]
        return any(q in scoring_form(c.text) for c in self.answer.citations for q in quotes)


@dataclass
class Scores:
    questions: int = 0
    recall_at_k: float | None = None
    mrr: float | None = None
    answered: float | None = None
    must_include: float | None = None
    cites_evidence: float | None = None
    refusal: float | None = None
    mean_ms: float | None = None


@dataclass
class Report:
    name: str
    k: int
    results: list[QuestionResult] = field(default_factory=list)

    def overall(self) -> Scores:
        return score(self.results)

    def by_type(self) -> dict[str, Scores]:
        groups: dict[str, list[QuestionResult]] = defaultdict(list)
        for result in self.results:
            groups[result.question.type].append(result)
        return {kind: score(results) for kind, results in sorted(groups.items())}

    def as_dict(self) -> dict[str, object]:
        return {
            "config": self.name,
            "k": self.k,
            "overall": self.overall().__dict__,
            "by_type": {kind: s.__dict__ for kind, s in self.by_type().items()},
            "questions": [_result_dict(r) for r in self.results],
        }


def load_questions(paths: Iterable[Path]) -> list[EvalQuestion]:
    questions = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise EvalError(f"cannot read question file {path}: {exc}") from exc
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                questions.append(EvalQuestion.model_validate_json(line))
            except ValidationError as exc:
                problem = exc.errors()[0]
                where = ".".join(str(p) for p in problem["loc"])
                raise EvalError(f"{path}:{number}: {problem['msg']} ({where or 'line'})") from exc
    if not questions:
        raise EvalError("no questions in the given files")
    return questions


def evaluate(
    name: str,
    questions: list[EvalQuestion],
    k: int,
    retrieve: Callable[[str], list[Passage]],
    answer: Callable[[str], Answer] | None = None,
    on_question: Callable[[], None] | None = None,
) -> Report:
    report = Report(name=name, k=k)
    for question in questions:
        passages = retrieve(question.question)[:k]
        recall, reciprocal = retrieval_scores(question, passages)
        result = QuestionResult(question, recall, reciprocal, answer(question.question) if answer else None)
        report.results.append(result)
        if on_question is not None:
            on_question()
    return report


def retrieval_scores(question: EvalQuestion, passages: list[Passage]) -> tuple[float | None, float | None]:
    quotes = [scoring_form(e.quote) for e in question.evidence]
    if not quotes:
        return None, None
    texts = [scoring_form(p.text) for p in passages]
    found = sum(1 for q in quotes if any(q in t for t in texts))
    first = next((rank for rank, t in enumerate(texts, start=1) if any(q in t for q in quotes)), None)
    return found / len(quotes), (1 / first if first else 0.0)


def score(results: list[QuestionResult]) -> Scores:
    with_evidence = [r for r in results if r.recall is not None]
    answerable = [r for r in results if r.question.answerable and r.answer is not None]
    unanswerable = [r for r in results if not r.question.answerable and r.answer is not None]
    answered = [r for r in answerable if r.answered]
    timed = [r.answer.took_ms for r in results if r.answer is not None]
    return Scores(
        questions=len(results),
        recall_at_k=_mean(r.recall for r in with_evidence),
        mrr=_mean(r.reciprocal_rank for r in with_evidence),
        answered=_share(answered, answerable),
        must_include=_share([r for r in answerable if r.answered and r.includes_all], answerable),
        cites_evidence=_share([r for r in answered if r.cites_evidence], answered),
        refusal=_share([r for r in unanswerable if not r.answered], unanswerable),
        mean_ms=_mean(timed),
    )


def _result_dict(result: QuestionResult) -> dict[str, object]:
    found: dict[str, object] = {
        "id": result.question.id,
        "type": result.question.type,
        "answerable": result.question.answerable,
        "recall": result.recall,
        "reciprocal_rank": result.reciprocal_rank,
    }
    if result.answer is not None:
        found |= {
            "answered": result.answered,
            "includes_all": result.includes_all,
            "cites_evidence": result.cites_evidence,
            "mode": result.answer.mode,
            "answer": result.answer.answer,
            "reason": result.answer.reason,
            "verification_ok": result.answer.verification.ok,
        }
    return found


def scoring_form(text: str) -> str:
    """The form in which the scoring rule compares texts: Unicode NFKC, all whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(sum(present) / len(present), 3) if present else None


def _share(part: list[QuestionResult], whole: list[QuestionResult]) -> float | None:
    return round(len(part) / len(whole), 3) if whole else None
