"""Split every question file into a part to tune on and a part only measured at the end.

    python bench/eval/split.py        # writes {,fresh_,fresh2_}tune.jsonl + {,fresh_,fresh2_}untouched.jsonl

The split is stratified by question type and fixed by a hash of each id, so it never depends on how the
service does on a question. Each group of question files is split on its own: a group written later
(`fresh.jsonl`, written from the seeds by two people who never read `rag/`) does not move a question of an
earlier group to the other side, as adding it to the first group would.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
GROUPS = {
    "": [*sorted((HERE.parents[1] / ".." / "shared" / "eval").glob("*.jsonl")), HERE / "heldout.jsonl"],
    "fresh_": [HERE / "fresh.jsonl"],
    "fresh2_": [HERE / "fresh2.jsonl"],
}


def _key(question_id: str) -> str:
    return hashlib.sha256(question_id.encode("utf-8")).hexdigest()


def split(questions: list[dict]) -> tuple[list[dict], list[dict]]:
    """Within each type, order by the id's hash and take every other one for tuning."""
    by_type: dict[str, list[dict]] = defaultdict(list)
    for question in questions:
        by_type[question["type"]].append(question)
    tune: list[dict] = []
    untouched: list[dict] = []
    for group in by_type.values():
        for i, question in enumerate(sorted(group, key=lambda q: _key(q["id"]))):
            (tune if i % 2 == 0 else untouched).append(question)
    order = {q["id"]: n for n, q in enumerate(questions)}
    return sorted(tune, key=lambda q: order[q["id"]]), sorted(untouched, key=lambda q: order[q["id"]])


def main() -> None:
    for prefix, sources in GROUPS.items():
        lines = [line for path in sources for line in path.read_text(encoding="utf-8").splitlines()]
        questions = [json.loads(line) for line in lines if line]
        tune, untouched = split(questions)
        for name, part in ((f"{prefix}tune", tune), (f"{prefix}untouched", untouched)):
            lines = "".join(json.dumps(q, ensure_ascii=False) + "\n" for q in part)
            (HERE / f"{name}.jsonl").write_text(lines, encoding="utf-8")
            print(f"{name}: {len(part)} questions")


if __name__ == "__main__":
    main()
