"""Two things asked in one clause, split into one asking clause each."""

from __future__ import annotations

import pytest

from rag.facts.pairs import Pair, split_pair


@pytest.mark.parametrize(
    ("clause", "previous", "pair"),
    [
        # a comparison: A比B多/高/少…多少
        (
            "2013年全市固定资产投资比社会消费品零售总额多多少亿元",
            "",
            Pair("difference", ("2013年全市固定资产投资多少亿元", "社会消费品零售总额多少亿元")),
        ),
        (
            "农村居民人均纯收入比城镇居民低了多少元",
            "",
            Pair("difference", ("农村居民人均纯收入多少元", "城镇居民多少元")),
        ),
        ("2014年的目标比2013年多几个", "", Pair("difference", ("2014年的目标几个", "2013年几个"))),
        # a coordination under a sum or 分别, in the asking clause or in the one before it
        (
            "内河航道建设和港口码头建设加起来一共多少亿元",
            "",
            Pair("sum", ("内河航道建设多少亿元", "港口码头建设多少亿元")),
        ),
        (
            "两个项目总投资一共多少亿元",
            "新签约的智能装备项目和新材料项目",
            Pair("sum", ("新签约的智能装备项目总投资多少亿元", "新材料项目总投资多少亿元")),
        ),
        ("合计多少户", "领到补贴的和享受减免的", Pair("sum", ("领到补贴多少户", "享受减免多少户"))),
        (
            "2013年和2014年新增建设用地指标分别是多少",
            "",
            Pair("list", ("2013年新增建设用地指标多少", "2014年新增建设用地指标多少")),
        ),
        # a remainder: X中，非Y / 除Y以外
        (
            "非市重点项目有几个",
            "引进的人才创业项目中",
            Pair("remainder", ("引进的人才创业项目有几个", "市重点项目有几个")),
        ),
        (
            "除出口以外的进口是多少亿美元",
            "外贸进出口总额当中",
            Pair("remainder", ("外贸进出口总额是多少亿美元", "出口是多少亿美元")),
        ),
        (
            "累计建成的绿道中非省级绿道有多少公里",
            "",
            Pair("remainder", ("累计建成的绿道有多少公里", "省级绿道有多少公里")),
        ),
    ],
)
def test_split_pair_reads_two_things_in_one_clause(clause: str, previous: str, pair: Pair) -> None:
    assert split_pair(clause, previous) == pair


@pytest.mark.parametrize(
    ("clause", "previous"),
    [
        ("规上工业增加值比上年增长多少", ""),  # a growth rate: one figure
        ("出口额比去年同期提高了多少", ""),
        ("占比多少", ""),  # 比 inside a word
        ("德清与上海合作建了多少个实验室", ""),  # 与 without a sum or 分别: one joint figure
        ("一共签约了多少个项目", ""),  # a sum word with one thing
        ("新增绿道多少公里", "今年我市计划"),
    ],
)
def test_split_pair_leaves_one_thing_alone(clause: str, previous: str) -> None:
    assert split_pair(clause, previous) is None
