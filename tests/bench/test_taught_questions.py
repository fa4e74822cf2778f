"""The demo guides were taught the tuning sets' questions (bench/teach_demo.py): never a held-out one,
and a benchmark asks a set only of guides stripped of what they learnt from it."""

from __future__ import annotations

import pytest

from bench.common import (
    HELDOUT_QUESTIONS,
    TEACHING_SETS,
    UNTAUGHT_SETS,
    demo_records,
    set_questions,
    taught_questions,
)
from knowledge.text import normalize


def test_no_held_out_question_is_in_the_demo_guides() -> None:
    held_out = {normalize(q) for q in set_questions(HELDOUT_QUESTIONS)}
    lines = {normalize(line) for record in demo_records() for line in record.situations}
    assert len(held_out) > 400 and len(lines) > 1900
    assert not held_out & lines


def test_every_taught_question_is_in_the_demo_guides_under_its_item() -> None:
    situations = {record.name: set(record.situations) for record in demo_records()}
    pairs = [pair for path in TEACHING_SETS.values() for pair in taught_questions(path)]
    assert len(pairs) > 1000
    assert [(q, item) for q, item in pairs if q not in situations[item]] == []


@pytest.mark.parametrize("name", sorted(TEACHING_SETS))
def test_a_set_is_asked_of_guides_stripped_of_its_own_questions(name: str) -> None:
    path = TEACHING_SETS[name]
    own = {normalize(q) for q in set_questions(path)}
    taught = {normalize(q) for q, _ in taught_questions(path)}
    assert taught and taught <= own
    everything = [normalize(line) for record in demo_records() for line in record.situations]
    stripped = [
        normalize(line) for record in demo_records(without=set_questions(path)) for line in record.situations
    ]
    assert taught <= set(everything)
    assert not own & set(stripped)  # nothing the set asks, in any script, is left in the guides
    assert len(stripped) >= len(everything) - len(own)  # the guides' own 适用情形 stay


@pytest.mark.parametrize("name", sorted(UNTAUGHT_SETS))
def test_a_blind_set_kept_untaught_is_not_in_the_demo_guides(name: str) -> None:
    own = {normalize(q) for q in set_questions(UNTAUGHT_SETS[name])}
    asked_elsewhere = {normalize(q) for path in TEACHING_SETS.values() for q in set_questions(path)}
    lines = {normalize(line) for record in demo_records() for line in record.situations}
    assert len(own) > 150
    assert (own & lines) - asked_elsewhere == set()  # only a question a taught set also asks ("要钱吗")
