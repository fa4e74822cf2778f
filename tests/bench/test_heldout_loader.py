"""The held-out loader: every guide name, aspect and category of bench/heldout/ must exist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bench.heldout_eval import (
    ASPECTS,
    HELDOUT,
    HeldoutInvalid,
    demo_guide_names,
    load_appeals,
    load_guide_questions,
)


def test_the_heldout_files_name_only_demo_items_and_known_aspects() -> None:
    names = demo_guide_names()
    assert len(names) == 60
    conversations = load_guide_questions(HELDOUT / "guide_questions.yaml", names)
    turns = [t for c in conversations for t in c]
    assert len(turns) >= 300
    assert {t.guide for t in turns} - {None} <= names
    assert {t.aspect for t in turns if t.guide is not None} <= ASPECTS
    assert all(t.tags for t in turns)

    appeals = load_appeals(HELDOUT / "appeals.yaml", names)
    assert appeals.complaints and appeals.mixed and appeals.questions
    assert all(case.guide in names for case in appeals.mixed)


def problems(loader: Callable[[Path, frozenset[str]], object], path: Path, text: str) -> list[str]:
    """What the loader reports for a held-out file with ``text``."""
    path.write_text(text, encoding="utf-8")
    with pytest.raises(HeldoutInvalid) as error:
        loader(path, demo_guide_names())
    return error.value.problems


def test_a_wrong_name_aspect_or_category_is_reported_not_counted_as_a_miss(tmp_path: Path) -> None:
    found = problems(
        load_guide_questions,
        tmp_path / "guide_questions.yaml",
        "conversations:\n"
        "  - id: x1\n    turns:\n"
        "      - {q: 开个饭店要什么证, guide: 饭店许可证, aspect: materials, tags: [no_name]}\n"
        "      - {q: 要多久, guide: 食品经营许可证核发, aspect: duration, tags: [followup]}\n",
    )
    assert len(found) == 2
    assert "'饭店许可证' is not a demo item" in found[0] and "aspect 'duration'" in found[1]

    found = problems(
        load_appeals,
        tmp_path / "appeals.yaml",
        "complaints:\n  - {text: 停电三天了, category: 供电}\n"
        "mixed:\n  - {text: 施工许可要多久？拖了两个月了, category: 审批服务}\n"
        "questions:\n  - {text: 排污许可在哪办, guide: 排污许可证核发, aspect: location}\n",
    )
    assert [p.split(":")[0] for p in found] == ["complaints 1", "mixed 1"]


def test_the_complaint_sets_load_with_known_categories_and_hold_no_held_out_complaint() -> None:
    from bench.common import CHECK_COMPLAINT_SETS, COMPLAINT_SETS

    names = demo_guide_names()
    held_out = {case.text for case in load_appeals(HELDOUT / "appeals.yaml", names).complaints}
    for path in [*COMPLAINT_SETS.values(), *CHECK_COMPLAINT_SETS.values()]:
        complaints = load_appeals(path, names).complaints  # raises HeldoutInvalid on an unknown category
        assert len(complaints) == 80 and len({case.category for case in complaints}) == 9, path.name
        assert not held_out & {case.text for case in complaints}, path.name
