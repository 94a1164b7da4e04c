"""Bad input: each file gets a clear message naming it and the problem."""

from __future__ import annotations

import codecs

import pytest

from rag.errors import BinaryFileError, FileTooLargeError, UndecodableFileError
from rag.ingest import load_source, try_load_source
from rag.ingest.decode import decode_bytes

TEXT = "湖州市今年规上工业增加值1324.9亿元，同比增长3%。\n\n第二段。"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (TEXT.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig"),
        (TEXT.encode("gbk"), "gbk"),
        ((TEXT + "㐀").encode("gb18030"), "gb18030"),  # 㐀 exists in GB18030 only
        (TEXT.encode("utf-16"), "utf-16"),
        ("湖州市絲綢產業。".encode("big5"), "big5"),
    ],
)
def test_decode_bytes_detects_the_encoding(tmp_path, data, encoding):
    decoded = decode_bytes(tmp_path / "x.txt", data)
    assert decoded.encoding == encoding
    assert decoded.text.lstrip("\ufeff").startswith(("湖州市",))


def test_load_source_says_which_encoding_it_used(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes(TEXT.encode("gbk"))
    loaded = load_source(path, 2**20)
    assert loaded.warnings == ("decoded as GBK",)
    assert "1324.9亿元" in loaded.articles[0].display_title + loaded.articles[0].text


@pytest.mark.parametrize(
    ("data", "error", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), BinaryFileError, "binary"),
        (bytes([0x81, 0x30, 0xFF, 0xFE, 0x81]) * 50, UndecodableFileError, "re-save it as UTF-8"),
    ],
)
def test_decode_bytes_refuses_what_is_not_text(tmp_path, data, error, words):
    with pytest.raises(error, match=words) as caught:
        decode_bytes(tmp_path / "bad.dat", data)
    assert "bad.dat" in str(caught.value)


def test_load_source_refuses_an_oversized_file_without_reading_it(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as handle:
        handle.truncate(300 * 2**20)  # a sparse 300 MiB file: costs no disk, would cost memory if read
    with pytest.raises(FileTooLargeError, match=r"huge.txt: is 300.0 MiB, over the 64 MiB limit"):
        load_source(path, 64 * 2**20)


def test_try_load_source_skips_an_empty_file_with_a_warning(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("  \n\n")
    problem = try_load_source(path, 2**20)
    assert problem.fatal is False and "empty file" in problem.message
