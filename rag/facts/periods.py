"""When a figure is for: the time words of its sentence, resolved against the article's own date.

    reading = read_period("截至5月底，全市累计建成5G基站773个", None)
    reading.period, reading.as_of, reading.text   # "Y0-05", "Y0-05", "截至5月底"

A year is a label: "2013", or an offset from the article's year when the article's date is not known
("Y0" for 今年, "Y-1" for 去年). Within a year: halves "-H1", quarters "-Q1", month ranges "-01..Y-05",
and a month that a running total is counted up to (截至5月底) as "-05" with `as_of` set.
A year after 比/较/与/同 is the base of a comparison ("比上年增长9%"), not the figure's period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.models import Article

_CN_NUMBERS = {ch: i for i, ch in enumerate("零一二三四五六七八九十", start=0)}
_MONTH = r"(?:1[0-2]|[1-9]|十[一二]?|[一二三四五六七八九])"
_YEAR = re.compile(
    r"(?<![比较与同])(?P<year>(?:19|20)\d\d)年(?!\d)|(?<![比较与同])(?P<relative>今年|去年|前年|上年|明年|过去的一年|过去一年|本年|当年|年内)"
)
_PART = re.compile(
    rf"(?P<as_of>(?:截至|截止|截止到|到|至)(?:目前|今年|去年)?(?P<upto>{_MONTH})月(?:底|末|份)?)"
    r"|(?P<now>(?:截至|截止|至|到)目前|目前|至今)"
    r"|(?P<half>[上下]半年)"
    r"|(?P<quarter>(?:第?[一二三四1-4]季度)|前三季度)"
    rf"|(?P<months>(?P<m1>{_MONTH})(?:至|到|-|—|～|~)(?P<m2>{_MONTH})月)"
    r"|(?P<year_end>年底|年末)"
)
_DATE_LINE = re.compile(r"((?:19|20)\d\d)年(1[0-2]|[1-9])月(?:[0-9]{1,2}日)?")
_TITLE_YEAR = re.compile(r"((?:19|20)\d\d)年")
_HEADING_YEAR = re.compile(r"(?:^|\n|[。！？!?])\s*[一二三四五六七八九十]+、\s*((?:19|20)\d\d)年")
_RELATIVE_OFFSETS = {"今年": 0, "本年": 0, "当年": 0, "年内": 0, "去年": -1, "上年": -1, "过去的一年": -1}
_RELATIVE_OFFSETS |= {"过去一年": -1, "前年": -2, "明年": 1}


@dataclass(frozen=True)
class ReferenceDate:
    """The article's own date, as far as it is known: a year, and the month when given."""

    year: int
    month: int | None = None


@dataclass(frozen=True)
class PeriodReading:
    period: str | None
    text: str  # the time words as written
    as_of: str | None = None
    year: str | None = None  # the year label alone: "2013", "Y0"


def reference_date(article: Article) -> ReferenceDate | None:
    """A published date; else a full date at the top of the text ("2014年2月11日在…会议上"); else a year in the
    title ("2014年湖州市政府工作报告"). A crawl date says when a page was read, not when it was written."""
    if article.date and article.date_kind == "published":
        return ReferenceDate(int(article.date[:4]), int(article.date[5:7]) if len(article.date) >= 7 else None)
    if line := _DATE_LINE.search(article.text[:40]):
        return ReferenceDate(int(line.group(1)), int(line.group(2)))
    if title := _TITLE_YEAR.search(article.title):
        return ReferenceDate(int(title.group(1)))
    return None


def heading_years(text: str) -> list[tuple[int, str]]:
    """(offset, year) of each numbered heading that names a year ("一、2013年主要工作"): the year its section
    reports on, for sentences that name none."""
    return [(m.start(1), m.group(1)) for m in _HEADING_YEAR.finditer(text)]


def read_period(text: str, reference: ReferenceDate | None, context_year: str | None = None) -> PeriodReading:
    """The period the time words of `text` name (the last year and the last part of a year in it); a part of a
    year with no year ("上半年") is of `context_year`, else of the article's year."""
    years = list(_YEAR.finditer(text))
    parts = list(_PART.finditer(text))
    year_match = years[-1] if years else None
    part = parts[-1] if parts else None
    if year_match is None and part is None:
        return PeriodReading(None, "")
    year = _year_label(year_match, reference)
    label = year or context_year or (str(reference.year) if reference else "Y0")
    written = "".join(m.group() for m in sorted(filter(None, (year_match, part)), key=lambda m: m.start()))
    if part is None:
        return PeriodReading(label, written, year=label)
    if part.group("as_of"):
        month = f"{label}-{_month(part.group('upto')):02d}"
        return PeriodReading(month, written, as_of=month, year=label)
    if part.group("now"):
        return PeriodReading(year, written, as_of="now", year=year)
    if part.group("half"):
        return PeriodReading(f"{label}-H{1 if part.group('half')[0] == '上' else 2}", written, year=label)
    if quarter := part.group("quarter"):
        if quarter == "前三季度":
            return PeriodReading(f"{label}-01..{label}-09", written, year=label)
        return PeriodReading(f"{label}-Q{_month(quarter.strip('第季度'))}", written, year=label)
    if part.group("months"):
        first, last = _month(part.group("m1")), _month(part.group("m2"))
        return PeriodReading(f"{label}-{first:02d}..{label}-{last:02d}", written, year=label)
    return PeriodReading(f"{label}-12", written, as_of=f"{label}-12", year=label)  # 年底, 年末


def resolve(label: str, reference: ReferenceDate | None) -> str:
    """ "Y-1-H1" -> "2022-H1" when the reference year is 2023; unchanged when it is not known."""
    if reference is None:
        return label
    return re.sub(r"Y([+-]?\d+)", lambda m: str(reference.year + int(m.group(1))), label)


def has_ended(label: str, reference: ReferenceDate | None) -> bool | None:
    """Whether the period was over by the reference date; None when either is not known well enough."""
    if reference is None or reference.month is None:
        return None
    match = re.match(r"((?:19|20)\d\d)(?:-(H[12]|Q[1-4]|\d\d))?(?:\.\.(?:\d{4})-(\d\d))?$", label)
    if match is None:
        return None
    year, part, last = int(match.group(1)), match.group(2), match.group(3)
    end_month = int(last) if last else _last_month(part)
    return (year, end_month) < (reference.year, reference.month)


def _last_month(part: str | None) -> int:
    if part is None:
        return 12
    if part.startswith("H"):
        return 6 * int(part[1])
    if part.startswith("Q"):
        return 3 * int(part[1])
    return int(part)


def _year_label(match: re.Match[str] | None, reference: ReferenceDate | None) -> str | None:
    if match is None:
        return None
    if match.group("year"):
        return match.group("year")
    offset = _RELATIVE_OFFSETS[match.group("relative")]
    if reference is not None:
        return str(reference.year + offset)
    return f"Y{offset:+d}" if offset else "Y0"


def _month(written: str) -> int:
    if written.isdigit():
        return int(written)
    if written.startswith("十"):
        return 10 + (_CN_NUMBERS[written[1]] if len(written) > 1 else 0)
    return _CN_NUMBERS[written]
