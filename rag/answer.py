"""From a question (and chat history) to a cited, verified answer: the step that the CLI, the API and the
widget share.

    answerer = Answerer(settings, index, embedder, llm=LLMClient.from_settings(settings))
    answer = answerer.ask("去年湖州规上工业增加值是多少？")
    for event in answerer.stream("How much did Huzhou invest in 5G by the end of May?"):
        ...  # PassagesEvent, then DeltaEvent..., then DoneEvent (or ErrorEvent)

The line: condense the follow-up → retrieve (hybrid, optional rerank) → judge answerability → write the
answer with the LLM, or extractively when there is none or it fails → repair citations and verify.
"""

from __future__ import annotations

import re
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from rag.answerability import (
    Answerability,
    covers_year,
    decide,
    is_foreign,
    judge,
    mentions,
    named_years,
    other_places,
    publication_place,
    question_places,
)
from rag.config import Settings
from rag.embedding import Embedder
from rag.embedding.cache import PassageVectors
from rag.errors import ConfigError
from rag.evidence import Question, Sentence, analyse_question, is_cross_lingual, normalise, rank_sentences
from rag.facts.cited import CitedMatch, asks_for_rows, cited_match, misread_figures, prompt_lines
from rag.facts.frames import read_question
from rag.facts.match import character_weights
from rag.filters import SearchFilters
from rag.generate import extractive
from rag.generate.condense import condense_by_rule, needs_condensing
from rag.generate.llm import LLMClient, LLMError
from rag.generate.prompts import answer_messages, condense_messages, echoes_prompt, load_prompts
from rag.lexicon.query import read_question as lexical_question
from rag.models import Passage
from rag.rerank import Reranker
from rag.retrieval import fusion_options, search
from rag.store import Store
from rag.verify import Verification, rejection_reason, repair_citations, verify_answer

AnswerMode = Literal["llm", "extractive"]
RequestedMode = Literal["auto", "llm", "extractive"]
_CITATION = re.compile(r"\[(\d+)\]")
CROSS_LINGUAL_PASSAGES = 3  # passages whose sentences are embedded to pick an answer to a cross-lingual question
SENTENCE_VECTORS_KEPT = 8192  # sentences of the corpus whose vectors stay in memory: 1.5 KB each at 384-d


class Citation(BaseModel):
    model_config = ConfigDict(frozen=True)

    n: int
    chunk_id: str
    article_id: str
    title: str
    publication: str | None
    date: str | None
    source_file: str
    text: str


class Answer(BaseModel):
    model_config = ConfigDict(frozen=True)

    question: str
    standalone_question: str
    answer: str
    answerable: bool
    mode: AnswerMode
    fallback_reason: str | None = None  # why the LLM did not answer, when it was meant to
    # the same as a short code: timeout, unreachable, http_error, malformed, empty, unverified
    fallback_code: str | None = None
    llm_draft: str | None = None  # the LLM's own answer when it failed verification and was replaced (for debugging)
    confidence: float  # the answerability signal's value (rag.answerability)
    reason: str = ""  # why the passages do not answer, when they do not
    citations: list[Citation]
    passages: list[Passage]
    verification: Verification
    took_ms: float


class PassagesEvent(BaseModel):
    kind: Literal["passages"] = "passages"
    standalone_question: str
    passages: list[Passage]


class DeltaEvent(BaseModel):
    kind: Literal["delta"] = "delta"
    text: str


class DoneEvent(BaseModel):
    kind: Literal["done"] = "done"
    answer: Answer


class ErrorEvent(BaseModel):
    """The LLM failed after part of the answer was sent: `answer` holds that part, verified."""

    kind: Literal["error"] = "error"
    message: str
    answer: Answer


AnswerEvent = PassagesEvent | DeltaEvent | DoneEvent | ErrorEvent


@dataclass(frozen=True)
class Retrieved:
    question: Question
    passages: list[Passage]
    sentences: list[Sentence]
    foreign: set[int]
    answerability: Answerability
    rows: CitedMatch | None = None  # the figures table's rows in the passages, matched; None: no figure asked
    unnamed: frozenset[int] = frozenset()  # passages whose article does not name a place or year the question names


