"""Regional guides: the enterprise's own office answers, else the nearest level above; an unbound visitor is asked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from knowledge.assistant import GuideAssistant
from knowledge.importers import load_records
from knowledge.live_index import LiveIndex
from knowledge.regions import CITY_CHOICE, pick_variant, region_options, units
from knowledge.search import GuideEntry
from knowledge.service import import_records
from knowledge.settings import Settings

LEXICAL_ONLY = Settings(
    database_url="", demo_dir=Path("."), catalogue_path=None, dense=False, embedding_cache=None
)

# one item published by the city, two districts and a street office of one of them
COPIES = [
    ("SCJG-013-C", "市", "示例市", "示例市市场监督管理局", "示例市政务服务中心二楼"),
    ("SCJG-013-E", "县区", "示例市城东区", "示例市城东区市场监督管理局", "城东区政务服务中心一楼3号窗口"),
    ("SCJG-013-W", "县区", "示例市城西区", "示例市城西区市场监督管理局", "城西区政务服务中心A区"),
    (
        "SCJG-013-D",
        "乡镇街道",
        "示例市城东区东关街道",
        "示例市城东区东关街道便民服务中心",
        "东关街道便民服务中心",
    ),
]


def entry(guide_id: str, level: str, region: str) -> GuideEntry:
    return GuideEntry(id=guide_id, name="食品经营许可证核发", level=level, region=region)


VARIANTS = [entry(i, level, region) for i, level, region, _, _ in COPIES]


def test_region_names_are_read_as_paths_of_units() -> None:
    assert units("示例市城东区东关街道") == ["示例市", "城东区", "东关街道"]
    assert units("广安市广安区浓洄街道团结社区") == ["广安市", "广安区", "浓洄街道", "团结社区"]
    assert units("城东区") == ["城东区"]
    assert units("") == []


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("城东区", "SCJG-013-E"),  # the enterprise's own district
        ("示例市城东区", "SCJG-013-E"),
        ("示例市城东区东关街道", "SCJG-013-D"),  # a street office below the district is nearer still
        ("城东区西门街道", "SCJG-013-E"),  # a street without its own copy: the district above it
        ("示例县", "SCJG-013-C"),  # a county without a copy: the city
        (CITY_CHOICE, "SCJG-013-C"),
    ],
)
def test_the_nearest_copy_at_or_above_the_enterprise_answers(region: str, expected: str) -> None:
    choice = pick_variant(VARIANTS, region, VARIANTS[0])
    assert choice.entry.id == expected and choice.regional


def test_an_item_published_once_is_not_regional() -> None:
    only = [entry("X", "市", "示例市")]
    choice = pick_variant(only, "城东区", only[0])
    assert choice.entry.id == "X" and not choice.regional


def test_the_options_are_the_districts_and_the_city() -> None:
    options = region_options(VARIANTS)
    assert [(o.title, o.region) for o in options] == [
        ("城东区", "示例市城东区"),
        ("城西区", "示例市城西区"),
        (CITY_CHOICE, CITY_CHOICE),
    ]
    many = [entry(f"V{i}", "县区", f"示例市第{i}区") for i in range(12)] + [VARIANTS[0]]
    assert len(region_options(many)) == 9  # eight districts and the city's office


@pytest.fixture
def regional_kb(
    session_factory: sessionmaker,
    tmp_path: Path,
    item: Callable[..., dict[str, Any]],
    write_yaml: Callable[[Path, list[dict[str, Any]]], Path],
) -> GuideAssistant:
    items = [
        item(id=i, level=level, region=region, department=department, location=location)
        for i, level, region, department, location in COPIES
    ]
    items.append(
        item(
            id="HB-001",
            name="排污许可证核发",
            aliases=["排污许可证"],
            department="示例市生态环境局",
            location="示例市政务服务中心三楼",
        )
    )
    path = write_yaml(tmp_path / "guides.yaml", items)
    with session_factory.begin() as session:
        import_records(session=session, records=load_records([path]), source="test")
    return GuideAssistant(session_factory, LiveIndex(session_factory, settings=LEXICAL_ONLY))


def test_an_unbound_visitor_asking_where_is_asked_which_district(regional_kb: GuideAssistant) -> None:
    reply = regional_kb.reply("食品经营许可证在哪里办", intent="ask_location", intent_confidence=0.99)
    assert reply.kind == "choose_region" and "哪个区县" in reply.text
    assert [b["title"] for b in reply.buttons] == ["城东区", "城西区", "市级"]
    payloads = [b["payload"] for b in reply.buttons]
    assert payloads[0].startswith("/choose_region{")
    assert json.loads(payloads[0].removeprefix("/choose_region")) == {"region": "示例市城东区"}
    assert reply.guide_name == "食品经营许可证核发" and reply.aspect == "location"


def test_the_chosen_district_gets_its_own_office(regional_kb: GuideAssistant) -> None:
    asked = regional_kb.reply("食品经营许可证在哪里办", intent="ask_location", intent_confidence=0.99)
    region = json.loads(asked.buttons[1]["payload"].removeprefix("/choose_region"))["region"]
    reply = regional_kb.reply(
        "食品经营许可证在哪里办", intent="ask_location", intent_confidence=0.99, region=region
    )
    assert reply.kind == "guide" and "城西区政务服务中心A区" in reply.text
    assert "以下为示例市城西区市场监督管理局的办事指南" in reply.text
    assert reply.custom["region"] == "示例市城西区" and reply.custom["level"] == "县区"


def test_a_bound_enterprise_gets_its_region_or_the_level_above(regional_kb: GuideAssistant) -> None:
    east = regional_kb.reply(
        "食品经营许可证在哪里办", intent="ask_location", intent_confidence=0.99, region="城东区"
    )
    assert "城东区政务服务中心一楼3号窗口" in east.text
    county = regional_kb.reply(
        "食品经营许可证在哪里办", intent="ask_location", intent_confidence=0.99, region="示例县"
    )
    assert "示例市政务服务中心二楼" in county.text and "以下为示例市市场监督管理局的办事指南" in county.text


def test_other_aspects_do_not_ask_for_a_district(regional_kb: GuideAssistant) -> None:
    reply = regional_kb.reply("食品经营许可证要什么材料", intent="ask_materials", intent_confidence=0.99)
    assert reply.kind == "guide" and reply.aspect == "materials"


def test_an_item_with_one_office_answers_where_without_asking(regional_kb: GuideAssistant) -> None:
    reply = regional_kb.reply("排污许可证在哪里办", intent="ask_location", intent_confidence=0.99)
    assert reply.kind == "guide" and "示例市政务服务中心三楼" in reply.text
    assert "以下为" not in reply.text


def test_a_region_tapped_after_the_question_answers_through_the_chosen_path(
    regional_kb: GuideAssistant,
) -> None:
    asked = regional_kb.reply("食品经营许可证在哪里办", intent="ask_location", intent_confidence=0.99)
    assert asked.guide_id is not None
    reply = regional_kb.reply_chosen(asked.guide_id, asked.aspect, region="示例市城东区")
    assert reply is not None and "城东区政务服务中心一楼3号窗口" in reply.text


def test_a_name_only_copy_elsewhere_does_not_make_the_guide_regional(
    session_factory: sessionmaker,
    tmp_path: Path,
    item: Callable[..., dict[str, Any]],
    write_yaml: Callable[[Path, list[dict[str, Any]]], Path],
) -> None:
    # a district's catalogue lists the item by name only: it cannot say where, so the city's guide answers
    guide = write_yaml(tmp_path / "guide.yaml", [item()])
    catalogue = write_yaml(
        tmp_path / "catalogue.yaml",
        [
            item(
                id="GA-0001",
                level="县区",
                region="示例市城东区",
                department="示例市城东区市场监督管理局",
                materials=[],
                steps=[],
                faqs=[],
            )
        ],
    )
    with session_factory.begin() as session:
        import_records(session=session, records=load_records([guide]), source="demo")
        import_records(
            session=session, records=load_records([catalogue]), source="catalogue", has_guide=False
        )
    assistant = GuideAssistant(session_factory, LiveIndex(session_factory, settings=LEXICAL_ONLY))
    unbound = assistant.reply("食品经营许可证在哪里办", intent="ask_location", intent_confidence=0.99)
    assert (
        unbound.kind == "guide" and "示例市政务服务中心二楼" in unbound.text and unbound.custom["has_guide"]
    )
    bound = assistant.reply(
        "食品经营许可证在哪里办", intent="ask_location", intent_confidence=0.99, region="城东区"
    )
    assert bound.kind == "guide" and bound.custom["has_guide"] and "示例市政务服务中心二楼" in bound.text
