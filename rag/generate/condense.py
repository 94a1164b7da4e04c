"""A follow-up question ("那去年呢？") made standalone with the chat history, so retrieval can find it.

With an LLM, the LLM rewrites it (prompts/condense.md). Without one, or when it fails, a deterministic
rule does: a question that names its own subject stands alone; otherwise the previous question is taken
and the follow-up's time words ("去年", "2013年") replace that question's, or, if it has none, the
follow-up is appended to it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.bm25 import STOPWORDS, cut_words

_FOLLOW_UP_START = re.compile(
    r"^\s*(?:那么?|那个|那它|还有|另外|以及|并且|而且|它|其|该|这|and\b|what about\b|how about\b|and what about\b)",
    re.IGNORECASE,
)
_FOLLOW_UP_END = re.compile(r"(?:呢|吗)\s*[？?。.!！]*\s*$")
_TIME = re.compile(
    r"(?:今年|去年|前年|明年|上半年|下半年|本月|上月|(?:19|20)\d\d年?|\d{1,2}月(?:底|初|末|份)?|"
    r"(?:this|last|next) year|in (?:19|20)\d\d|(?:19|20)\d\d)",
    re.IGNORECASE,
)
MIN_STANDALONE_WORDS = 3  # content words a question needs to stand on its own


def previous_question(history: Sequence[dict[str, str]]) -> str | None:
    for turn in reversed(history):
        if turn.get("role") == "user" and turn.get("content", "").strip():
            return turn["content"].strip()
    return None


def needs_condensing(question: str, history: Sequence[dict[str, str]]) -> bool:
    if previous_question(history) is None:
        return False
    if _FOLLOW_UP_START.search(question) or _FOLLOW_UP_END.search(question):
        return True
    return len(_content_words(question)) < MIN_STANDALONE_WORDS


def condense_by_rule(question: str, history: Sequence[dict[str, str]]) -> str:
    previous = previous_question(history)
    if previous is None or not needs_condensing(question, history):
        return question
    new_times = _TIME.findall(question)
    if new_times and _TIME.search(previous):
        replaced = iter(new_times + [new_times[-1]] * len(_TIME.findall(previous)))
        return _TIME.sub(lambda _: next(replaced), previous)
    remainder = _FOLLOW_UP_END.sub("", _FOLLOW_UP_START.sub("", question)).strip(" ，,？?")
    return f"{previous} {remainder}".strip() if remainder else previous


def _content_words(text: str) -> list[str]:
    return [w for w in cut_words(text) if re.fullmatch(r"[\w.%]+", w) and w.lower() not in STOPWORDS]
