"""Read a source file as text: detect its encoding, refuse binaries and oversized files."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path

from rag.errors import BinaryFileError, FileTooLargeError, UndecodableFileError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Chinese text that is not UTF-8 is almost always GBK or its superset GB18030; Big5 for traditional.
_FALLBACK_ENCODINGS = ("gbk", "gb18030", "big5")
_SNIFF_BYTES = 8192


@dataclass(frozen=True)
class DecodedSource:
    text: str
    encoding: str  # the codec name, e.g. "utf-8", "gbk", "gb18030"


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read `path`, checking its size before reading anything into memory."""
    size = path.stat().st_size
    if size > max_bytes:
        raise FileTooLargeError(path, size, max_bytes)
    return path.read_bytes()


def decode_bytes(path: Path, data: bytes) -> DecodedSource:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return DecodedSource(data.decode(encoding), encoding)
            except UnicodeDecodeError:
                break
    _refuse_binary(path, data[:_SNIFF_BYTES])  # NUL and control bytes are valid UTF-8 too
    try:
        return DecodedSource(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    candidates = [e for e in _FALLBACK_ENCODINGS if _decodes(data, e)]
    if candidates:
        encoding = _most_plausible(data, candidates)
        return DecodedSource(data.decode(encoding), encoding)
    guess = _guess_with_charset_normalizer(data, None)
    if guess is not None:
        return DecodedSource(data.decode(guess), guess)
    raise UndecodableFileError(path, ["utf-8", *_FALLBACK_ENCODINGS, "charset detection"])


def _decodes(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True


def _most_plausible(data: bytes, candidates: list[str]) -> str:
    """GB18030 decodes almost any bytes, Big5 too, so more than one candidate is common: let
    charset-normalizer judge which reads as language. GBK is named when the text is plain GBK."""
    if len(candidates) == 1:
        return candidates[0]
    best = _guess_with_charset_normalizer(data, candidates) or candidates[0]
    return "gbk" if best == "gb18030" and "gbk" in candidates else best


def _refuse_binary(path: Path, head: bytes) -> None:
    if b"\x00" in head:
        raise BinaryFileError(path, "it contains NUL bytes")
    controls = sum(1 for b in head if b < 0x20 and b not in b"\t\n\r\f\x1b")
    if head and controls / len(head) > 0.02:
        raise BinaryFileError(path, f"{controls} control bytes in its first {len(head)} bytes")


def _guess_with_charset_normalizer(data: bytes, candidates: list[str] | None) -> str | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=candidates).best()
    if best is None or best.chaos > 0.2:
        return None
    return best.encoding
