"""An answer made of the passages' own sentences, for when no LLM is configured or the LLM fails.

The best sentence (rag.evidence) comes first; a further sentence joins only when it holds question words
the chosen ones do not ("去年…是多少？同比增长多少？" may need two), up to MAX_SENTENCES. Each is copied
verbatim and followed by its [n], so every figure in it is in the passage it cites. The answer opens by
saying it is extractive, in the question's language.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from rag.evidence import Question, Sentence, coverage, normalise
from rag.facts.cited import COMPUTED, CitedMatch
from rag.facts.models import Fact
from rag.verify import extract_figures

MAX_SENTENCES = 3
MAX_CHARS = 400
MIN_SHARE_OF_BEST = 0.5  # a further sentence must cover at least half as much as the best one
NEAR_TIE = 0.95  # ...and joins even without new words when it is as good: both readings are shown,
CLEAR_ANSWER = 0.9  # unless the best sentence already holds (nearly) every word of the question
_LIST_NUMBER = re.compile(r"^\s*(?:\d{1,2}[.、)）]|[（(]\d{1,2}[)）]|[一二三四五六七八九十]+、)\s*")

HEADER = {
    "zh": "以下为资料原文摘录（未配置或未能使用大模型）：",
    "en": "Extractive answer, quoted from the sources (no LLM was used):",
}
NOT_IN_CORPUS = {
    "zh": "资料中没有找到这个问题的答案。",
    "en": "The sources do not answer this question.",
}
RELATED = {
    "zh": "相关但不是答案：",
    "en": "Related, but not an answer:",
}
MAX_RELATED = 2


def question_language(question: str) -> str:
    return "zh" if re.search(r"[\u3400-\u9fff]", question) else "en"


def choose_sentences(question: Question, ranked: Sequence[Sentence], excluded: set[int]) -> list[Sentence]:
    """The sentences of the answer, in the order they are given, from passages not in `excluded`."""
    candidates = [s for s in ranked if s.passage not in excluded]
    if question.wants_figure:
        candidates = [s for s in candidates if s.fits] or candidates
    if not candidates:
        return []
    chosen = [candidates[0]]
    for sentence in candidates[1:]:
        if len(chosen) == MAX_SENTENCES or _length(chosen) + len(sentence.text) > MAX_CHARS:
            break
        if sentence.coverage < MIN_SHARE_OF_BEST * chosen[0].coverage or _repeats(sentence, chosen):
            continue
        near_tie = chosen[0].coverage < CLEAR_ANSWER and sentence.coverage >= NEAR_TIE * chosen[0].coverage
        if near_tie or _adds_words(question, sentence, chosen):
            chosen.append(sentence)
    return chosen


def compose(sentences: Sequence[Sentence], language: str) -> str:
    """The answer text: a header line, then one cited sentence per line."""
    lines = [HEADER[language]]
    for sentence in sentences:
        text = _LIST_NUMBER.sub("", sentence.text).strip()
        lines.append(f"{text}[{sentence.passage + 1}]")
    return "\n".join(lines)


def not_in_corpus(
    language: str, reason: str = "", related: Sequence[Sentence] = (), sources: Mapping[int, str] | None = None
) -> str:
    """The refusal: what is missing when `reason` says it (in the question's language), then the closest sentences,
    cited, under a line that says they do not answer, so a reader can judge. `sources` names the publication of
    passages about another place, so their figures are read as theirs."""
    lines = [NOT_IN_CORPUS[language]]
    if reason:
        lines[0] += f"{reason}。" if language == "zh" else f" {reason}."
    if related:
        lines.append(RELATED[language])
    for sentence in related:
        source = (sources or {}).get(sentence.passage)
        said = (f"《{source}》：" if language == "zh" else f"{source}: ") if source else ""
        lines.append(f"{said}{_LIST_NUMBER.sub('', sentence.text).strip()}[{sentence.passage + 1}]")
    return "\n".join(lines)


def related_sentences(ranked: Sequence[Sentence]) -> list[Sentence]:
    """The closest sentences to show with a refusal: the best of each passage, best first, MAX_RELATED at most, none
    twice (a story reprinted in two papers is two passages)."""
    shown: list[Sentence] = []
    for sentence in ranked:
        fresh = all(s.passage != sentence.passage for s in shown) and not _repeats(sentence, shown)
        if sentence.coverage > 0 and fresh:
            shown.append(sentence)
        if len(shown) == MAX_RELATED:
            break
    return shown


def _adds_words(question: Question, sentence: Sentence, chosen: Sequence[Sentence]) -> bool:
    before = coverage(question, " ".join(s.text for s in chosen))
    after = coverage(question, " ".join([*(s.text for s in chosen), sentence.text]))
    return after > before + 1e-9


def _repeats(sentence: Sentence, chosen: Sequence[Sentence]) -> bool:
    text = normalise(sentence.text)
    return any(text in normalise(c.text) or normalise(c.text) in text for c in chosen)


def _length(sentences: Sequence[Sentence]) -> int:
    return sum(len(s.text) for s in sentences)


# --- answers from the figures table ----------------------------------------------------------------------------

_NUMBER_PREFIX = re.compile(r"^[\d.,，]+")
LONG_SENTENCE = 60  # characters: a longer sentence with several figures is trimmed to the clause that answers
_OPERATION_WORDS = {
    "zh": {"sum": "合计", "difference": "相差", "remainder": "其余", "ratio": "比值"},
    "en": {"sum": "Total", "difference": "Difference", "remainder": "The rest", "ratio": "Ratio"},
}


def compose_rows(rows: CitedMatch, language: str, support: Sentence | None = None) -> str:
    """The answer led by the rows that answer: the clause of each (its whole sentence when short), cited; the
    arithmetic when the question asks for it ("相差：4万亩-3.2万亩=0.8万亩[1]"); then at most one supporting
    sentence."""
    lines = [HEADER[language]]
    said: list[str] = []
    for sentence, facts in _by_sentence(rows.match.answers).items():
        cites = "".join(dict.fromkeys(rows.cite(f) for f in facts))
        lines.append(f"{_lead(sentence, facts)}{cites}")
        said.append(normalise(sentence))
    if computed := _computed_line(rows, language):
        lines.append(computed)
    if support is not None and not any(normalise(support.text) in s or s in normalise(support.text) for s in said):
        lines.append(f"{_LIST_NUMBER.sub('', support.text).strip()}[{support.passage + 1}]")
    return "\n".join(lines)


def missing_part(rows: CitedMatch | None, language: str) -> str:
    """For a sum or difference whose parts the table finds only some of, the line that says so, so that a figure
    quoted is not read as the answer: "无法计算相差：语料没有给出湖州进口的数字，只找到其中出口80.9亿美元[1]"."""
    if rows is None or language != "zh" or rows.match.frame.operation not in COMPUTED or not rows.match.found:
        return ""
    found = rows.match
    have = "、".join(f"{_clause_of(f)}{rows.cite(f)}" for f in found.found)
    return f"无法计算{_OPERATION_WORDS[language][found.frame.operation]}：{found.reason}，只找到{have}"


def _clause_of(fact: Fact) -> str:
    start, end = fact.clause_start - fact.sentence_start, fact.clause_end - fact.sentence_start
    return fact.sentence[start:end].strip("，,；;。 ")


def _by_sentence(facts: Sequence[Fact]) -> dict[str, list[Fact]]:
    grouped: dict[str, list[Fact]] = {}
    for fact in facts:
        grouped.setdefault(fact.sentence, []).append(fact)
    return grouped


def _lead(sentence: str, facts: Sequence[Fact]) -> str:
    """The sentence, or when it is long and holds other figures, the answering clauses with the sentence's opening
    clause before them when that one states no figure (it says when or who: "截至5月底，")."""
    text = _LIST_NUMBER.sub("", sentence).strip().rstrip("。；;，,")
    if len(text) <= LONG_SENTENCE or len(extract_figures(text)) <= len(facts):
        return text
    base = facts[0].sentence_start
    clauses = [sentence[f.clause_start - base : f.clause_end - base].strip("，,；; ") for f in facts]
    clauses = list(dict.fromkeys(c for c in clauses if c))
    opening = re.split(r"[，,；;]", text, maxsplit=1)[0]
    if opening and not extract_figures(opening) and all(opening not in c for c in clauses):
        clauses.insert(0, opening)
    return "，".join(clauses)


_UNLIKE_UNITS = {
    "zh": "{units}单位不同，不能直接{verb}",
    "en": "The figures are in different units ({units}) and cannot be {verb}",
}
_VERBS = {
    "zh": {"sum": "相加", "difference": "相减", "remainder": "相减"},
    "en": {"sum": "added", "difference": "subtracted", "remainder": "subtracted"},
}


def _computed_line(rows: CitedMatch, language: str) -> str:
    found = rows.match
    if not found.arithmetic and found.frame.operation in _VERBS[language] and len(found.answers) >= 2:
        units = list(dict.fromkeys(_NUMBER_PREFIX.sub("", f.text) for f in found.answers))
        if len(units) > 1:  # no sum of 亿元 and 亿美元 (rag.facts.match)
            verb = _VERBS[language][found.frame.operation]
            cites = "".join(dict.fromkeys(rows.cite(f) for f in found.answers))
            return _UNLIKE_UNITS[language].format(units="、".join(units), verb=verb) + cites
    if not (found.arithmetic and len(found.operands) >= 2):
        return ""
    operation = found.frame.operation
    operands = list(found.operands)
    if operation == "difference":
        operands.sort(key=lambda f: -f.value)
    operator = {"sum": "+", "difference": "-", "remainder": "-", "ratio": "÷"}[operation]
    result = found.arithmetic.rsplit("=", 1)[-1]
    cites = "".join(dict.fromkeys(rows.cite(f) for f in operands))
    expression = operator.join(f.text for f in operands) + f"={result}"
    return f"{_OPERATION_WORDS[language][operation]}：{expression}{cites}"
