"""The figures table as an answer decision: how often a question's frame meets the row that answers it.

    .venv/bin/python bench/facts.py [bench/eval/tune.jsonl] [--verbose] [--json OUT]

Reads each numeric, multihop, distractor and unanswerable question into a frame (rag.facts.frames), matches it
against the whole table of the built index (`rag ingest` first) and counts, per question type:
- answerable questions: the frame asks for a figure, and the matching rows (or the computed figure) hold every
  `must_include` figure (strings with a digit; names are left to sentence evidence);
- questions the corpus does not answer (unanswerable, distractor): no row answers the frame.
A question whose frame asks for no figure ("…与哪所高校…") is counted apart: sentence evidence decides it.
Tune on bench/eval/tune.jsonl only; run bench/eval/untouched.jsonl once, without --verbose.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from rag.config import Settings
from rag.facts.models import FactMatch
from rag.facts.service import match_question
from rag.store import open_index

TYPES = ("numeric", "multihop", "distractor", "unanswerable")


@dataclass
class Tally:
    questions: int = 0
    figure_frames: int = 0  # the frame asks for a figure
    right: int = 0  # answerable: every must_include figure held; not answerable: no row answers


def scoring_form(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def holds_figures(result: FactMatch, must_include: list[str]) -> bool:
    held = scoring_form(" ".join(f.text for f in result.answers) + " " + result.arithmetic)
    figures = [scoring_form(m) for m in must_include if re.search(r"\d", m)]
    return result.answered and all(figure in held for figure in figures)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("questions", nargs="?", type=Path, default=Path("bench/eval/tune.jsonl"))
    parser.add_argument("--verbose", action="store_true", help="One line per question (tune questions only).")
    parser.add_argument("--json", type=Path, help="Write the tallies as JSON here.")
    args = parser.parse_args()
    settings = Settings()
    tallies: dict[str, Tally] = defaultdict(Tally)
    with open_index(settings.index_dir) as index:
        for line in args.questions.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            question = json.loads(line)
            if question["type"] not in TYPES:
                continue
            result = match_question(index, question["question"], settings.home_place)
            tally = tallies[question["type"]]
            tally.questions += 1
            tally.figure_frames += result.frame.wants_figure
            answerable = question["answerable"]
            right = holds_figures(result, question["must_include"]) if answerable else not result.answered
            tally.right += right
            if args.verbose:
                found = ", ".join(f.text for f in result.answers) + (
                    f" ({result.arithmetic})" * bool(result.arithmetic)
                )
                verdict = "ok " if right else "NO "
                print(f"{verdict} {question['type']:<12} {question['question'][:40]} | {found} | {result.reason}")
    print(f"{'type':<13}{'n':>4}{'figure frames':>15}{'right':>7}   right means")
    for kind in TYPES:
        t = tallies[kind]
        means = "rows hold must_include" if kind in ("numeric", "multihop") else "no row answers"
        print(f"{kind:<13}{t.questions:>4}{t.figure_frames:>15}{t.right:>7}   {means}")
    if args.json:
        args.json.write_text(json.dumps({k: asdict(v) for k, v in tallies.items()}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
