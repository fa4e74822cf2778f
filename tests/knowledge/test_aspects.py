"""Which part of a guide a question asks for, read from its words."""

from __future__ import annotations

import pytest

from knowledge.answering import Context, Thresholds, resolve_aspect
from knowledge.aspects import (
    Aspect,
    asks_how_by_verb,
    asks_whether_allowed,
    asks_whether_covered,
    asks_whether_needed,
    asks_whether_online,
    asks_whether_paid,
    detect_aspect,
    last_clause,
    mend_question_words,
    question_sentence,
)
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


def aspect_of(question: str, intent: str = "nlu_fallback", confidence: float = 0.35) -> Aspect:
    return resolve_aspect(normalize(question), intent, confidence, Context(), Thresholds())


def test_a_may_we_question_naming_no_aspect_asks_for_the_conditions() -> None:
    assert aspect_of("超市离学校有点近，还能申请卖烟吗") is Aspect.conditions
    # whatever the model guesses from the words (学校 sounds like a place)
    assert aspect_of("超市离学校有点近，还能申请卖烟吗", "ask_location", 0.9) is Aspect.conditions
    # an aspect named in words still comes first
    assert aspect_of("这种能在网上申请吗") is Aspect.online


@pytest.mark.parametrize(
    ("question", "needed"),
    [
        ("仓库里新放了两个储气罐，要不要去报备一下", True),
        ("我们只是换了个法人，是不是得重新办证", True),
        ("店里加卖散装白酒，需要另外申请吗", True),
        ("这种小改造需不需要审批", True),
        ("要办什么证", False),  # which licences: the overview by its own keyword
        ("要不要交钱", False),  # whether to pay, not whether to apply
        ("个体户也要报吗", False),  # whether the rule reaches us: the conditions
        ("个体户也需要报吗", False),
        ("个体户都需要办证吗", False),
        ("是不是每年都要报吗", False),
        ("办居住证要拿户口本吗", False),  # what to bring
        ("开户需要证明吗", False),  # 证明 is a paper, not a licence
        ("是不是要法人本人签字", False),
        ("营业执照变更要不要本人去现场办", False),  # whether in person
        ("刻完章需要去派出所备案吗", True),  # the office between the verb and the procedure
        ("新来的两个人，要去社保那边登记一下吗", True),
        ("锅炉要不要去备个案", True),
        ("要去窗口办吗", False),  # in person, not at all
        ("需要到现场核验吗", False),
        ("店里加卖散装白酒，需要另外申请嘛", True),
        ("店里加卖散装白酒，需要另外申请吗~", True),
        ("店里加卖散装白酒，需要另外申请吗；谢谢", True),
    ],
)
def test_asking_whether_the_matter_must_be_done_at_all(question: str, needed: bool) -> None:
    assert asks_whether_needed(normalize(question)) is needed


def test_whether_it_must_be_done_at_all_is_the_overview_whatever_the_model_hears() -> None:
    assert aspect_of("仓库里新放了两个储气罐，要不要去报备一下", "ask_materials", 0.85) is Aspect.overview
    assert aspect_of("店门口想挂个灯箱，要不要去城管批", "ask_location", 0.95) is Aspect.overview
    assert aspect_of("店里加卖散装白酒，需要另外办手续吗", "ask_overview", 0.9) is Aspect.overview
    # a part named in words is still what is asked
    assert aspect_of("店里加卖散装白酒，需要另外申请吗，要多久", "ask_overview", 0.9) is Aspect.time_limit


def test_a_keyword_that_asks_outweighs_one_that_names_and_the_model() -> None:
    # 材料 names a thing; 交到哪 asks where it goes
    assert aspect_of("商标的材料写完了，该交到哪", "ask_materials", 1.0) is Aspect.location
    assert aspect_of("节能报告弄好了，需要提交什么", "ask_conditions", 0.9) is Aspect.materials
    # unless the model hears a channel the message names: online and by phone are what is asked about
    assert aspect_of("商标在网上怎么申请", "ask_online", 1.0) is Aspect.online
    assert aspect_of("要打哪个部门的电话问", "ask_contact", 1.0) is Aspect.contact


