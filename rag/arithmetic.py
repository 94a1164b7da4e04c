"""Computed figures in an answer: "94+40=134个", "4200-3500=700亩", "1.2亿÷3000万=4". A computation is an
equation written out between figures, so a reader can redo it and verification can check it.

    >>> from rag.verify import extract_figures
    >>> text = "两年合计94+40=134个[1][2]。"
    >>> [c.expression for c in find_computations(text, extract_figures(text))]
    ['94+40=134个']

The result of a right computation is a supported figure when every operand is: `rag.verify` then accepts it
in a sentence whose citations hold the operands. The result may be rounded to the digits it is written with.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from rag.verify import Figure

_OPERATORS = {"+": "+", "＋": "+", "-": "-", "－": "-", "−": "-", "—": "-", "×": "*", "*": "*", "x": "*", "X": "*",
              "÷": "/", "/": "/", "(": "(", "（": "(", ")": ")", "）": ")"}  # fmt: skip
# Between two operands: closing brackets, one operator, opening brackets.
_GAP = re.compile(r"\s*(?:[)）]\s*)*[+＋\-－−—×*xX÷/]\s*(?:[(（]\s*)*")
_OPENING = re.compile(r"(?:[(（]\s*)+$")
_CLOSING = re.compile(r"\s*(?:[)）]\s*)*")
_EQUALS = re.compile(r"\s*[=＝≈]\s*")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


class Computation(BaseModel):
    """One equation of an answer: its operands, the result written, and whether the arithmetic holds."""

    model_config = ConfigDict(frozen=True)

    expression: str
    start: int  # of the expression in the answer
    operands: list[str]
    result: str
    result_start: int
    correct: bool


def find_computations(text: str, figures: Sequence[Figure]) -> list[Computation]:
    """Each run "figure op figure [op figure…] = figure" among `figures` (those of `text`, in order), with
    brackets where the writer put them: "(4万亩-3.2万亩)÷3.2万亩=25%"."""
    found: list[Computation] = []
    i = 0
    while i < len(figures) - 2:
        j = i
        while j + 1 < len(figures) and _GAP.fullmatch(text, figures[j].end, figures[j + 1].start):
            j += 1
        closing = _CLOSING.match(text, figures[j].end) if j > i else None
        equals = _EQUALS.match(text, closing.end()) if closing else None
        if closing and equals and j + 1 < len(figures) and equals.end() == figures[j + 1].start:
            operands, result = list(figures[i : j + 1]), figures[j + 1]
            opening = _OPENING.search(text, 0, operands[0].start)
            begin = opening.start() if opening else operands[0].start
            found.append(
                Computation(
                    expression=text[begin : result.end],
                    start=begin,
                    operands=[f.text for f in operands],
                    result=result.text,
                    result_start=result.start,
                    correct=_holds(_formula(text, begin, closing.end(), operands), operands, result),
                )
            )
            i = j + 2
        else:
            i = j + 1
    return found


def _holds(formula: str, operands: Sequence[Figure], result: Figure) -> bool:
    try:
        computed = _evaluate(formula, [f.value for f in operands])
    except (DivisionByZero, InvalidOperation, SyntaxError, ValueError):
        return False
    if result.kind == "percent" and all(f.kind == "number" for f in operands):
        computed *= 100  # a ratio of amounts written as a percentage: 0.25 is 25%
    return abs(computed - result.value) <= _rounding(result)


def _formula(text: str, start: int, end: int, operands: Sequence[Figure]) -> str:
    """text[start:end], e.g. "(4万亩-3.2万亩)÷3.2万亩", as "(x0-x1)/x2": operands become names, the rest ASCII."""
    pieces, position = [], start
    for n, figure in enumerate(operands):
        pieces.append("".join(_OPERATORS.get(ch, "") for ch in text[position : figure.start]) + f"x{n}")
        position = figure.end
    pieces.append("".join(_OPERATORS.get(ch, "") for ch in text[position:end]))
    return "".join(pieces)


def _evaluate(formula: str, values: list[Decimal]) -> Decimal:
    """The formula over Decimal values; only + - × ÷, brackets and the operand names are allowed."""
    tree = ast.parse(formula, mode="eval")

    def value(node: ast.expr) -> Decimal:
        if isinstance(node, ast.Name) and node.id.startswith("x"):
            return values[int(node.id[1:])]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        if isinstance(node, ast.BinOp):
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Add):
                return left + right
            if isinstance(node.op, ast.Sub):
                return left - right
            if isinstance(node.op, ast.Mult):
                return left * right
            if isinstance(node.op, ast.Div):
                return left / right
        raise ValueError(f"not arithmetic: {ast.dump(node)}")

    return value(tree.body)


def _rounding(result: Figure) -> Decimal:
    """Half a unit of the last digit written: "1.5亿" allows 0.05亿 either way."""
    number = _NUMBER.search(result.text)
    if number is None:  # a Chinese numeral: exact
        return Decimal(0)
    written = Decimal(number.group())
    scale = result.value / written if written else Decimal(1)
    decimals = len(number.group().partition(".")[2])
    return abs(scale) * Decimal(10) ** -decimals / 2
