from __future__ import annotations

import pytest

from rag.ingest.assemble import parse_people
from rag.ingest.text import doubled_copies, join_heading, join_lines, join_wrapped


@pytest.mark.parametrize(
    ("raw", "joined"),
    [
        ("固 定\n资 产 总 投 资 83.6 亿 元 ， 超 时 序\n进 度", "固定资产总投资83.6亿元，超时序进度"),
        ("已签约亿元以上项目 21\n个，总投资136.36亿元", "已签约亿元以上项目21个，总投资136.36亿元"),
        ("1000万片\nMini/Micro LED蓝宝石", "1000万片Mini/Micro LED蓝宝石"),
        ("同比增长\n3%。", "同比增长3%。"),
        ("开发工业碳效码\n2.0 平台", "开发工业碳效码2.0平台"),
        ("本报讯 两边绿树成荫", "本报讯 两边绿树成荫"),
        ("近 80\n万重症患者", "近80万重症患者"),
    ],
)
def test_join_wrapped_drops_layout_whitespace_only(raw, joined):
    assert join_wrapped(raw) == joined


def test_join_lines_keeps_spaces_between_latin_words_only():
    assert join_lines("5G SA MEC云边\n融合 and\nmore") == "5G SA MEC云边融合 and more"


def test_join_heading_joins_a_wrapped_headline_and_keeps_phrase_spaces():
    assert join_heading("全国首个反诈工作\n评价领域地方标准发布") == "全国首个反诈工作评价领域地方标准发布"
    assert join_heading("项目跑赢进度表  发展驶入快车道") == "项目跑赢进度表 发展驶入快车道"


@pytest.mark.parametrize(
    ("line", "single"),
    [
        (
            "王波在王波在““环浙工大创新经济圈环浙工大创新经济圈””工作例会上强调工作例会上强调",
            "王波在“环浙工大创新经济圈”工作例会上强调",
        ),
        ("我国首个科学实验舱发射成功我国首个科学实验舱发射成功", "我国首个科学实验舱发射成功"),
        ("王波主持王波主持 陈健陈亦平王剑峰等参加陈健陈亦平王剑峰等参加", "王波主持 陈健陈亦平王剑峰等参加"),
        (
            "敖煜新在平台敖煜新在平台、、镇镇((街道街道))一把手工作例会上强调一把手工作例会上强调",
            "敖煜新在平台、镇(街道)一把手工作例会上强调",
        ),
    ],
)
def test_doubled_copies_undo_a_headline_printed_twice(line, single):
    copies = doubled_copies(line)
    assert copies is not None
    kept = "".join(ch for k, ch in enumerate(line) if not any(a <= k < b for a, b in copies))
    assert kept == single


@pytest.mark.parametrize("line", ["张张叶子动起来 层层责任强落实", "谢谢", "人人都做到争先创优", "湖州湖州"[:3], ""])
def test_doubled_copies_leave_ordinary_text_alone(line):
    assert doubled_copies(line) is None


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("见习记者 张 翔", ["张翔"]),
        ("记者 姚思思 徐震", ["姚思思", "徐震"]),
        ("| 记者 董华 姚海翔", ["董华", "姚海翔"]),
        ("通讯员夏鹏飞摄", ["夏鹏飞"]),
        ("新华社记者 李刚 摄", ["李刚"]),
        ("记者 张慧莲", ["张慧莲"]),
    ],
)
def test_parse_people_reads_bylines_and_credits(byline, names):
    assert parse_people(byline) == names
