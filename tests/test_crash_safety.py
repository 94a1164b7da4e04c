"""kill -9 at any moment of an ingest leaves the previous index whole; two ingests never interleave."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rag.embedding import get_embedder
from rag.pipeline import ingest
from rag.retrieval import dense_search
from rag.store import IndexReader
from tests.test_cli import RAG


def start_ingest(workdir: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return subprocess.Popen(
        [RAG, "ingest"], cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_new_build(builds: Path, current: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(b.resolve() != current for b in builds.iterdir()):
            return
        time.sleep(0.05)
    raise AssertionError("the ingest never started a new build")


def add_a_slow_file(settings) -> None:
    """A new source whose every chunk must be embedded: several seconds of work to interrupt."""
    digest = (settings.corpus_dir / "003_5f0dfba9933f395f.txt").read_text(encoding="utf-8")
    (settings.corpus_dir / "005_copy.txt").write_text(digest.replace("湖州", "湖州市"), encoding="utf-8")


@pytest.mark.parametrize("delay", [0.0, 1.5])
@pytest.mark.file_store
def test_ingest_killed_part_way_leaves_the_previous_index_usable(settings, delay):
    builds = settings.index_root / ".builds"
    current = settings.index_dir.resolve()
    before = IndexReader(settings.index_dir).articles()
    add_a_slow_file(settings)

    process = start_ingest(settings.corpus_dir.parent)
    wait_for_new_build(builds, current)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL  # it was still working when killed

    assert settings.index_dir.resolve() == current
    survivor = IndexReader(settings.index_dir)
    assert survivor.articles() == before
    passages = dense_search(survivor, get_embedder(settings), "截至5月底湖州建了多少个5G基站", k=5)
    assert any("773" in p.text for p in passages)

    report = ingest(settings)  # the next ingest clears the dead build and finishes the work
    assert {f.source_file: f.status for f in report.files}["005_copy.txt"] == "new"
    assert [b.resolve() for b in builds.iterdir()] == [settings.index_dir.resolve()]


def test_second_ingest_refuses_while_the_first_runs(settings):
    add_a_slow_file(settings)
    first = start_ingest(settings.corpus_dir.parent)
    wait_for_new_build(settings.index_root / ".builds", settings.index_dir.resolve())
    second = start_ingest(settings.corpus_dir.parent)
    _, second_err = second.communicate(timeout=60)
    assert second.returncode == 2
    assert "another `rag ingest` is writing" in second_err
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert any(a.source_file == "005_copy.txt" for a in IndexReader(settings.index_dir).articles())
