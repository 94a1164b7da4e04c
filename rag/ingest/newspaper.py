"""OCR'd newspaper pages: hard-wrapped columns, several articles a page, headlines after their body.

A page is read in four passes:
1. each line is classified (byline, photo credit, page-jump mark, doubled bold headline, box start…);
2. the page is cut into segments at the places an article visibly starts: a byline, a wire dateline,
   "本报讯", a photo caption, a new text box, or a brief that signs off with its byline;
3. each segment splits into body paragraphs and the block of headline lines printed after it;
4. headline blocks go to the body they follow, unless their words clearly belong to another body
   that has no headline (pages are not always printed in reading order).
"""

from __future__ import annotations

import itertools
import re
import statistics
from dataclasses import dataclass, field

from rag.ingest.assemble import Draft, Removed
from rag.ingest.parsed import Parsed
from rag.ingest.text import (
    NON_HEADLINE_ENDINGS,
    WHITESPACE,
    Line,
    doubled_copies,
    ends_sentence,
    is_cjk,
    join_wrapped,
    split_lines,
    visual_width,
)

_S = r"[ \t\u3000]"
_NAME = r"[\u4e00-\u9fff·]{1,4}"
_ROLE = r"(?:见习记者|本报记者|记者|通讯员)"
MARK = re.compile(rf"{_S}*(?:[（(](?:下转|上接|相关报道见|详见)[^）)]{{1,12}}[）)]|》+{_S}*详见\S{{1,8}}版){_S}*$")
ORNAMENT = re.compile(rf"{_S}*[▲△▼■□◆◇●○★☆](?:{_S}*[▲△▼■□◆◇●○★☆])*{_S}*$")
BYLINE = re.compile(rf"^\|?{_S}*{_ROLE}(?:{_S}+{_NAME}){{1,6}}$")
TRAILING_BYLINE = re.compile(rf"{_S}+\|{_S}*{_ROLE}(?:{_S}+{_NAME}){{1,6}}{_S}*$")
CREDIT = re.compile(
    rf"(?:^|(?<=[ \t\u3000。！？”]))(?:新华社)?(?:记者|通讯员){_S}*(?:[\u4e00-\u9fff·]{_S}*){{2,12}}?摄{_S}*$"
)
DATELINE = re.compile(r"^(?P<agency>新华社|中新社)[\u4e00-\u9fff]{2,8}\d{1,2}月\d{1,2}日电")
LEAD = "本报讯"
NEWS_LEAD = re.compile(r"^(?:(?:昨|今|前)天(?:上午|下午|晚上)?|近日|日前|\d{1,2}月\d{1,2}日)[，,]")
_MIN_MATCH = 0.5  # share of a headline's character pairs found in a body for it to count as that body's


@dataclass
class Info:
    """One line, classified. `start`/`end` bound its text once marks, credits and bylines are cut off."""

    line: Line
    start: int
    end: int
    text: str
    byline: bool = False
    box: bool = False
    mark: bool = False
    teaser_mark: bool = False
    doubled: bool = False
    credit: tuple[int, int] | None = None
    suffix_byline: tuple[int, int] | None = None
    dateline: str | None = None

    @property
    def blank(self) -> bool:
        return not self.text and not self.mark and self.credit is None and self.suffix_byline is None

    @property
    def headline_shaped(self) -> bool:
        return bool(self.text) and (
            self.doubled
            or (
                self.text[-1] not in NON_HEADLINE_ENDINGS
                and self.credit is None
                and self.suffix_byline is None
                and not self.byline
                and self.dateline is None
                and not self.text.startswith(LEAD)
            )
        )

    @property
    def width(self) -> int:
        return visual_width(self.text)


@dataclass
class Block:
    """Headline lines printed together."""

    lines: list[Info]
    teaser: bool = False


@dataclass
class Segment:
    infos: list[Info]
    caption: bool = False
    paragraphs: list[list[Info]] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    headline: Block | None = None

    @property
    def has_body(self) -> bool:
        return bool(self.paragraphs)

    def body_text(self) -> str:
        return "".join(i.text for p in self.paragraphs for i in p)


