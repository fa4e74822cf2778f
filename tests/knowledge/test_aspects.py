"""Which part of a guide a question asks for, read from its words."""

from __future__ import annotations

from knowledge.aspects import Aspect, detect_aspect, question_sentence
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
