"""The demo guides were taught the tuning sets' questions (bench/teach_demo.py), and the aspect classifier
their aspects (bench/teach_nlu.py): never a held-out one, and a benchmark asks a set only of guides
stripped of what they learnt from it."""

from __future__ import annotations

import pytest

from bench.common import (
    CHECK_COMPLAINT_SETS,
    COMPLAINT_SETS,
    HELDOUT_QUESTIONS,
    TAUGHT_ASPECTS,
    TEACHING_SETS,
    UNTAUGHT_SETS,
    citizen_complaints,
    citizen_questions,
    demo_records,
    set_questions,
    taught_questions,
)
from knowledge.aspects import INTENT_ASPECTS
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


def _taught_aspect_examples() -> dict[str, set[str]]:
    import yaml

    data = yaml.safe_load(TAUGHT_ASPECTS.read_text(encoding="utf-8"))
    return {
        str(block["intent"]): {
            normalize(line.strip()[2:]) for line in block["examples"].splitlines() if line.strip()
        }
        for block in data["nlu"]
    }


def test_the_taught_aspect_examples_are_what_the_sets_give() -> None:
    from bench.teach_nlu import examples, render

    assert TAUGHT_ASPECTS.read_text(encoding="utf-8") == render(examples())


def test_no_held_out_untaught_or_complaint_text_is_an_aspect_example() -> None:
    import yaml

    from bench.teach_nlu import held_out_texts

    taught = set().union(*_taught_aspect_examples().values())
    assert len(held_out_texts()) > 500 and len(taught) > 2000
    assert not taught & held_out_texts()
    untaught = {normalize(q) for path in UNTAUGHT_SETS.values() for q in set_questions(path)}
    asked_elsewhere = {normalize(q) for path in TEACHING_SETS.values() for q in set_questions(path)}
    assert (taught & untaught) - asked_elsewhere == set()
    complaints = {normalize(text) for text in citizen_complaints()}
    for path in [*COMPLAINT_SETS.values(), *CHECK_COMPLAINT_SETS.values()]:
        cases = yaml.safe_load(path.read_text(encoding="utf-8"))["complaints"]
        complaints |= {normalize(case["text"]) for case in cases}
    assert len(complaints) > 400 and not taught & complaints


def test_questions_are_taught_as_their_aspect_once_and_nothing_else_is() -> None:
    taught = _taught_aspect_examples()
    assert sorted(taught) == sorted(INTENT_ASPECTS)
    assert all(len(examples) >= 100 for examples in taught.values())
    assert not any(taught[a] & taught[b] for a in taught for b in taught if a < b)  # no sentence taught twice
    import yaml

    labelled = [
        (normalize(" ".join(str(turn["q"]).split())), f"ask_{turn['aspect']}")
        for path in TEACHING_SETS.values()
        for conversation in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]
        for turn in conversation["turns"]
        if turn.get("guide") and turn.get("aspect")
    ]
    found = [
        (question, intent) for question, intent in labelled if any(question in t for t in taught.values())
    ]
    assert len(found) > 1500 and all(question in taught[intent] for question, intent in found)


def test_a_fourth_of_the_citizens_questions_is_kept_untaught_and_the_rest_taught_as_labelled() -> None:
    taught = _taught_aspect_examples()
    everything = set().union(*taught.values())
    kept = [normalize(q["text"]) for q in citizen_questions(taught=False)]
    used = citizen_questions(taught=True)
    assert len(kept) >= 40 and len(used) == pytest.approx(3 * len(kept), abs=3)
    assert not set(kept) & everything
    assert all(normalize(q["text"]) in taught[f"ask_{q['aspect']}"] for q in used)


def test_the_appeal_tuning_asks_every_citizen_complaint_and_only_the_untaught_consultations() -> None:
    from bench.appeal_tuning import citizens

    asked = citizens()
    assert len(asked.complaints) == len(citizen_complaints()) >= 150 and not asked.mixed
    assert [case.text for case in asked.questions] == [
        str(q["text"]).strip() for q in citizen_questions(taught=False)
    ]