def looks_like_newspaper(lines: list[Line]) -> bool:
    text_lines = [ln.stripped for ln in lines if not ln.blank]
    if len(text_lines) < 20:
        return False
    narrow = sum(1 for t in text_lines if visual_width(t) <= 50)
    chinese = sum(1 for t in text_lines if sum(map(is_cjk, t)) * 2 >= len(t))
    return narrow / len(text_lines) >= 0.7 and chinese / len(text_lines) >= 0.7


def parse_newspaper(text: str) -> Parsed:
    parsed = Parsed(clean_paragraph=join_wrapped)
    infos = [_classify(line, parsed.removed) for line in split_lines(text)]
    segments = _segments(infos)
    for segment in segments:
        _split_body_and_headlines(segment)
    segments = _split_briefs(segments)
    orphans = _assign_headlines(segments)
    parsed.drafts = [d for seg in segments if (d := _draft(seg)) is not None]
    parsed.drafts += [_headline_only_draft(block) for block in orphans]
    parsed.drafts.sort(key=lambda d: min(s.start for s in d.spans))
    return parsed


# --- pass 1: lines -------------------------------------------------------------------------------


def _classify(line: Line, removed: list[Removed]) -> Info:
    start, end = line.content_start, line.content_end
    info = Info(line=line, start=start, end=end, text="")
    info.box = line.text[:1] in WHITESPACE and not line.blank

    def cut_suffix(pattern: re.Pattern[str], kind: str | None) -> tuple[int, int] | None:
        nonlocal end
        match = pattern.search(line.text[: end - line.start])
        if match is None:
            return None
        span = (line.start + match.start(), end)
        if kind is not None:
            removed.append(Removed(kind, *span))  # type: ignore[arg-type]
        end = line.start + match.start()
        return span

    while (span := cut_suffix(MARK, "page_jump")) or cut_suffix(ORNAMENT, "ornament"):
        if span and "详见" in line.text[span[0] - line.start : span[1] - line.start]:
            info.teaser_mark = True
        info.mark = True
    stripped = line.text[start - line.start : end - line.start].strip(WHITESPACE)
    if BYLINE.match(stripped):
        info.byline = True
    else:
        info.suffix_byline = cut_suffix(TRAILING_BYLINE, None)
        info.credit = cut_suffix(CREDIT, None)
    end = start + len(line.text[start - line.start : end - line.start].rstrip(WHITESPACE))
    info.start, info.end = start, max(start, end)
    info.text = line.text[info.start - line.start : info.end - line.start]
    if info.byline:
        return info
    if dateline := DATELINE.match(info.text):
        info.dateline = dateline.group("agency")
    copies = doubled_copies(info.text)
    if copies and not ends_sentence(info.text):
        info.doubled = True
        removed.extend(Removed("doubled_headline", info.start + a, info.start + b) for a, b in copies)
    return info


# --- pass 2: segments ----------------------------------------------------------------------------


def _segments(infos: list[Info]) -> list[Segment]:
    starts = {0}
    previous: Info | None = None
    for index, info in enumerate(infos):
        if (
            (info.byline and not (previous and previous.byline))
            or ((info.dateline or info.text.startswith(LEAD)) and not (previous and previous.byline))
            or (info.box and info.text and not info.headline_shaped)
        ):
            starts.add(index)
        if not info.blank:
            previous = info
    captions = _caption_starts(infos)
    starts |= captions
    bounds = [*sorted(starts), len(infos)]
    return [Segment(infos=infos[a:b], caption=a in captions) for a, b in itertools.pairwise(bounds) if a < b]


def _caption_starts(infos: list[Info]) -> set[int]:
    """A photo caption is the run of lines that ends with a credit ("记者 李则名 摄")."""
    starts = set()
    for index, info in enumerate(infos):
        if info.credit is None:
            continue
        first = index
        while first > 0 and not infos[first - 1].blank and not infos[first].box and not infos[first - 1].byline:
            first -= 1
        starts.add(first)
    return starts


# --- pass 3: body and headline blocks within a segment -------------------------------------------


