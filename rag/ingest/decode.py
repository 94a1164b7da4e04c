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
    try:
        return DecodedSource(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    _refuse_binary(path, data[:_SNIFF_BYTES])
    for encoding in _FALLBACK_ENCODINGS:
        try:
            return DecodedSource(data.decode(encoding), encoding)
        except UnicodeDecodeError:
            continue
    guess = _guess_with_charset_normalizer(data)
    if guess is not None:
        return guess
    raise UndecodableFileError(path, ["utf-8", *_FALLBACK_ENCODINGS, "charset detection"])


def _refuse_binary(path: Path, head: bytes) -> None:
    if b"\x00" in head:
        raise BinaryFileError(path, "it contains NUL bytes")
    controls = sum(1 for b in head if b < 0x20 and b not in b"\t\n\r\f\x1b")
    if head and controls / len(head) > 0.02:
        raise BinaryFileError(path, f"{controls} control bytes in its first {len(head)} bytes")


def _guess_with_charset_normalizer(data: bytes) -> DecodedSource | None:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is None or best.chaos > 0.2:
        return None
    return DecodedSource(str(best), best.encoding)
