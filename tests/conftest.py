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
STORES = ("files", "milvus")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--store",
        choices=STORES,
        default=os.environ.get("RAG_TEST_STORE", "files"),
        help="the index backend every test's `settings` uses (default files; RAG_TEST_STORE=milvus works too)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "file_store: checks what only the file store has (build folders, SQLite, its flock); skipped with "
        "--store milvus, where the test of the same behaviour on both stores is in tests/test_store.py",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--store") != "milvus":
        return
    skip = pytest.mark.skip(reason="checks a detail of the file store; --store milvus runs the Milvus one")
    for item in items:
        if item.get_closest_marker("file_store"):
            item.add_marker(skip)


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
def built_index(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> BuiltIndex:
    """The real corpus, chunked and embedded with the bundled model, once per test session (with --store milvus,
    built into Milvus Lite as well, and the report is Milvus's)."""
    root = tmp_path_factory.mktemp("built")
    shutil.copytree(CORPUS, root / "corpus")
    report = ingest(Settings(corpus_dir=root / "corpus", index_root=root / "indexes"))
    if request.config.getoption("--store") == "milvus":
        report = build_milvus(root)
    return BuiltIndex(root, report)


def build_milvus(root: Path) -> IngestReport:
    """The same corpus into Milvus Lite at <root>/indexes/milvus.db, with the file build's embeddings (no
    re-embedding); the in-process Milvus Lite server is stopped after, so copies of the folder are whole."""
    from milvus_lite import server_manager_instance

    from rag.store.milvus import copy_embedding_cache

    settings = Settings(corpus_dir=root / "corpus", index_root=root / "indexes", store="milvus")
    if (root / "indexes" / "milvus.db").exists():
        return ingest(settings)
    copy_embedding_cache(settings, root / "indexes" / "default" / "index.sqlite")
    report = ingest(settings)
    server_manager_instance.release_server(settings.milvus_location)
    return report


@pytest.fixture(scope="session")
def built_milvus(built_index: BuiltIndex) -> BuiltIndex:
    """The session's corpus in Milvus Lite too (for tests parametrized over both stores)."""
    if not (built_index.root / "indexes" / "milvus.db").exists():
        build_milvus(built_index.root)
    return built_index


def _private_copy(tmp_path: Path, built: BuiltIndex, store: str) -> Settings:
    shutil.copytree(built.root / "corpus", tmp_path / "corpus")
    shutil.copytree(built.root / "indexes", tmp_path / "indexes", symlinks=True)
    return Settings(corpus_dir=tmp_path / "corpus", index_root=tmp_path / "indexes", store=store)  # type: ignore[arg-type]


def _stop_milvus_lite(settings: Settings) -> None:
    if settings.store == "milvus":
        from milvus_lite import server_manager_instance

        server_manager_instance.release_server(settings.milvus_location)


@pytest.fixture
def settings(tmp_path: Path, built_index: BuiltIndex, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """A private copy of the corpus and of the built index: a test may change either."""
    private = _private_copy(tmp_path, built_index, request.config.getoption("--store"))
    yield private
    _stop_milvus_lite(private)


@pytest.fixture(params=STORES)
def store_settings(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Settings]:
    """Like `settings`, once per store backend: the tests that use it run on both."""
    built = request.getfixturevalue("built_milvus" if request.param == "milvus" else "built_index")
    private = _private_copy(tmp_path, built, request.param)
    yield private
    _stop_milvus_lite(private)


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
