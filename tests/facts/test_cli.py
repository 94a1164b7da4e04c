"""`rag facts` as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import run


def test_cli_facts_lists_rows_of_a_place_as_json(settings) -> None:
    workdir: Path = settings.corpus_dir.parent
    result = run("facts", "--place", "金华", "--json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and {row["owner"] for row in rows} == {"金华"}
    assert "2848.0亿元" in [row["text"] for row in rows]


def test_cli_facts_table_and_question(settings) -> None:
    workdir: Path = settings.corpus_dir.parent
    table = run("facts", "--indicator", "5G基站", cwd=workdir)
    assert table.returncode == 0 and "773个" in table.stdout
    asked = run("facts", "--question", "安吉经济开发区上半年实际完成自营出口多少亿元？", cwd=workdir)
    assert asked.returncode == 0
    assert "目标180亿元" in asked.stdout and "实际完成额" in asked.stdout
