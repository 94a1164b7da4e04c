"""What every loader returns: drafts, the layout it removed, and how to clean a paragraph."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rag.ingest.assemble import Draft, Removed


@dataclass
class Parsed:
    drafts: list[Draft] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)
    clean_paragraph: Callable[[str], str] = str.strip
