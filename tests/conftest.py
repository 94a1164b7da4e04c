from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag.config import Settings
from rag.ingest import LoadedSource, load_source

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEED_FILES = sorted(p.name for p in CORPUS.iterdir() if p.suffix == ".txt")
MAX_BYTES = 64 * 2**20


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No RAG_* setting or .env file from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def seeds() -> dict[str, LoadedSource]:
    return {name: load_source(CORPUS / name, MAX_BYTES) for name in SEED_FILES}


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path: Path, corpus_copy: Path) -> Settings:
    return Settings(corpus_dir=corpus_copy, index_root=tmp_path / "indexes")