class Answerer:
    """Answers questions from one open index; build it once and share it (it holds no per-question state)."""

    def __init__(
        self,
        settings: Settings,
        index: Store,
        embedder: Embedder,
        llm: LLMClient | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.llm = llm
        self.reranker = reranker
        self._sentence_vectors = PassageVectors(embedder, size=SENTENCE_VECTORS_KEPT)
        self.prompts = load_prompts(settings.prompts_dir)
        self._fact_weights = character_weights(index.facts())  # corpus statistics for indicator similarity
        self._places = sorted({p for pub in index.publications() if (p := publication_place(pub))})

    def ask(
        self,
        question: str,
        history: Sequence[dict[str, str]] = (),
        k: int | None = None,
        mode: RequestedMode = "auto",
        filters: SearchFilters | None = None,
    ) -> Answer:
        for event in self.stream(question, history, k, mode, streaming=False, filters=filters):
            if isinstance(event, DoneEvent | ErrorEvent):
                return event.answer
        raise AssertionError("stream() always ends with a done or an error event")

    def stream(
        self,
        question: str,
        history: Sequence[dict[str, str]] = (),
        k: int | None = None,
        mode: RequestedMode = "auto",
        *,
        streaming: bool = True,
        filters: SearchFilters | None = None,
    ) -> Generator[AnswerEvent, None, None]:
        started = time.perf_counter()
        llm = self._llm_for(mode)
        standalone = self.condense(question, history, llm)
        found = self.retrieve(standalone, k or self.settings.answer_passages, filters)
        yield PassagesEvent(standalone_question=standalone, passages=found.passages)
        draft = _Draft(question, standalone, found, started)
        if llm is not None:
            try:
                yield from self._llm_answer(llm, draft, streaming)
                return
            except LLMError as exc:
                if draft.text:  # part of the answer is out already: report, never mix in another answer
                    draft.fallback_code = exc.reason
                    yield ErrorEvent(message=str(exc), answer=self._finish(draft, "llm", str(exc)))
                    return
                draft.fallback_reason, draft.fallback_code = str(exc), exc.reason
        draft.text, draft.answered = self._extractive_text(found, question)
        yield DeltaEvent(text=draft.text)
        yield DoneEvent(answer=self._finish(draft, "extractive"))

    def condense(self, question: str, history: Sequence[dict[str, str]], llm: LLMClient | None) -> str:
        if not needs_condensing(question, history):
            return question
        if llm is not None:
            try:
                rewritten = llm.complete(condense_messages(self.prompts, list(history), question)).strip()
                if rewritten:
                    return rewritten.splitlines()[0].strip()
            except LLMError:
                pass  # the rule below still gives retrieval a standalone question
        return condense_by_rule(question, history)

    def retrieve(self, question: str, k: int, filters: SearchFilters | None = None) -> Retrieved:
        options = fusion_options(self.settings)
        passages = search(self.index, self.embedder, question, k, "hybrid", options, self.reranker, filters)
        analysed = self._read(question)
        places = question_places(question, self._places, self.settings.home_place)
        foreign = {i for i, passage in enumerate(passages) if is_foreign(passage, places)}
        if analysed.cross_lingual:
            sentences, best_similarity = self._sentences_by_similarity(question, passages, foreign)
        else:
            sentences, best_similarity = rank_sentences(analysed, passages), 0.0
        unnamed = self._unnamed(question, passages)
        verdict = judge(
            analysed,
            sentences,
            passages,
            foreign,
            unnamed=unnamed,
            naming=self._naming(question, passages) if any(unnamed.values()) else (),
            min_coverage=self.settings.answerable_min_coverage,
            min_similarity=self.settings.answerable_min_similarity,
            best_similarity=best_similarity,
        )
        if verdict.basis == "coverage":
            sentences, verdict = self._paraphrase(
                question, passages, foreign | self._not_naming(unnamed), sentences, verdict
            )
        frame = read_question(question, self.settings.home_place, known_places=self._places)
        rows = cited_match(self.index, frame, passages, foreign, self._fact_weights) if asks_for_rows(frame) else None
        elsewhere = rows.elsewhere if rows else None
        verdict = decide(verdict, rows.match if rows else None, self.settings.home_place, elsewhere)
        return Retrieved(analysed, passages, sentences, foreign, verdict, rows, frozenset(self._not_naming(unnamed)))

    def _read(self, question: str) -> Question:
        """The question as sentence scoring reads it. A Chinese question's words count through their other names
        too, as retrieval reads them (rag.lexicon: near-synonyms from 同义词词林 at a discount, a place's other names
        in full); an English one is scored by meaning (`_sentences_by_similarity`)."""
        frequencies, n_chunks = self.index.document_frequencies, self.index.chunk_count()
        if is_cross_lingual(question):
            return analyse_question(question, frequencies, n_chunks)
        return lexical_question(question, frequencies, n_chunks).evidence

    def _llm_for(self, mode: RequestedMode) -> LLMClient | None:
        if mode == "llm" and self.llm is None:
            raise ConfigError("mode 'llm' needs an LLM: set RAG_LLM_BASE_URL and RAG_LLM_MODEL (or use mode 'auto')")
        return None if mode == "extractive" else self.llm

    def _llm_answer(self, llm: LLMClient, draft: _Draft, streaming: bool) -> Iterator[AnswerEvent]:
        prompt = answer_messages(
            self.prompts,
            draft.found.passages,
            draft.standalone,
            self.settings.context_tokens,
            self.settings.tokenizer,
            prompt_lines(draft.found.rows) if draft.found.rows else (),
        )
        draft.given = prompt.passages_given
        if streaming:
            for delta in llm.stream(prompt.messages):
                draft.text += delta
                yield DeltaEvent(text=delta)
        else:
            draft.text = llm.complete(prompt.messages)
            yield DeltaEvent(text=draft.text)
        answer = self._finish(draft, "llm")
        rejected = rejection_reason(answer.verification, len(answer.citations), echoes_prompt(draft.text))
        if rejected is None or self.settings.on_unverified == "flag":
            yield DoneEvent(answer=answer)
            return
        # What was streamed is superseded: the done event carries the answer to show instead.
        replacement = _Draft(draft.question, draft.standalone, draft.found, draft.started)
        replacement.text, replacement.answered = self._extractive_text(draft.found, draft.question)
        replacement.fallback_reason, replacement.fallback_code = rejected, "unverified"
        yield DoneEvent(answer=self._finish(replacement, "extractive").model_copy(update={"llm_draft": draft.text}))

    def _extractive_text(self, found: Retrieved, question: str) -> tuple[str, bool]:
        """The extractive answer, and whether it answers (a refusal lists related sentences, cited)."""
        language = extractive.question_language(question)
        chosen = extractive.choose_sentences(found.question, found.sentences, found.foreign | found.unnamed)
        if found.answerability.answerable and found.rows is not None and found.rows.match.answered:
            return extractive.compose_rows(found.rows, language, next(iter(chosen), None)), True
        if found.answerability.answerable and chosen:
            missing = extractive.missing_part(found.rows, language)  # the part of a sum the table has no row for
            return extractive.compose(chosen, language) + (f"\n{missing}" if missing else ""), True
        related = extractive.related_sentences(found.sentences)
        sources = {i: found.passages[i].publication or found.passages[i].source_file for i in found.foreign}
        return extractive.not_in_corpus(language, self._refusal_reason(found, language), related, sources), False

    @staticmethod
    def _refusal_reason(found: Retrieved, language: str) -> str:
        """The figures table's reason (in Chinese), cited where it quotes the row that nearly answered."""
        rows = found.rows
        if language != "zh" or rows is None or found.answerability.basis not in ("facts", "facts_elsewhere"):
            return ""
        matched = rows.elsewhere if found.answerability.basis == "facts_elsewhere" else rows.match
        nearest = matched.near_misses[0].fact if matched and matched.near_misses else None
        return found.answerability.reason + (rows.cite(nearest) if nearest is not None else "")

    def _finish(self, draft: _Draft, mode: AnswerMode, error: str | None = None) -> Answer:
        passages = draft.found.passages[: draft.given] if draft.given is not None else draft.found.passages
        text = repair_citations(draft.text.strip(), len(passages))
        cited = sorted({n for n in map(int, _CITATION.findall(text)) if 1 <= n <= len(passages)})
        verdict = draft.found.answerability
        refused = not cited if mode == "llm" else not draft.answered
        return Answer(
            question=draft.question,
            standalone_question=draft.standalone,
            answer=text,
            answerable=not refused,
            mode=mode,
            fallback_reason=draft.fallback_reason or error,
            fallback_code=draft.fallback_code,
            confidence=round(verdict.confidence, 4),
            reason=verdict.reason if refused else "",
            citations=[_citation(n, passages[n - 1]) for n in cited],
            passages=passages,
            verification=self._verify(text, passages, draft.found.rows if mode == "llm" else None),
            took_ms=round((time.perf_counter() - draft.started) * 1000, 1),
        )

    @staticmethod
    def _verify(text: str, passages: list[Passage], rows: CitedMatch | None) -> Verification:
        """The digits against the cited passages; for an LLM's answer also each figure's period and kind against
        the question's, through the figures table's rows (an extractive answer quotes the rows that fit)."""
        verification = verify_answer(text, [p.text for p in passages])
        misread = misread_figures(text, rows) if rows is not None else []
        if not misread:
            return verification
        return verification.model_copy(update={"misread_figures": misread, "ok": False})

    def _unnamed(self, question: str, passages: list[Passage]) -> dict[int, list[str]]:
        """For each passage, the places (beyond the known ones) and years the question names that its article does
        not."""
        places = other_places(question, self._places, self.settings.home_place)
        years = named_years(question)
        if not (places or years):
            return {}
        articles = {a: self.index.article(a) for a in dict.fromkeys(p.article_id for p in passages)}  # each read once
        unnamed = {}
        for article_id, article in articles.items():
            text = normalise(f"{article.title}{article.text}")
            missing = [x for x in places if not mentions(text, x)]
            unnamed[article_id] = missing + [f"{y}年" for y in years if not covers_year(text, article.date, y)]
        return {i: unnamed[p.article_id] for i, p in enumerate(passages)}

    @staticmethod
    def _not_naming(unnamed: dict[int, list[str]]) -> set[int]:
        return {i for i, missing in unnamed.items() if missing}

    def _naming(self, question: str, passages: list[Passage]) -> set[int]:
        """The passages whose own text and title name every place (beyond the known ones) and year the question
        names."""
        places = other_places(question, self._places, self.settings.home_place)
        years = named_years(question)
        naming = set()
        for i, passage in enumerate(passages):
            text = normalise(f"{passage.title}{passage.text}")
            if all(mentions(text, x) for x in places) and all(covers_year(text, None, y) for y in years):
                naming.add(i)
        return naming

    def _paraphrase(
        self,
        question: str,
        passages: list[Passage],
        excluded: set[int],
        sentences: list[Sentence],
        verdict: Answerability,
    ) -> tuple[list[Sentence], Answerability]:
        """A question that says in other words what a sentence says ("织机出毛病的频率" for "织机故障率") shares too
        few words with it for coverage: the sentence that holds the figure asked and is nearest in meaning answers
        when it is near enough. The place, year and figure checks have already passed; the figures table's check
        (decide) still follows. `excluded`: passages about another place, or whose article does not name the place or
        year asked."""
        nearby = [i for i in range(len(passages)) if i not in excluded][:CROSS_LINGUAL_PASSAGES]
        fitting = [s for s in sentences if s.fits and s.passage in nearby]
        if not fitting:
            return sentences, verdict
        query = self.embedder.embed_query(question)
        scores = self._sentence_vectors.embed([s.text for s in fitting]) @ query
        best = float(np.max(scores))
        if best < self.settings.paraphrase_min_similarity:
            return sentences, verdict
        scored = [replace(s, coverage=float(score)) for s, score in zip(fitting, scores, strict=True)]
        return sorted(scored, key=lambda s: -s.coverage), Answerability(True, best, "", "meaning")

    def _sentences_by_similarity(
        self, question: str, passages: list[Passage], foreign: set[int]
    ) -> tuple[list[Sentence], float]:
        """Cross-lingual questions share no words with the passages: rank sentences by embedding instead."""
        if not passages:
            return [], 0.0
        query = self.embedder.embed_query(question)
        nearby = [i for i in range(len(passages)) if i not in foreign][:CROSS_LINGUAL_PASSAGES]
        blank = Question(text=question, weights={}, wants_figure=False, cross_lingual=True)
        sentences = [s for s in rank_sentences(blank, passages) if s.passage in nearby]
        if not sentences:
            return [], 0.0
        scores = self._sentence_vectors.embed([s.text for s in sentences]) @ query
        scored = [replace(s, coverage=float(score)) for s, score in zip(sentences, scores, strict=True)]
        return sorted(scored, key=lambda s: -s.coverage), float(np.max(scores))


@dataclass
class _Draft:
    question: str
    standalone: str
    found: Retrieved
    started: float
    text: str = ""
    given: int | None = None  # passages numbered in the LLM prompt
    answered: bool = False  # an extractive text that answers, not a refusal
    fallback_reason: str | None = None
    fallback_code: str | None = None


def _citation(n: int, passage: Passage) -> Citation:
    return Citation(n=n, **passage.model_dump(include=set(Citation.model_fields) - {"n"}))