def _split_body_and_headlines(segment: Segment) -> None:
    infos = segment.infos
    tail = len(infos)
    # Walk back over the headline lines printed after the body.
    cut = tail
    while cut > 0 and (infos[cut - 1].blank or infos[cut - 1].headline_shaped or _mark_only(infos[cut - 1])):
        cut -= 1
    while cut < tail and not _closes_body(infos, cut):
        cut += 1
    segment.blocks = _blocks(infos[cut:])
    body = [i for i in infos[:cut] if not i.byline and (i.text or i.credit or i.suffix_byline)]
    segment.paragraphs = _paragraphs(body)


def _mark_only(info: Info) -> bool:
    return info.mark and not info.text


def _closes_body(infos: list[Info], cut: int) -> bool:
    """Headlines may follow only a finished sentence, a credit, a byline, or nothing at all."""
    before = [i for i in infos[:cut] if not i.blank and not _mark_only(i)]
    if not before:
        return True
    last = before[-1]
    return last.byline or last.credit is not None or last.suffix_byline is not None or ends_sentence(last.text)


def _blocks(infos: list[Info]) -> list[Block]:
    """Headline lines group into blocks; a text box (a line set in by a space) ends at a blank line."""
    blocks: list[Block] = []
    in_box = False
    for info in infos:
        if _mark_only(info):
            if blocks and info.teaser_mark:
                blocks[-1].teaser = True
            continue
        if info.blank:
            if in_box:
                blocks.append(Block(lines=[]))
                in_box = False
            continue
        if not blocks or info.box:
            blocks.append(Block(lines=[]))
            in_box = info.box
        blocks[-1].lines.append(info)
    return [b for b in blocks if b.lines]


def _paragraphs(body: list[Info]) -> list[list[Info]]:
    """Group body lines into paragraphs: a paragraph ends with a finished sentence on a short line,
    or before a short first line (the OCR lost its two-character indent), a text box or a heading."""
    paragraphs: list[list[Info]] = [[]]
    for index, info in enumerate(body):
        paragraphs[-1].append(info)
        if index + 1 == len(body):
            break
        following = body[index + 1]
        finished = ends_sentence(info.text)
        breaks = (
            (finished and (_short(body, index) or _short(body, index + 1)))
            or info.credit is not None
            or info.suffix_byline is not None
            or following.box
            or _section_heading(body, index)
            or _section_heading(body, index + 1)
        )
        if breaks:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _short(body: list[Info], index: int) -> bool:
    """Shorter than the lines around it by more than a character: a paragraph's first or last line."""
    around = [i.width for i in body[max(0, index - 3) : index] + body[index + 1 : index + 4] if i.text]
    return bool(around) and body[index].width <= statistics.median(around) - 3


def _section_heading(body: list[Info], index: int) -> bool:
    """A short line of phrases between finished paragraphs ("创谷为媒 提升创新成色", "一")."""
    info = body[index]
    if index == 0 or not info.headline_shaped or not ends_sentence(body[index - 1].text):
        return False
    around = [i.width for i in body[max(0, index - 3) : index] + body[index + 1 : index + 4] if i.text]
    phrases = " " in info.text or "\u3000" in info.text
    return bool(around) and (phrases or info.width <= statistics.median(around) / 2)


def _split_briefs(segments: list[Segment]) -> list[Segment]:
    """A brief signs off with its byline at the end ("…新局面。 | 记者 徐超超 姚海翔"). When a segment
    that already opened with a byline also holds such a sign-off, the brief starts at the last
    paragraph before it that opens like a news lead ("昨天下午，…", "7月22日，…")."""
    result: list[Segment] = []
    for segment in segments:
        signed = [k for k, p in enumerate(segment.paragraphs) if p[-1].suffix_byline is not None]
        opened = any(i.byline for i in segment.infos)
        leads = [k for k, p in enumerate(segment.paragraphs) if k and NEWS_LEAD.match(p[0].text)]
        cut = max((k for k in leads if signed and k <= signed[0]), default=None)
        if not opened or not signed or cut is None or segment.caption:
            result.append(segment)
            continue
        index = segment.infos.index(segment.paragraphs[cut][0])
        result.append(Segment(infos=segment.infos[:index], paragraphs=segment.paragraphs[:cut]))
        result.append(Segment(infos=segment.infos[index:], paragraphs=segment.paragraphs[cut:], blocks=segment.blocks))
    return result


# --- pass 4: headlines to bodies -----------------------------------------------------------------


