from __future__ import annotations

from collections.abc import Iterator

import pytest

from rag.config import Settings
from rag.store import IndexReader, open_reader


@pytest.fixture
def index(settings: Settings) -> Iterator[IndexReader]:
    reader = open_reader(settings)
    yield reader
    reader.close()
