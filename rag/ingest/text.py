"""Character-level helpers shared by the loaders: lines with offsets, widths, whitespace rules."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

WHITESPACE = " \t\r\n\f\v\u3000\u00a0"
TERMINAL = "。！？!?…"
CLOSERS = "”’」』）)》"
NON_HEADLINE_ENDINGS = "，、；：,;:。"
DATELINE_WORDS = ("本报讯",)


@dataclass(frozen=True)
class Line:
    """One line of the source: `text` excludes the line break; offsets are into the source."""

    start: int
    end: int
    text: str

    @property
    def stripped(self) -> str:
        return self.text.strip(WHITESPACE)

    @property
    def blank(self) -> bool:
        return not self.stripped

    @property
    def content_start(self) -> int:
        return self.start + (len(self.text) - len(self.text.lstrip(WHITESPACE)))

    @property
    def content_end(self) -> int:
        return self.start + len(self.text.rstrip(WHITESPACE))


def split_lines(text: str) -> list[Line]:
    lines: list[Line] = []
    pos = 0
    for raw in text.splitlines(keepends=True):
        body = raw.rstrip("\r\n")
        lines.append(Line(pos, pos + len(body), body))
        pos += len(raw)
    return lines


def is_cjk(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def visual_width(s: str) -> int:
    """Width in half-width columns: a Chinese character counts 2, an ASCII one 1."""
    return sum(2 if is_cjk(ch) else 1 for ch in s if ch not in WHITESPACE)


def ends_sentence(s: str) -> bool:
    s = s.rstrip(WHITESPACE)
    while s and s[-1] in CLOSERS:
        s = s[:-1]
    return bool(s) and (s[-1] in TERMINAL or s.endswith("……"))


_SPACE_RUN = re.compile(r"[ \t\r\n\f\v\u3000\u00a0]+")


def join_wrapped(raw: str) -> str:
    """Join hard-wrapped, space-justified OCR text.

    Chinese has no spaces between words, so whitespace is dropped, except a single space between two
    Latin letters or digits ("Mini/Micro LED"). "83.6 亿 元" becomes "83.6亿元".
    """

    def keep(match: re.Match[str]) -> str:
        before = raw[match.start() - 1] if match.start() > 0 else ""
        after = raw[match.end()] if match.end() < len(raw) else ""
        if raw[: match.start()].endswith(DATELINE_WORDS):  # "本报讯 两边绿树成荫": keep the dateline apart
            return " "
        return " " if before.isascii() and before.isalnum() and after.isascii() and after.isalnum() else ""

    return _SPACE_RUN.sub(keep, raw).strip(WHITESPACE)


def squeeze_spaces(raw: str) -> str:
    """Collapse whitespace runs to one space (headlines keep the space between their phrases)."""
    return _SPACE_RUN.sub(" ", raw).strip(WHITESPACE)


def without_whitespace(s: str) -> str:
    return _SPACE_RUN.sub("", s)


def doubled_copies(s: str) -> list[tuple[int, int]] | None:
    """Where a bold headline was printed twice, unit by unit ("王波在王波在““环浙…"), return the
    [start, end) ranges of the second copies within `s`; None when `s` is not such a line.

    Each whitespace-separated token must split wholly into units that repeat at once, and at least
    one unit must be longer than one character, so ordinary words like "张张叶子" are left alone.
    """
    copies: list[tuple[int, int]] = []
    longest = 0
    for token in re.finditer(r"\S+", s):
        plan = _split_doubled(token.group())
        if plan is None:
            return None
        for unit_start, unit_len in plan:
            start = token.start() + unit_start + unit_len
            copies.append((start, start + unit_len))
            longest = max(longest, unit_len)
    return copies if copies and longest >= 2 else None


def _split_doubled(token: str) -> list[tuple[int, int]] | None:
    # Dynamic programming over prefixes: ok[i] holds a plan covering token[:i] with doubled units.
    n = len(token)
    if n < 2 or n % 2:
        return None
    plans: list[list[tuple[int, int]] | None] = [None] * (n + 1)
    plans[0] = []
    for i in range(n):
        plan = plans[i]
        if plan is None:
            continue
        for size in range(1, (n - i) // 2 + 1):
            if token[i : i + size] == token[i + size : i + 2 * size] and plans[i + 2 * size] is None:
                plans[i + 2 * size] = [*plan, (i, size)]
    return plans[n]


def join_heading(raw: str) -> str:
    """A headline wrapped over lines is one headline: line breaks vanish, inner spaces stay single."""
    return squeeze_spaces(re.sub(r"[ \t\u3000]*\r?\n[ \t\u3000]*", "", raw))


def join_lines(raw: str) -> str:
    """Join soft-wrapped lines of clean text: no space next to Chinese, one space between Latin words."""
    out = ""
    for line in raw.splitlines():
        line = squeeze_spaces(line)
        if not line:
            continue
        if out and not (is_cjk(out[-1]) or is_cjk(line[0])):
            out += " "
        out += line
    return out
