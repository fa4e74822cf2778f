"""Aspect keywords typed with one wrong character of the same sound are read as meant."""

from __future__ import annotations

import pytest

from knowledge.answering import Context, Thresholds, resolve_aspect
from knowledge.aspects import Aspect, mend_question_words
from knowledge.sound_alikes import SoundAlikes
from knowledge.text import normalize


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("开个奶茶店要准备啥才料", "开个奶茶店要准备啥材料"),
        ("这个证办下来收废吗", "这个证办下来收费吗"),
        ("营业执照可以网上申清吗", "营业执照可以网上申请吗"),
        ("卖烟的许可要满足啥条见", "卖烟的许可要满足啥条件"),
    ],
)
def test_a_keyword_typed_by_sound_is_read_as_meant(typed: str, meant: str) -> None:
    assert mend_question_words(normalize(typed)) == meant


@pytest.mark.parametrize(
    "sentence",
    [
        "公司账上没钱了还能注销吗",  # 账上 is not 掌上
        "合同上要签什么字",  # 要签 is not 要钱
        "我们想往上升一级资质",  # 往上 is a word of its own
        "这是啥政策",  # 政策 is not cut to make 啥证
        "出口的增值税能退吗",  # 税能 is not 谁能
    ],
)
def test_real_words_that_sound_like_a_keyword_are_left_alone(sentence: str) -> None:
    assert mend_question_words(normalize(sentence)) == normalize(sentence)


def test_only_one_character_may_differ() -> None:
    alikes = SoundAlikes(["材料"])
    assert alikes.mend("要啥才料") == "要啥材料"
    assert alikes.mend("要啥财料") == "要啥材料"
    assert alikes.mend("要啥才了") == "要啥才了"  # 了 is le, not liao, and two characters differ anyway


def test_a_mended_keyword_decides_the_aspect_over_an_unsure_model() -> None:
    question = normalize("办食品经营许可证要准备啥才料")
    aspect = resolve_aspect(question, "nlu_fallback", 0.35, Context(None, None), Thresholds())
    assert aspect is Aspect.materials
