"""Figures of an English question as the corpus writes them: Chinese news counts in 万 and 亿, so
"1.06 billion" is 10.6亿, "150,000 volunteers" 15万, and "773" stays 773. Each figure becomes the number
tokens rag.bm25.segment would cut from the Chinese forms ("10.6亿元" -> 10.6)."""

from __future__ import annotations

import re
from decimal import Decimal

from rag.lexicon.terms import Term

_FIGURE = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![A-Za-z\d])\s*(%|percent\b|per cent\b)?\s*"
    r"(thousand|million|billion|trillion)?",
    re.IGNORECASE,
)
_SCALES = {
    "thousand": Decimal(10**3),
    "million": Decimal(10**6),
    "billion": Decimal(10**9),
    "trillion": Decimal(10**12),
}
_CHINESE_UNITS = (Decimal(10**8), Decimal(10**4))  # 亿, 万
_YEAR = re.compile(r"(?:19|20)\d\d")
_CODE = re.compile(r"(?<!\w)(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z\d]+(?!\w)")  # "5G", "G60": kept as written


def figure_terms(question: str) -> list[Term]:
    """Exact terms for the question's figures, years excluded (a passage may say 去年 for the year asked about)."""
    terms = []
    for match in _FIGURE.finditer(question):
        whole, fraction, percent, scale = match.groups()
        written = whole.replace(",", "") + (fraction or "")
        if _YEAR.fullmatch(written) and not (fraction or percent or scale):
            continue
        value = Decimal(written) * _SCALES.get((scale or "").lower(), Decimal(1))
        suffix = "%" if percent else ""
        for form in _forms(value):
            terms.append(Term(form + suffix, 1.0, "figure", match.group().strip()))
    terms.extend(Term(code.lower(), 1.0, "figure", code) for code in _CODE.findall(question))
    return terms


def _forms(value: Decimal) -> list[str]:
    """The value as written plainly and in each Chinese unit it is at least one of: 106000 -> 106000, 10.6 (万)."""
    forms = [_plain(value)]
    forms += [_plain(value / unit) for unit in _CHINESE_UNITS if value >= unit]
    return list(dict.fromkeys(forms))


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
