"""Retrieval over the demo knowledge base, alone and with the 1,135-item Guang'an catalogue."""

from __future__ import annotations

import pytest

from knowledge.live_index import LiveIndex
from knowledge.search import (
    Evidence,
    GuideEntry,
    GuideIndex,
    Hit,
    _margin,
    _prefer_guides,
    core_name,
    excluded_words,
    shadowed_by_guides,
)
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


def test_the_word_only_one_candidate_has_decides_between_close_candidates() -> None:
    entries = [
        GuideEntry("LOW", "低压小微企业用电报装", ("低压接电",), "供电公司", True),
        GuideEntry("HIGH", "高压用电报装", ("高压接电",), "供电公司", True),
        GuideEntry("WATER", "用水报装", (), "自来水公司", True),
    ]
    index = GuideIndex(entries, SynonymTable.from_mapping({}))
    low = index.search("小店低压用电报装要什么")
    assert low.best is not None and low.best.guide_id == "LOW" and low.margin >= 0.35
    # without the deciding word the two stay close, and the user is asked
    assert index.search("用电报装").margin < 0.35


def test_a_name_excluding_what_the_question_names_falls_behind() -> None:
    entries = [
        GuideEntry("G", "企业变更登记", ("变更法人", "公司变更登记"), "市场监管局", True),
        GuideEntry("C", "非公司企业法人变更登记", (), "区市场监管局", False),
    ]
    index = GuideIndex(entries, SynonymTable.from_mapping({}))
    assert index.search("公司法人变了去变更").best.guide_id == "G"  # type: ignore[union-attr]
    assert index.search("非公司企业法人变更").best.guide_id == "C"  # type: ignore[union-attr]


def test_excluded_words_of_a_name() -> None:
    assert excluded_words("非公司企业法人变更登记") == ["公司"]
    assert excluded_words("民办非企业单位成立登记") == ["企业"]
    assert excluded_words("金属非金属矿产资源地质勘探") == []  # covers both
    assert excluded_words("非公司企业法人按《公司法》改制登记") == ["公司"]  # a law's title is no cover
    assert excluded_words("企业变更登记") == []


def test_name_only_entries_do_not_make_a_guide_ambiguous() -> None:
    entries = [
        GuideEntry("G", "食品生产许可证核发", ("食品生产许可",), "市场监管局", True),
        GuideEntry("C1", "蚕种生产许可", (), "农业农村局", False),
        GuideEntry("C2", "种子生产许可", (), "农业农村局", False),
        GuideEntry("G2", "排污许可证核发", (), "生态环境局", True),
    ]
    index = GuideIndex(entries, SynonymTable.from_mapping({}))
    result = index.search("厂里要生产辣椒酱，生产许可")
    assert result.best is not None and result.best.guide_id == "G"
    # the entries score close to the guide, but only the other guide competes with it
    assert result.hits[1].score > 0.6 * result.best.score and result.margin >= 0.35
    named = index.search("蚕种生产许可")
    assert named.best is not None and named.best.guide_id == "C1"


def test_a_guide_tied_with_name_only_entries_goes_first_and_keeps_them_as_alternatives() -> None:
    entry = Hit("C1", "职工参保登记", 10.0, False)
    guide = Hit("G", "单位社会保险参保登记", 9.5, True)
    far = Hit("C2", "灵活就业人员参保登记", 5.0, False)
    same = frozenset({"参保", "登记", "参", "保", "登", "记"})
    evidence = Evidence(frozenset({"参保", "登记", "员工"}), {"C1": same, "G": same, "C2": same})
    hits, alternatives = _prefer_guides([entry, guide, far], [], evidence)
    assert hits[0] == guide and alternatives == [entry]
    assert _margin(hits, evidence) == 1.0  # the entries explain nothing more: the guide is unrivalled
    # an entry clearly ahead, named verbatim, or matching a word the guide does not keeps its place
    assert _prefer_guides([entry, Hit("G", "单位社会保险参保登记", 7.0, True)], [], evidence)[0][0] == entry
    assert _prefer_guides([entry, guide], ["C1"], evidence) == ([entry, guide], [])
    richer = Evidence(evidence.words, {"C1": same | {"员工"}, "G": same})
    assert _prefer_guides([entry, guide], [], richer) == ([entry, guide], [])
    leading = Hit("G", "单位社会保险参保登记", 10.0, True)
    assert _margin([leading, Hit("C1", "职工参保登记", 9.0, False)], richer) == pytest.approx(0.1)


def test_catalogue_entries_that_exclude_the_question_do_not_outrank_the_guide(
    catalogue_live_index: LiveIndex,
) -> None:
    for question in ["公司法人变更要多久", "公司换了法人怎么去变更"]:
        assert best_name(catalogue_live_index, question) == "企业变更登记", question


def test_mentions_are_the_longest_names_and_skip_the_spaces_left_by_stop_words() -> None:
    from knowledge.mentions import DEPARTMENT, ITEM, build_matcher, find_mentions

    matcher = build_matcher(
        [("A", ["企业投资项目核准"]), ("B", ["企业投资项目"]), ("C", ["核准"])],
        [("示例市发展和改革委员会", ["发展和改革委员会"])],
    )
    found = [(m.label, m.key, m.text) for m in find_mentions(matcher, "企业投资项目 核准 发展和改革委员会")]
    assert found == [
        (ITEM, "A", "企业投资项目 核准"),
        (DEPARTMENT, "示例市发展和改革委员会", "发展和改革委员会"),
    ]
    assert [m.key for m in find_mentions(matcher, "核准和企业投资项目")] == ["C", "B"]