@pytest.mark.parametrize(
    ("question", "intent", "aspect"),
    [
        # 为什么 asks why: no system, no fee
        ("为什么系统一直提示不符合申报资格", "ask_conditions", Aspect.conditions),
        ("为什么费了这么长时间还没批", "ask_time_limit", Aspect.time_limit),
        # a question word that tells: 才开了几个月, 好几天了, 卡在哪一步, 谁可以帮
        ("公司才开了几个月，够条件吗", "ask_conditions", Aspect.conditions),
        ("营业执照丢了好几天了，该怎么补", "ask_process", Aspect.process),
        ("我的申请办到哪一步了", "ask_process", Aspect.process),
        ("谁可以帮我看看材料齐不齐", "ask_materials", Aspect.materials),
        # a place, channel or time asked about with 能, not whether we may
        ("食品经营许可证哪里能办", "ask_location", Aspect.location),
        ("支付宝能办吗", "ask_online", Aspect.online),
        ("周末能办吗", "ask_time_limit", Aspect.time_limit),
        # a sure model keeps a question the asking keyword's clause does not end
        ("商标在哪里查过了，下一步干啥", "ask_process", Aspect.process),
        # 那 meaning there
        ("我们仓库在那里放了两个储气罐，要不要报备", "ask_overview", Aspect.overview),
        # words that name items, not channels
        ("在微信上卖货需要营业执照吗", "ask_overview", Aspect.overview),
        ("社保缴费基数怎么调整", "ask_process", Aspect.process),
    ],
)
def test_a_sure_model_keeps_ordinary_sentences(question: str, intent: str, aspect: Aspect) -> None:
    assert aspect_of(question, intent, 0.95) is aspect


def test_the_sentence_that_asks_decides_whether_it_must_be_done_at_all() -> None:
    # the story's 材料 does not make the question about materials
    assert aspect_of("上个月材料都交齐了。这次扩建要不要另外报备？", "ask_overview", 0.9) is Aspect.overview


def test_na_typed_for_which_still_asks_where() -> None:
    assert mend_question_words(normalize("材料交到那")) == "材料交到哪"
    assert mend_question_words(normalize("去那里办")) == "去哪里办"
    assert mend_question_words(normalize("在那个部门办")) == "在哪个部门办"
    assert mend_question_words(normalize("城管那边说要批")) == "城管那边说要批"  # 那边 is there, not where
    assert mend_question_words(normalize("仓库在那里放了两个罐")) == "仓库在那里放了两个罐"
    assert mend_question_words(normalize("辦營業執照要拿甚麼")) == "办营业执照要拿什么"
    assert aspect_of("商标的材料写完了，该交到那", "ask_materials", 1.0) is Aspect.location


@pytest.mark.parametrize(
    ("question", "paid"),
    [
        ("辦這個資質要花錢嗎", True),
        ("给公司开户要交开户费吗", True),
        ("办这个证收钱不", True),
        ("要交电费吗", False),  # a bill, not the procedure's fee
        ("要交社保费吗", False),
        ("研发费用能加计扣除吗", False),
        ("要花多少钱", False),  # how much: the fee by its keyword, not this yes-no rule
    ],
)
def test_asking_whether_it_costs_money(question: str, paid: bool) -> None:
    assert asks_whether_paid(normalize(question)) is paid


def test_whether_it_costs_money_is_the_fee_over_the_model() -> None:
    assert aspect_of("酒店要我们有资质才肯签合同，办这个资质要花钱吗", "ask_conditions", 1.0) is Aspect.fee
    assert aspect_of("开网上招聘平台，办这个许可要交费吗", "ask_online", 0.99) is Aspect.fee
    assert aspect_of("年报今年最晚几号交", "nlu_fallback", 0.35) is Aspect.time_limit


def test_the_head_of_a_phrase_names_the_aspect() -> None:
    # 要交什么 (materials) runs into 费用: the fee is asked
    assert detect_aspect(normalize("这个审批要交什么费用吗")) is Aspect.fee
    assert detect_aspect(normalize("这个审批要交什么材料")) is Aspect.materials


