from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.config import Settings
from rag.ingest import LoadedSource, load_source
from rag.pipeline import IngestReport, ingest
from tests.fake_llm import FakeLLM

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
SEED_FILES = sorted(p.name for p in CORPUS.iterdir() if p.suffix == ".txt")
MAX_BYTES = 64 * 2**20


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No RAG_* setting, OpenAI key or .env file from the developer's shell leaks into a test."""
    for name in list(os.environ):
        if name.startswith("RAG_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def seeds() -> dict[str, LoadedSource]:
    return {name: load_source(CORPUS / name, MAX_BYTES) for name in SEED_FILES}


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@dataclass(frozen=True)
class BuiltIndex:
    root: Path
    report: IngestReport


@pytest.fixture(scope="session")
def built_index(tmp_path_factory: pytest.TempPathFactory) -> BuiltIndex:
    """The real corpus, chunked and embedded with the bundled model, once per test session."""
    root = tmp_path_factory.mktemp("built")
    shutil.copytree(CORPUS, root / "corpus")
    report = ingest(Settings(corpus_dir=root / "corpus", index_root=root / "indexes"))
    return BuiltIndex(root, report)


@pytest.fixture
def settings(tmp_path: Path, built_index: BuiltIndex) -> Settings:
    """A private copy of the corpus and of the built index: a test may change either."""
    shutil.copytree(built_index.root / "corpus", tmp_path / "corpus")
    shutil.copytree(built_index.root / "indexes", tmp_path / "indexes", symlinks=True)
    return Settings(corpus_dir=tmp_path / "corpus", index_root=tmp_path / "indexes")


@pytest.fixture
def fake_llm() -> Iterator[FakeLLM]:
    """A real OpenAI-compatible server on 127.0.0.1 for this test; script it through its attributes."""
    with FakeLLM() as server:
        yield server


@pytest.fixture(scope="module")
def module_fake_llm() -> Iterator[FakeLLM]:
    with FakeLLM() as server:
        yield server


@pytest.fixture
def fake(module_fake_llm: FakeLLM) -> Iterator[FakeLLM]:
    """The module's fake LLM, its script back to the defaults after each test."""
    defaults = {name: value for name, value in vars(module_fake_llm).items() if not name.startswith("_")}
    defaults.pop("requests")
    module_fake_llm.requests.clear()
    yield module_fake_llm
    for name, value in defaults.items():
        setattr(module_fake_llm, name, value)
    module_fake_llm.requests.clear()
