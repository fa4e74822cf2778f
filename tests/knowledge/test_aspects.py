"""Which part of a guide a question asks for, read from its words."""

from __future__ import annotations

import pytest

from knowledge.answering import Context, Thresholds, resolve_aspect
from knowledge.aspects import Aspect, asks_whether_allowed, detect_aspect, question_sentence
from knowledge.text import normalize


def test_the_sentence_that_asks_is_found_in_a_story() -> None:
    message = normalize("去年我们没裁员，社保也一直按时交。听说能退一部分失业保险，要准备啥材料？")
    asked = question_sentence(message)
    assert asked is not None and asked.startswith("听说能退")
    assert detect_aspect(asked) is Aspect.materials


def test_the_last_asking_sentence_wins_and_a_story_without_a_question_mark_ends_in_its_last() -> None:
    assert question_sentence(normalize("在哪个窗口办？我们下周就要开业了。")) == "在哪个窗口办?"
    assert question_sentence(normalize("我们下周开业。想问下收费标准")) == "想问下收费标准"


def test_one_sentence_has_no_separate_question_sentence() -> None:
    assert question_sentence(normalize("食品经营许可证要什么材料？")) is None
    assert question_sentence(normalize("食品经营许可证，要多久")) is None


def test_the_longest_keyword_wins_even_where_a_shorter_one_overlaps_it() -> None:
    # 去哪 and 哪个窗口 overlap; the longer outweighs 材料
    assert detect_aspect(normalize("这个审批去哪个窗口递材料？")) is Aspect.location
    assert detect_aspect(normalize("高新认证的材料交到哪个部门")) is Aspect.location
    assert detect_aspect(normalize("高新认证要交哪些材料")) is Aspect.materials


@pytest.mark.parametrize(
    ("question", "allowed"),
    [
        ("超市离学校有点近，还能申请卖烟吗", True),
        ("个体工商户能不能自己在海关登记", True),
        ("在抖音卖自己做的辣椒酱，没有门店能办执照不", True),
        ("啥样的投资项目必须政府审批，不能直接登记", False),  # 不能直接 is a rule, not a request
        ("项目节能审查要多久", False),  # 节能 is not 能
        ("节能用电改造有补贴吗", False),
        ("技能报名在哪", False),
        ("我们可能先要办个执照", False),
        ("不可以直接登记吗", False),
    ],
)
def test_asking_whether_the_enterprise_may(question: str, allowed: bool) -> None:
    assert asks_whether_allowed(normalize(question)) is allowed


def test_a_may_we_question_the_model_did_not_place_asks_for_the_conditions() -> None:
    text = normalize("超市离学校有点近，还能申请卖烟吗")
    assert resolve_aspect(text, "nlu_fallback", 0.35, Context(), Thresholds()) is Aspect.conditions
    # the model's own aspect, and an aspect named in words, still come first
    assert resolve_aspect(text, "ask_location", 0.9, Context(), Thresholds()) is Aspect.location
    online = normalize("这种能在网上申请吗")
    assert resolve_aspect(online, "nlu_fallback", 0.35, Context(), Thresholds()) is Aspect.online
