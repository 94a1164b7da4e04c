"""The `rag` command as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# One answerable and one unanswerable question for the `rag eval` tests.
EVAL_LINES = [
    {"id": "q1", "question": "截至5月底，湖州5G建设完成投资多少？", "type": "numeric", "answerable": True,
     "must_include": ["6672.4"], "evidence": [{"source": "000", "quote": "5G建设完成投资6672.4万元"}]},
    {"id": "q2", "question": "2013年湖州全社会用电量是多少亿千瓦时？", "type": "unanswerable", "answerable": False,
     "must_include": [], "evidence": []},
]  # fmt: skip
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


def test_cli_ask_answers_with_citations_and_verification(workdir):
    shown = run("ask", "去年湖州规上工业增加值是多少？", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert "1324.9亿元" in shown.stdout and "[1]" in shown.stdout
    assert "Sources" in shown.stdout and "verified" in shown.stdout

    as_json = json.loads(run("ask", "去年湖州规上工业增加值是多少？", "--json", cwd=workdir).stdout)
    assert as_json["mode"] == "extractive" and as_json["answerable"] is True
    assert as_json["verification"]["ok"] is True
    assert as_json["citations"][0]["n"] == 1 and "1324.9" in as_json["citations"][0]["text"]


def test_cli_ask_mode_llm_without_an_llm_says_what_to_set(workdir):
    result = run("ask", "去年湖州规上工业增加值是多少？", "--mode", "llm", cwd=workdir)
    assert result.returncode == 2
    assert "RAG_LLM_BASE_URL" in result.stderr


def test_cli_eval_compares_retrievers_and_scores_answers(workdir, tmp_path):
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in EVAL_LINES), encoding="utf-8")
    table = run("eval", str(questions), "--compare", cwd=workdir)
    assert table.returncode == 0, table.stderr
    for config in ("dense", "bm25", "lexicon", "hybrid-plain", "hybrid"):
        assert config in table.stdout
    assert "recall@k / MRR by question type" in table.stdout
    report = json.loads(run("eval", str(questions), "--json", cwd=workdir).stdout)
    (hybrid,) = report
    assert hybrid["overall"]["recall_at_k"] == 1.0
    assert hybrid["overall"]["must_include"] == 1.0
    assert hybrid["overall"]["refusal"] == 1.0
    assert {q["id"] for q in hybrid["questions"]} == {"q1", "q2"}


def test_cli_search_explain_shows_the_translated_terms_that_matched(workdir):
    question = "How many 5G base stations had Huzhou built by the end of May?"
    result = run("search", question, "--explain", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "translated: 基站<base stations>" in result.stdout
    assert "dense 1" in result.stdout or "dense 2" in result.stdout
    payload = json.loads(run("search", question, "--explain", "--json", cwd=workdir).stdout)
    assert payload["weights"]["bm25"] == 0.0
    assert any(t["text"] == "基站" for row in payload["passages"] for t in row["matched"])


def test_cli_eval_names_the_bad_line_of_a_question_file(workdir, tmp_path):
    questions = tmp_path / "broken.jsonl"
    questions.write_text('{"id": "q1", "question": "湖州？"}\n{"id": 2\n', encoding="utf-8")
    result = run("eval", str(questions), cwd=workdir)
    assert result.returncode == 2
    assert "broken.jsonl:2" in result.stderr


def test_cli_eval_api_scores_a_running_service_the_same_as_in_process(workdir, tmp_path, settings):
    from rag.api import create_app
    from tests.api.conftest import running

    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in EVAL_LINES), encoding="utf-8")
    local = json.loads(run("eval", str(questions), "--json", cwd=workdir).stdout)[0]
    with running(create_app(settings)) as url:
        served = run("eval", str(questions), "--json", "--api", url, cwd=workdir)
    assert served.returncode == 0, served.stderr
    (report,) = json.loads(served.stdout)
    assert report["config"] == f"api {url}"
    assert report["overall"] == {**local["overall"], "mean_ms": report["overall"]["mean_ms"]}

    down = run("eval", str(questions), "--api", "http://127.0.0.1:9", cwd=workdir)
    assert down.returncode == 2 and "is `rag serve` running?" in down.stderr
