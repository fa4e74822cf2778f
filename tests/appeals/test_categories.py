"""Guessing an appeal's category from what the enterprise wrote, to offer it with a confirmation button."""

from __future__ import annotations

import pytest

from appeals.categories import CATEGORIES, OTHER, guess_category, infer_category


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("供电所把我们的线路拉闸了两天，冷库的货全坏了", "用电用水用气"),
        ("银行说要追加抵押才肯续贷，不然就抽贷", "融资"),
        ("总包单位的结算拖了一年，说甲方还没付款", "拖欠账款"),
        ("公示名单上有我们的奖励，钱迟迟不拨", "政策兑现"),
        ("城管和市场监管轮流来，罚了两次还要整改", "执法检查"),
        ("规划条件一直出不来，地块没法开工", "用地"),
        ("审图提了三轮意见，验收还是不给过", "审批服务"),
        ("新来的工人社保加不进去，工伤也报不了", "用工"),
    ],
)
def test_what_happened_names_the_category(description: str, expected: str) -> None:
    assert guess_category(description) == expected


def test_a_description_without_a_keyword_is_offered_other() -> None:
    assert guess_category("隔壁的KTV每天唱到凌晨两点，找了好几次都没人处理") == OTHER
    assert OTHER in CATEGORIES


def test_nothing_to_guess_from_asks_with_every_category() -> None:
    assert guess_category("") is None and guess_category("  ") is None
    # a short answer that names nothing is not a category (the form asks again)
    assert infer_category("想咨询一下") is None
