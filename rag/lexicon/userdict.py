"""A user dictionary for jieba (`RAG_USER_DICT`): local names it would split ("莫干山高新区" into 莫干山 + 高新区,
"小个贷" into 小个 + 贷) kept whole, as BM25 words and as question words.

The file is jieba's own format, one word a line, optionally followed by a frequency and a part-of-speech tag:

    莫干山高新区 10 ns
    南太湖新区
    小个贷 5 nz

`rag ingest` reads it and records its words in the index's manifest; every reader of that index applies the
same words (rag.store.IndexReader), so a question is cut the way the chunks were. A changed file changes the
build signature, and the next `rag ingest` re-segments every chunk (embeddings are reused).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rag.errors import ConfigError


@dataclass(frozen=True)
class UserWord:
    word: str
    frequency: int | None = None  # None: jieba picks one high enough to keep the word whole
    tag: str | None = None


@dataclass(frozen=True)
class UserDictionary:
    path: Path
    sha256: str
    words: tuple[UserWord, ...]


_applied: dict[str, int | None] = {}  # word -> jieba's frequency for it before we added it (None: unknown)
_lock = threading.Lock()


def read_user_dict(path: Path) -> UserDictionary:
    try:
        data = path.read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the user dictionary RAG_USER_DICT={path}: {exc}") from exc
    words = [word for number, line in enumerate(text.splitlines(), 1) if (word := _parse(line, path, number))]
    return UserDictionary(path, hashlib.sha256(data).hexdigest(), tuple(words))


def apply_user_words(words: Sequence[UserWord]) -> None:
    """Make jieba's default tokenizer know exactly these user words: earlier ones not among them are taken back."""
    from rag.bm25 import jieba_module

    jieba = jieba_module()
    wanted = {w.word: w for w in words}
    with _lock:
        for word in [w for w in _applied if w not in wanted]:
            original = _applied.pop(word)
            if original:
                jieba.add_word(word, original)
            else:
                jieba.del_word(word)
        for word, entry in wanted.items():
            if word not in _applied:
                _applied[word] = jieba.get_FREQ(word)
            jieba.add_word(word, entry.frequency, entry.tag)


def manifest_entry(dictionary: UserDictionary | None) -> dict[str, object] | None:
    if dictionary is None:
        return None
    words = [[w.word, w.frequency, w.tag] for w in dictionary.words]
    return {"path": str(dictionary.path), "sha256": dictionary.sha256, "words": words}


def words_from_manifest(entry: object) -> tuple[UserWord, ...]:
    if not isinstance(entry, dict):
        return ()
    return tuple(UserWord(str(word), frequency, tag) for word, frequency, tag in entry.get("words", []))


def _parse(line: str, path: Path, number: int) -> UserWord | None:
    parts = line.split()
    if not parts or parts[0].startswith("#"):
        return None
    if len(parts) > 3 or (len(parts) >= 2 and not parts[1].isdigit()):
        raise ConfigError(
            f"{path}:{number}: expected 'word [frequency] [tag]' (jieba's user dictionary format), got {line.strip()!r}"
        )
    frequency = int(parts[1]) if len(parts) >= 2 else None
    return UserWord(parts[0], frequency, parts[2] if len(parts) == 3 else None)