def _guides_with_text(text_weight: float) -> GuideIndex:
    entries = [
        GuideEntry(
            "W", "取水许可", (), "水利局", True, text="工厂打井抽取地下水的，取水前申请\n取水工程设计方案"
        ),
        GuideEntry(
            "P",
            "排污许可证核发",
            ("排污证",),
            "生态环境局",
            True,
            text="污染物排放符合排放标准\n车间废水、废气排放口设置说明\n排污许可审批要多久？",
        ),
        GuideEntry("F", "食品经营许可证核发", (), "市场监管局", True, text="开饭店要办什么证？"),
    ]
    return GuideIndex(entries, SynonymTable.from_mapping({}), text_weight=text_weight)


def test_a_guides_own_words_decide_what_its_name_cannot() -> None:
    question = "车间废水要从排放口出去，要办什么"
    by_name = _guides_with_text(0.0).search(question)
    assert by_name.best is not None and by_name.best.guide_id == "W"  # the 水 of 取水许可, nothing more
    with_text = _guides_with_text(1.0).search(question)
    assert with_text.best is not None and with_text.best.guide_id == "P"
    assert with_text.confidence > 5 * by_name.confidence


def test_guide_text_never_outweighs_a_name_or_makes_a_text_match_certain() -> None:
    index = _guides_with_text(1.0)
    named = index.search("排污许可证核发要多久")
    assert named.best is not None and named.best.guide_id == "P" and named.confidence == 1.0
    # a question that names items is ranked on the names alone, whatever the texts say
    assert index.search("取水许可 排污许可").hits == _guides_with_text(0.0).search("取水许可 排污许可").hits
    assert index.search("开饭店要办什么证").confidence <= 0.6  # found in an FAQ, not named
    assert index.search("明天天气怎么样").hits == []


def test_a_long_guide_text_is_searched_to_its_end() -> None:
    """A question is cut at 500 characters; a guide's text is not (an answer's key sentence may come late)."""
    filler = "本事项按照有关规定办理，申请人应当如实提交材料并对其真实性负责。" * 20  # 640 characters
    entries = [
        GuideEntry("A", "一般事项甲", text=filler + "危险废物跨省转移需先取得移出地批准。"),
        GuideEntry("B", "一般事项乙", text=filler),
    ]
    index = GuideIndex(entries, SynonymTable.from_mapping({}))
    result = index.search("危险废物跨省转移要谁批准")
    assert result.best is not None and result.best.guide_id == "A"


def test_what_every_guide_says_does_not_outweigh_the_words_that_name_an_item() -> None:
    """Aspect words ("找谁审批") are in every guide's text: a text must also contain most of the question."""
    entries = [
        GuideEntry(
            "R", "占用挖掘城市道路审批", department="城管局", text="因工程建设需要挖掘城市道路的，应当申请"
        ),
        GuideEntry(
            "E",
            "高压用电报装",
            department="供电公司",
            text="找谁审批：供电公司审批。接入方案审批。网上能办吗：可以。审批找谁都可以问。管线接入",
        ),
        GuideEntry("W", "用水报装", department="水务", text="接水管，要开挖的找谁审批，审批后施工"),
        GuideEntry("N1", "占用、挖掘城市道路审批", has_guide=False),
        GuideEntry("N2", "依附于城市道路建设各种管线审批", has_guide=False),
    ]
    index = GuideIndex(entries, SynonymTable.from_mapping({}))
    result = index.search("接管子要挖开马路，找谁审批")
    assert result.best is not None and result.best.guide_id == "R", result.hits
    # the lead the words gave survives the texts (ranked by BM25 alone it fell to 0.03)
    assert result.margin >= 0.1, result


def test_a_situation_in_the_guide_finds_its_item_by_the_words() -> None:
    """适用情形 joins a guide's text: "小卖部" and "卖烟" appear in no name, only in the tobacco guide's situations."""
    from knowledge.records import GuideRecord
    from knowledge.search import guide_text

    tobacco = GuideRecord(id="T", name="烟草专卖零售许可证核发", situations=("小卖部、便利店想代卖香烟",))
    food = GuideRecord(id="F", name="食品经营许可证核发", conditions="具有与经营的食品品种相适应的场所")
    entries = [GuideEntry(r.id, r.name, text=guide_text(r)) for r in (tobacco, food)]
    result = GuideIndex(entries, SynonymTable.from_mapping({})).search("小卖部想代卖几条烟")
    assert result.best is not None and result.best.guide_id == "T"
    without = GuideRecord(id="T", name="烟草专卖零售许可证核发")
    bare = [GuideEntry(r.id, r.name, text=guide_text(r)) for r in (without, food)]
    found = GuideIndex(bare, SynonymTable.from_mapping({})).search("小卖部想代卖几条烟")
    assert result.confidence > 3 * found.confidence  # without it, only the 卖 of 专卖 matched