def _assign_headlines(segments: list[Segment]) -> list[Block]:
    """Give each segment its headline; return the blocks that belong to no body."""
    orphans: list[Block] = []
    for index, segment in enumerate(segments):
        blocks = [b for b in segment.blocks if not b.teaser]
        orphans += [b for b in segment.blocks if b.teaser]
        if segment.has_body and blocks:
            segment.headline, *rest = blocks
            orphans += rest
        else:
            orphans += blocks
        if segment.caption and segment.headline is None and index > 0:
            _take_bold_headline(segments[index - 1], segment)
    for segment in segments:
        if segment.headline is not None:
            better = _best_body(segment.headline, segments, exclude=segment)
            if better is not None and _match(segment.headline, better) >= _match(segment.headline, segment) + 0.3:
                better.headline, segment.headline = segment.headline, None
    remaining = []
    for block in orphans:
        owner = None if block.teaser else _best_body(block, segments, exclude=None)
        if owner is not None:
            owner.headline = block
        else:
            remaining.append(block)
    return remaining


def _take_bold_headline(previous: Segment, caption: Segment) -> None:
    """A bold (doubled) headline printed after the previous article's own heads a photo below it."""
    block = previous.headline
    if block is None or len(block.lines) < 2 or not block.lines[-1].doubled or block.lines[0].doubled:
        return
    previous.headline = Block(lines=block.lines[:-1])
    caption.headline = Block(lines=block.lines[-1:])


def _best_body(block: Block, segments: list[Segment], exclude: Segment | None) -> Segment | None:
    candidates = [s for s in segments if s is not exclude and s.has_body and s.headline is None]
    scored = [(s, _match(block, s)) for s in candidates]
    scored = [(s, score) for s, score in scored if score >= _MIN_MATCH]
    return max(scored, key=lambda pair: pair[1])[0] if scored else None


def _match(block: Block, segment: Segment) -> float:
    headline = "".join(ch for i in block.lines for ch in i.text if is_cjk(ch) or ch.isalnum())
    pairs = {headline[k : k + 2] for k in range(len(headline) - 1)}
    body = segment.body_text().replace(" ", "")
    return sum(1 for p in pairs if p in body) / len(pairs) if pairs else 0.0


# --- drafts ----------------------------------------------------------------------------------------


def _draft(segment: Segment) -> Draft | None:
    if not segment.has_body:
        return None
    draft = Draft(kind="photo" if segment.caption else "article")
    for info in segment.infos:
        if info.byline:
            draft.add("byline", info.start, info.end)
        if info.dateline:
            draft.publication = info.dateline
    for paragraph in segment.paragraphs:
        draft.add("body", paragraph[0].start, paragraph[-1].end)
        for info in paragraph:
            if info.credit:
                draft.add("credit", *info.credit)
                if info.line.text[info.credit[0] - info.line.start :].lstrip().startswith("新华社"):
                    draft.publication = "新华社"
            if info.suffix_byline:
                draft.add("byline", *info.suffix_byline)
    if segment.headline is not None:
        _add_headline(draft, segment.headline)
    return draft


def _headline_only_draft(block: Block) -> Draft:
    draft = Draft(kind="teaser" if block.teaser else "fragment")
    _add_headline(draft, block)
    return draft


def _add_headline(draft: Draft, block: Block) -> None:
    """Bold (doubled) lines before the main headline are its kicker; lines after it, its subtitle."""
    lines = block.lines
    main = next((k for k, i in enumerate(lines) if not i.doubled), len(lines) - 1)
    for info in lines[:main]:
        draft.add("kicker", info.start, info.end)
    title_end = main + 1
    if _wrapped(lines, main):
        title_end = main + 2
    draft.add("title", lines[main].start, lines[title_end - 1].end)
    for info in lines[title_end:]:
        draft.add("subtitle", info.start, info.end)


def _wrapped(lines: list[Info], main: int) -> bool:
    """Two short lines with no phrase break are one headline set over two lines."""
    if main + 1 >= len(lines):
        return False
    first, second = lines[main], lines[main + 1]
    return (
        not second.doubled
        and second.line.start == first.line.end + 1
        and all(" " not in i.text and "\u3000" not in i.text and i.width <= 26 for i in (first, second))
    )