def test_how_to_do_asks_for_the_steps_over_the_model() -> None:
    assert aspect_of("店里要装个三相电表，要怎么申请", "ask_materials", 0.85) is Aspect.process
    assert aspect_of("店里要装个三相电表，要怎么申请", "ask_materials", 0.99) is Aspect.process
    # 怎么/咋 before a verb of doing, when nothing names the aspect
    assert aspect_of("听说能评个专精特新，咋评啊") is Aspect.process
    assert asks_how_by_verb(normalize("怎么最快撤掉")) and not asks_how_by_verb(normalize("怎么收费"))
    # a channel named beside it is what is asked about
    assert aspect_of("商标在网上怎么申请", "ask_online", 1.0) is Aspect.online


def test_which_platform_is_online_and_which_department_is_the_place() -> None:
    assert aspect_of("项目备案在哪个平台填报", "ask_location", 0.8) is Aspect.online
    assert aspect_of("出口退税在电子税务局上能办吗", "nlu_fallback", 0.35) is Aspect.online
    assert aspect_of("能耗审查找哪个部门", "inform_guide", 0.6) is Aspect.location


@pytest.mark.parametrize(
    ("question", "covered"),
    [
        ("作坊就三个人，也要办证吗", True),
        ("个体户也得去市场监管那边备案不", True),
        ("分公司都要单独登记吗", True),
        ("也要带公章吗", False),  # what to bring
        ("要办证吗", False),  # whether at all, the overview
    ],
)
def test_asking_whether_the_rule_reaches_us_too(question: str, covered: bool) -> None:
    assert asks_whether_covered(normalize(question)) is covered


def test_whether_the_rule_reaches_us_is_the_conditions_whatever_the_model_hears() -> None:
    assert aspect_of("拆的就是个小隔断，垃圾也要去城管那边报批吗", "ask_location", 0.99) is Aspect.conditions
    assert aspect_of("我们只有一间门面，也要办手续吗", "ask_overview", 0.95) is Aspect.conditions


@pytest.mark.parametrize(
    ("question", "online"),
    [
        ("不想来回跑，可以全程网上办吗", True),
        ("能在微信上直接交申请吗", True),
        ("手机上能弄不", True),
        ("网上下的单", False),  # tells, asks nothing
        ("网上说要去窗口，是真的吗", False),  # 网上 is where they read it, the question is another
    ],
)
def test_asking_whether_it_can_be_done_online(question: str, online: bool) -> None:
    assert asks_whether_online(last_clause(normalize(question))) is online


def test_whether_it_can_be_done_online_is_the_online_answer_over_a_named_place() -> None:
    # 窗口 names a place in the same sentence; the question is whether the web will do
    assert aspect_of("最近太忙不想跑窗口，请问可以全程网上办吗", "ask_location", 0.6) is Aspect.online
    # a channel the model hears but the asking clause does not name gives way to what that clause asks
    assert aspect_of("合同要在网上签，这个章领下来要几天", "ask_online", 0.97) is Aspect.time_limit


def test_a_question_word_before_a_keyword_that_names_makes_it_ask() -> None:
    assert aspect_of("个体户执照怎么办，需要啥材料", "ask_process", 1.0) is Aspect.materials
    assert aspect_of("罚款的事想处理一下，不知道该怎么弄，有没有电话", "ask_process", 0.94) is Aspect.contact
    # 为什么 does not ask what
    assert aspect_of("为什么材料被退回来了", "ask_materials", 0.9) is Aspect.materials


def test_an_unmarked_last_sentence_with_a_question_word_is_the_one_that_asks() -> None:
    message = normalize("图纸都审完了吧？这回还要交啥材料")
    assert question_sentence(message) == "这回还要交啥材料"
    assert aspect_of("图纸都审完了吧？这回还要交啥材料", "ask_process", 1.0) is Aspect.materials


def test_which_procedure_at_all_is_the_overview_and_documents_are_the_materials() -> None:
    assert aspect_of("厂房验收完了，还得去办个什么登记", "ask_time_limit", 0.6) is Aspect.overview
    assert aspect_of("图纸审好了，还差啥证才能开工", "ask_materials", 0.9) is Aspect.overview
    assert aspect_of("去办的时候要带啥证件", "ask_materials", 0.9) is Aspect.materials


def test_on_the_spot_is_a_time_and_when_the_rule_applies_is_the_conditions() -> None:
    assert aspect_of("备案当场能办好吗", "ask_time_limit", 0.99) is Aspect.time_limit
    assert aspect_of("什么情况下要先做环评", "ask_process", 0.85) is Aspect.conditions
