"""The `rag` command as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RAG = shutil.which("rag", path=str(Path(sys.executable).parent)) or "rag"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    environment.update({"COLUMNS": "200", "NO_COLOR": "1", **(env or {})})
    return subprocess.run([RAG, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=120)


@pytest.fixture
def workdir(settings) -> Path:
    """A folder with corpus/ and a built indexes/, as after `make serve`."""
    return settings.corpus_dir.parent


@pytest.fixture
def fresh_workdir(tmp_path: Path, corpus_copy: Path) -> Path:
    """A folder with corpus/ and no index yet."""
    return tmp_path


def test_cli_version_and_help(fresh_workdir):
    assert run("--version", cwd=fresh_workdir).stdout.strip().startswith("rag 0.")
    help_text = run("--help", cwd=fresh_workdir).stdout
    for command in ("ingest", "articles", "search", "serve"):
        assert command in help_text


def test_cli_ingest_prints_shapes_and_counts_then_nothing_changed(workdir):
    first = run("ingest", "--rebuild", cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert "003_5f0dfba9933f395f.txt" in first.stdout and "digest" in first.stdout
    assert "webscrape" in first.stdout and "newspaper" in first.stdout
    assert "embedded 0 new chunk(s)" in first.stdout  # --rebuild keeps the embedding cache
    second = run("ingest", cwd=workdir)
    assert second.returncode == 0 and "Nothing changed" in second.stdout


def test_cli_ingest_says_how_many_chunks_it_embedded_after_an_edit(workdir):
    path = workdir / "corpus" / "000_b906d9a3be0f9243.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("龙山健康绿道", "龙山健身绿道"), encoding="utf-8")
    result = run("ingest", cwd=workdir)
    assert result.returncode == 0, result.stderr
    line = next(ln for ln in result.stdout.splitlines() if "000_b906d9a3be0f9243.txt" in ln)
    assert "changed" in line
    embedded = int(result.stdout.split("embedded ")[1].split(" ")[0])
    assert 1 <= embedded <= 6  # only the greenway article's chunks


def test_cli_search_finds_the_5g_passage(workdir):
    result = run("search", "截至5月底湖州建了多少个5G基站", "--k", "5", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "773" in result.stdout
    english = json.loads(run("search", "How many 5G base stations had Huzhou built?", "--json", cwd=workdir).stdout)
    assert english["query"].startswith("How many")
    assert any("773" in p["text"] for p in english["passages"][:5])
    assert set(english["passages"][0]) == {
        "rank",
        "chunk_id",
        "article_id",
        "title",
        "publication",
        "source_file",
        "date",
        "text",
        "score",
    }
    bm25 = run("search", "规上工业增加值", "--mode", "bm25", "--json", cwd=workdir)
    assert "1324.9" in json.loads(bm25.stdout)["passages"][0]["text"]


def test_cli_articles_lists_real_titles_and_shows_one(workdir):
    listing = run("articles", "--source", "000_b906d9a3be0f9243.txt", cwd=workdir)
    assert "串联诗意生活 集纳绿色智慧" in listing.stdout
    everything = json.loads(run("articles", "--json", cwd=workdir).stdout)
    greenway = next(a for a in everything if a["title"] == "串联诗意生活 集纳绿色智慧")
    shown = run("articles", greenway["id"], cwd=workdir)
    assert "今年全市绿道总长将突破1000公里" in shown.stdout and "徐震" in shown.stdout
    assert "计划新增绿道44公里" in shown.stdout


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (("ingest", "--corpus", "missing"), {}, 2, "corpus folder missing does not exist"),
        (("articles",), {"RAG_INDEX_NAME": "never-built"}, 2, "no index at indexes/never-built"),
        (("articles", "no-such-id"), {}, 2, "no article with id 'no-such-id'"),
        (("ingest",), {"RAG_INDEX_NAME": "bad name!"}, 2, "invalid setting RAG_INDEX_NAME='bad name!'"),
        (("ingest",), {"RAG_MAX_SOURCE_MB": "lots"}, 2, "invalid setting RAG_MAX_SOURCE_MB='lots'"),
    ],
)
def test_cli_errors_name_the_problem(workdir, args, env, code, message):
    result = run(*args, cwd=workdir, env=env)
    assert result.returncode == code
    assert message in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_cli_ingest_refuses_a_binary_file_with_exit_code_1_and_keeps_the_rest(workdir):
    (workdir / "corpus" / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(2000))
    result = run("ingest", cwd=workdir)
    assert result.returncode == 1
    assert "photo.jpg" in result.stdout and "binary" in result.stdout
    assert "refused" in result.stderr
    assert "串联诗意生活" in run("articles", cwd=workdir).stdout
