"""The messages sent to the LLM, from the prompt files in `prompts/` and the numbered passages.

    messages = answer_messages(prompts, passages, question, budget_tokens=3000, encoding="o200k_base")

Passages are added best first until the token budget is spent (the first one is cut to fit if it alone
is too long); `answer_messages` returns how many were given, since only those may be cited.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from rag.errors import ConfigError
from rag.models import Passage
from rag.tokens import count_tokens, get_encoder

PROMPT_FILES = ("system.md", "context.md", "answer.md", "condense.md")
_DELIMITER = re.compile(r"<\s*(/?)\s*passage", re.IGNORECASE)
FIGURES_HEADING = "资料中与问题有关的数字（摘自上面的资料，已标明主体、时期和类型）："


def _cites_within(line: str, given: int) -> bool:
    return all(1 <= int(n) <= given for n in re.findall(r"\[(\d+)\]", line))


@dataclass(frozen=True)
class Prompts:
    system: str
    context: Template
    answer: Template
    condense: Template


@dataclass(frozen=True)
class AnswerPrompt:
    messages: list[dict[str, str]]
    passages_given: int


@functools.lru_cache(maxsize=4)
def load_prompts(folder: Path) -> Prompts:
    texts = {}
    for name in PROMPT_FILES:
        path = folder / name
        try:
            texts[name] = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"cannot read prompt file {path} ({exc}); set RAG_PROMPTS_DIR to the prompts/ folder"
            ) from exc
    return Prompts(
        system=texts["system.md"],
        context=Template(texts["context.md"]),
        answer=Template(texts["answer.md"]),
        condense=Template(texts["condense.md"]),
    )


def answer_messages(
    prompts: Prompts,
    passages: list[Passage],
    question: str,
    budget_tokens: int,
    encoding: str,
    figures: Sequence[str] = (),
) -> AnswerPrompt:
    """The system message holds the rules, the passages and `figures` (lines about the figures table's rows, each
    naming the passage [n] it is in); the user message holds only the question. A small model continues whatever
    the user message holds: with the passages there, it echoed them back instead of answering."""
    blocks: list[str] = []
    used = 0
    for n, passage in enumerate(passages, start=1):
        block = passage_block(n, passage)
        cost = count_tokens(block, encoding)
        if used + cost > budget_tokens:
            if not blocks:
                blocks.append(_cut_to(block, budget_tokens, encoding))
            break
        blocks.append(block)
        used += cost
    shown = [line for line in figures if _cites_within(line, len(blocks))]
    listed = FIGURES_HEADING + "\n" + "\n".join(shown) if shown else ""
    context = prompts.context.safe_substitute(count=len(blocks), passages="\n\n".join(blocks), figures=listed)
    system = f"{prompts.system}\n\n{context.strip()}"
    user = prompts.answer.safe_substitute(question=question)
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return AnswerPrompt(messages=messages, passages_given=len(blocks))


def condense_messages(prompts: Prompts, history: list[dict[str, str]], question: str) -> list[dict[str, str]]:
    lines = [f"{'用户' if turn['role'] == 'user' else '助手'}：{turn['content']}" for turn in history]
    user = prompts.condense.safe_substitute(history="\n".join(lines), question=question)
    return [{"role": "user", "content": user}]


def passage_block(n: int, passage: Passage) -> str:
    attributes = {"n": str(n), "title": passage.title, "publication": passage.publication, "date": passage.date}
    shown = " ".join(f'{key}="{_attribute(value)}"' for key, value in attributes.items() if value)
    return f"<passage {shown}>\n{_defused(passage.text)}\n</passage>"


_ECHOED_HEADER = re.compile(r'\b(?:n|title|publication|date)\s*=\s*["\'＂]')


def echoes_prompt(answer: str) -> bool:
    """Whether an answer reproduces the prompt's passage blocks (a small model's failure: it continues the prompt
    instead of answering). The blocks' tags and header attributes never belong in an answer."""
    return bool(_DELIMITER.search(answer) or "＜/passage" in answer or _ECHOED_HEADER.search(answer))


def _defused(text: str) -> str:
    """A passage cannot open or close a passage tag: "</passage>" in the text becomes "＜/passage>"."""
    return _DELIMITER.sub(lambda m: f"＜{m.group(1)}passage", text)


def _attribute(value: str) -> str:
    return _defused(value).replace('"', "'").replace("\n", " ")


def _cut_to(block: str, budget_tokens: int, encoding: str) -> str:
    tokens = get_encoder(encoding).encode_ordinary(block)
    closing = "\n</passage>"
    keep = max(0, budget_tokens - count_tokens(closing, encoding))
    return get_encoder(encoding).decode(tokens[:keep]) + closing
