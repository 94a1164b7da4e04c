"""Chunking: sentences (Chinese and English) packed to a token budget, with whole-sentence overlap."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.chunking import ChunkingSettings, chunk_article, split_sentences
from rag.errors import ConfigError
from rag.models import Article, Chunk
from rag.tokens import count_tokens

HAN = "湖州市经济发展数字产业项目建设增长企业人才创新我们他说今年亿元万个"
MARKS = "。！？；，"

han = st.sampled_from(HAN)
figures = st.one_of(
    st.builds("{}.{}".format, st.integers(0, 9999), st.integers(0, 99)),
    st.sampled_from(["83.6", "1,324.9", "2.0", "773", "5G", "100%", "3.5%"]),
)
marks = st.sampled_from([*MARKS, "。”", "！？"])
words = st.lists(st.one_of(han, han, han, figures), min_size=1, max_size=16).map("".join)
pieces = st.one_of(
    st.tuples(words, marks).map("".join),
    st.tuples(words, marks).map("".join),
    st.tuples(st.just("“"), words, marks, words, marks, st.just("”")).map("".join),
    words,
    st.sampled_from([*MARKS, "“", "”", "\n\n", " ", "\n \n"]),
)
texts = st.lists(pieces, max_size=30).map("".join)
chunk_settings = st.builds(ChunkingSettings, max_tokens=st.integers(4, 60), overlap_sentences=st.integers(0, 2))

QUOTE = "“前两天，我们策划营销的电工培训班顺利开班，这是近半年来我们的第一单生意。”"


def article_of(text: str) -> Article:
    return Article(id="t-00", source_file="t.txt", ordinal=0, text=text)


def seed_article(seeds, article_id: str) -> Article:
    return next(a for source in seeds.values() for a in source.articles if a.id == article_id)


def unsplittable(text: str) -> bool:
    """No sentence or clause mark anywhere but in the closing run of punctuation."""
    return not re.search(f"[{MARKS}\n]", re.sub(f"[{MARKS}”]+$", "", text))


def cuts_a_number(text: str, boundary: int) -> bool:
    """Digits or decimal points on both sides, or just after the comma of "1,324"."""
    if not 0 < boundary < len(text):
        return False
    left, right = text[boundary - 1], text[boundary]
    if left.isdigit() or left == ".":
        return right.isdigit() or right == "."
    return left == "," and right.isdigit() and text[boundary - 2 : boundary - 1].isdigit()


def check_chunks(article: Article, chunks: list[Chunk], chunking: ChunkingSettings) -> None:
    text = article.text
    for position, chunk in enumerate(chunks):
        assert chunk.position == position
        assert chunk.article_id == article.id
        assert chunk.text and chunk.text == chunk.text.strip()
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.tokens == count_tokens(chunk.text, chunking.encoding)
        assert chunk.tokens <= chunking.max_tokens or unsplittable(chunk.text), chunk
        assert not cuts_a_number(text, chunk.start) and not cuts_a_number(text, chunk.end), chunk
    for before, after in itertools.pairwise(chunks):
        assert before.start < after.start and before.end < after.end
    covered = {i for chunk in chunks for i in range(chunk.start, chunk.end)}
    assert all(i in covered for i, char in enumerate(text) if not char.isspace())


@settings(max_examples=100, deadline=None)
@given(text=texts, chunking=chunk_settings)
def test_chunk_article_covers_the_text_within_budget(text, chunking):
    article = article_of(text)
    chunks = chunk_article(article, chunking)
    if not text.strip():
        assert chunks == []
    check_chunks(article, chunks, chunking)


@settings(max_examples=50, deadline=None)
@given(text=texts.filter(str.strip), chunking=chunk_settings)
def test_chunk_article_ids_are_stable_and_follow_the_settings(text, chunking):
    article = article_of(text)
    ids = [c.id for c in chunk_article(article, chunking)]
    assert ids == [c.id for c in chunk_article(article, chunking)]
    assert len(set(ids)) == len(ids)
    for changed in (
        ChunkingSettings(chunking.max_tokens + 1, chunking.overlap_sentences),
        ChunkingSettings(chunking.max_tokens, chunking.overlap_sentences + 1),
        ChunkingSettings(chunking.max_tokens, chunking.overlap_sentences, "cl100k_base"),
    ):
        assert set(ids).isdisjoint(c.id for c in chunk_article(article, changed))


sentence = st.tuples(
    st.lists(st.one_of(han, han, han, figures, st.just("，")), min_size=1, max_size=14).map("".join),
    st.sampled_from(["。", "！", "？", "；", "。”"]),
    st.sampled_from(["", "", " ", "\n\n"]),
).map("".join)


@settings(max_examples=100, deadline=None)
@given(data=st.data(), sentences=st.lists(sentence, min_size=1, max_size=30), overlap=st.integers(0, 3))
def test_chunk_article_overlaps_by_whole_sentences(data, sentences, overlap):
    text = "".join(sentences)
    spans = split_sentences(text)
    longest = max(count_tokens(text[s:e]) for s, e in spans)
    # A budget every sentence fits in, so chunks are made of whole sentences only.
    budget = data.draw(st.integers(longest, longest + 40), label="max_tokens")
    chunking = ChunkingSettings(max_tokens=budget, overlap_sentences=overlap)
    article = article_of(text)
    chunks = chunk_article(article, chunking)
    check_chunks(article, chunks, chunking)

    def tokens(first: int, last: int) -> int:
        return count_tokens(text[spans[first][0] : spans[last][1]])

    first_of = {start: i for i, (start, _) in enumerate(spans)}
    last_of = {end: i for i, (_, end) in enumerate(spans)}
    groups = [(first_of[c.start], last_of[c.end]) for c in chunks]
    assert groups[0][0] == 0 and groups[-1][1] == len(spans) - 1
    for (first, last), (next_first, _) in itertools.pairwise(groups):
        assert tokens(first, last + 1) > budget, "a chunk stopped before its budget was full"
        keep = min(overlap, last - first)
        while keep and tokens(last + 1 - keep, last + 1) > budget:
            keep -= 1
        assert next_first == last + 1 - keep
        if overlap <= last - first and tokens(last + 1 - overlap, last + 1) <= budget:
            assert last - next_first + 1 == overlap


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("增长3.5%。下一句", ["增长3.5%。", "下一句"]),
        ("他说：“好。”然后", ["他说：“好。”", "然后"]),
        ("Huzhou grew 9.5%. Next one", ["Huzhou grew 9.5%.", "Next one"]),
        ("1,324.9 亿元", ["1,324.9 亿元"]),
        ("版本2.0发布。真的吗？！是的", ["版本2.0发布。", "真的吗？！", "是的"]),
        ("“甲。乙。”丙说。", ["“甲。乙。”", "丙说。"]),
        ("第一段。\n\n  \n\n第二段没有句号\n\n第三段", ["第一段。", "第二段没有句号", "第三段"]),
        ("下行压力,湖州市;增长9%;人口2.2‰。", ["下行压力,湖州市;", "增长9%;", "人口2.2‰。"]),
        ('以"双进双产"为抓手。"好。"他说', ['以"双进双产"为抓手。', '"好。"', "他说"]),
        ("（一）经济转型。（二）城乡环境。", ["（一）经济转型。", "（二）城乡环境。"]),
        ("好。”然后（见附件。）下一", ["好。”", "然后（见附件。）", "下一"]),
        (
            "产业: 1. 绿色智造 2. 数字文旅。Grew by 10. Then",
            ["产业:", "1. 绿色智造", "2. 数字文旅。", "Grew by 10.", "Then"],
        ),
        ("", []),
        (" \n\n ", []),
    ],
)
def test_split_sentences(text, expected):
    assert [text[start:end] for start, end in split_sentences(text)] == expected


def test_chunk_article_splits_an_over_long_sentence_at_commas_only():
    text = "，".join(["湖州加快推进数字经济发展"] * 12) + "。短句。"
    chunks = chunk_article(article_of(text), ChunkingSettings(max_tokens=20, overlap_sentences=0))
    assert len(chunks) > 2
    assert all(c.tokens <= 20 for c in chunks)
    assert all(c.text.endswith(("，", "。")) for c in chunks)


def test_chunk_article_never_splits_inside_a_figure():
    text = "，".join(["地区生产总值1,324.9亿元"] * 6) + "。"
    chunking = ChunkingSettings(max_tokens=8, overlap_sentences=0)
    chunks = chunk_article(article_of(text), chunking)
    assert len(chunks) == 6
    check_chunks(article_of(text), chunks, chunking)


def test_chunk_article_counts_the_joined_text_not_the_sum_of_its_sentences():
    first, second = "湖州很美！", "“一起来看看。”"
    # BPE merges "！“" across the boundary, so together they take one token more than apart.
    assert count_tokens(first + second) == count_tokens(first) + count_tokens(second) + 1
    chunking = ChunkingSettings(max_tokens=count_tokens(first) + count_tokens(second), overlap_sentences=0)
    assert [c.text for c in chunk_article(article_of(first + second), chunking)] == [first, second]


@pytest.mark.parametrize("lead", ["小张说，", "小张说"])
def test_chunk_article_splits_beside_a_quote_before_inside_it(lead):
    quote = "“我们的资金链接上了。现在订单也开始多了起来。”"
    chunking = ChunkingSettings(max_tokens=count_tokens(quote) + 1, overlap_sentences=0)
    chunks = chunk_article(article_of(lead + quote), chunking)
    assert [c.text for c in chunks] == [lead, quote]


def test_chunk_article_splits_a_quote_only_when_it_alone_is_over_budget():
    inner = "，".join(["我们的资金链接上了"] * 8)
    text = f"小张说，今天很高兴，{QUOTE}湖州，真好。他说：“{inner}。”"
    chunking = ChunkingSettings(max_tokens=count_tokens(QUOTE) + 2, overlap_sentences=0)
    chunks = chunk_article(article_of(text), chunking)
    assert all(c.tokens <= chunking.max_tokens for c in chunks)
    assert any(QUOTE in c.text for c in chunks)
    long_quote = text.index("“我们")
    assert any(long_quote < c.start < text.index("。”", long_quote) for c in chunks)


@pytest.mark.parametrize("max_tokens", [32, 64, 240])
def test_chunk_article_keeps_quoted_speech_whole(seeds, max_tokens):
    article = seed_article(seeds, "000_b906d9a3be0f9243-00")
    start = article.text.index(QUOTE)
    end = start + len(QUOTE)
    chunks = chunk_article(article, ChunkingSettings(max_tokens=max_tokens))
    touching = [c for c in chunks if c.start < end and c.end > start]
    assert touching
    assert all(QUOTE in c.text for c in touching)


@pytest.mark.parametrize("max_tokens", [32, 240])
def test_chunk_article_never_cuts_a_figure_in_the_seeds(seeds, max_tokens):
    chunking = ChunkingSettings(max_tokens=max_tokens)
    for source in seeds.values():
        for article in source.articles:
            check_chunks(article, chunk_article(article, chunking), chunking)
    article = seed_article(seeds, "000_b906d9a3be0f9243-02")
    figure = "建设5G基站773个"
    start = article.text.index(figure)
    touching = [c for c in chunk_article(article, chunking) if c.start < start + len(figure) and c.end > start]
    assert touching and all(figure in c.text for c in touching)


def test_chunk_article_defaults_on_the_seeds(seeds):
    chunking = ChunkingSettings()
    articles = [a for source in seeds.values() for a in source.articles]
    chunks = {a.id: chunk_article(a, chunking) for a in articles}
    assert len(articles) == 40
    assert all(c.tokens <= chunking.max_tokens for cs in chunks.values() for c in cs)
    assert all(bool(chunks[a.id]) == bool(a.text.strip()) for a in articles)
    report = chunks["004_90004a5f8ebd7398-03"]
    assert len(report) > 30
    assert [c.id for c in report] == [c.id for c in chunk_article(seed_article(seeds, report[0].article_id), chunking)]


def test_chunk_article_context_is_title_subtitle_and_publication(seeds):
    xinhua = chunk_article(seed_article(seeds, "002_73bfd24cb0fa9e4c-01"), ChunkingSettings())
    assert xinhua[0].context == "习近平主持中央政治局常务委员会会议 · 听取近期新冠疫情防控工作情况汇报 · 新华社"
    assert xinhua[0].embed_text.startswith(xinhua[0].context + "\n")
    untitled = seed_article(seeds, "000_b906d9a3be0f9243-00")
    assert chunk_article(untitled, ChunkingSettings())[0].context == untitled.display_title


def test_chunk_article_empty_text_gives_no_chunks():
    assert chunk_article(article_of(""), ChunkingSettings()) == []
    assert chunk_article(article_of(" \n\n \n"), ChunkingSettings()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"overlap_sentences": -1}, "overlap_sentences"),
    ],
)
def test_chunking_settings_refuse_nonsense(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ChunkingSettings(**kwargs)


def test_chunk_article_unknown_encoding_is_a_config_error():
    with pytest.raises(ConfigError, match="o200k_base"):
        chunk_article(article_of("湖州。"), ChunkingSettings(encoding="gpt-9"))
