from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag.config import Settings
from rag.store import IndexReader


@pytest.fixture
def index(settings: Settings) -> Iterator[IndexReader]:
    reader = IndexReader(settings.index_dir)
    yield reader
    reader.close()
