"""Retrieval over the demo knowledge base, alone and with the 1,135-item Guang'an catalogue."""

from __future__ import annotations

import pytest

from knowledge.live_index import LiveIndex
from knowledge.search import GuideEntry, GuideIndex, core_name, shadowed_by_guides
from knowledge.synonyms import SynonymTable


def best_name(index: LiveIndex, question: str) -> str | None:
    best = index.current().index.search(question).best
    return best.name if best else None


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("排污许可证核发", "排污许可证核发"),
        ("我想开个饭店", "食品经营许可证核发"),  # colloquial
        ("店里要接电", "低压小微企业用电报装"),
        ("公司不想干了", "企业简易注销登记"),
        ("辦理營業執照", "有限责任公司设立登记"),  # Traditional
        ("排污许可正", "排污许可证核发"),  # typo
        ("公积经开户", "住房公积金单位缴存登记"),  # homophone typo
        ("消防验收", "建设工程消防验收"),
        ("高压用电", "高压用电报装"),
    ],
)
def test_finds_the_item(demo_live_index: LiveIndex, question: str, expected: str) -> None:
    assert best_name(demo_live_index, question) == expected


def test_exact_name_is_a_confident_match(demo_live_index: LiveIndex) -> None:
    result = demo_live_index.current().index.search("取水许可要什么材料")
    assert result.best is not None and result.best.name == "取水许可"
    assert result.confidence >= 0.9


def test_aspect_words_alone_name_no_item(demo_live_index: LiveIndex) -> None:
    result = demo_live_index.current().index.search("那要多久？")
    assert result.is_empty and result.hits == []


def test_unrelated_question_has_low_confidence(demo_live_index: LiveIndex) -> None:
    result = demo_live_index.current().index.search("明天天气怎么样")
    assert result.confidence < 0.3


def test_listing_steps_of_a_bundle_finds_the_bundle(demo_live_index: LiveIndex) -> None:
    assert (
        best_name(demo_live_index, "开公司能不能一次把执照、刻章、领发票、社保开户都办完") == "企业开办一件事"
    )


def test_department_mention_is_recognised(demo_live_index: LiveIndex) -> None:
    from knowledge.mentions import DEPARTMENT, find_mentions

    index = demo_live_index.current().index
    mentions = find_mentions(index._matcher, "市场监督管理局的电话")
    assert any(m.label == DEPARTMENT for m in mentions)


def test_full_guide_wins_when_the_catalogue_is_loaded_too(catalogue_live_index: LiveIndex) -> None:
    snapshot = catalogue_live_index.current()
    assert len(snapshot.guides) == 60 + 1135
    for question, expected in [
        ("食品经营许可证要什么材料", "食品经营许可证核发"),
        ("烟草专卖零售许可证要什么资料", "烟草专卖零售许可证核发"),
        ("就业登记怎么办", "用人单位就业登记"),
        ("我想办个个体户卖水果", "个体工商户设立登记"),
    ]:
        assert best_name(catalogue_live_index, question) == expected, question


def test_catalogue_only_services_are_still_found(catalogue_live_index: LiveIndex) -> None:
    best = catalogue_live_index.current().index.search("普通护照签发").best
    assert best is not None and best.name == "普通护照签发" and not best.has_guide


def test_catalogue_name_contained_in_a_guide_is_the_same_service() -> None:
    entries = [
        GuideEntry("G1", "用人单位就业登记", ("招工登记",), "人社局", True),
        GuideEntry("C1", "就业登记", (), "区人社局", False),
        GuideEntry("C2", "用人单位就业登记注销（县级）", (), "区人社局", False),
    ]
    assert shadowed_by_guides(entries) == {"C1": "G1"}  # C2 is a variant service, not the same one
    index = GuideIndex(entries, SynonymTable.from_mapping({}))
    assert index.search("就业登记").best.guide_id == "G1"  # type: ignore[union-attr]


def test_core_name_drops_qualifiers() -> None:
    assert core_name("企业投资项目备案（技术改造）（市级/县级）") == "企业投资项目备案"


def test_empty_knowledge_base_finds_nothing() -> None:
    index = GuideIndex([], SynonymTable.from_mapping({}))
    assert index.search("食品经营许可").hits == []
