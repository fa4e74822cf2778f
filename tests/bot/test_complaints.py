"""The complaint detector on sentences written for this test (none from bench/)."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.training_data.message import Message

from bot.components.complaint_router import ROUTE_KEY, route
from bot.components.complaints import is_complaint, read_signals, routed_intent

COMPLAINTS = [
    "我们的环评报告交了四十多天了还是没有批复，新生产线一直不能投产，请帮忙催一催。",
    "园区这周已经第三次停电了，每次停好几个小时，冷库里的货坏了不少，损失谁来承担？",
    "去年给街道做的绿化工程，尾款二十多万到现在还没结，我们工人工资都快发不出来了。",
    "市场监管、消防、环保轮流来检查，一个月来了六次，每次都要停下来配合，实在影响生产。",
    "申请的技改补贴公示都过去半年了，钱一直没到账，打电话问也没人给个准话。",
    "银行把我们的续贷拒了，说是行业受限，可我们订单排到明年，资金链快断了，能不能帮忙协调一下？",
    "厂区自来水断了两天，锅炉开不了，几十个工人在车间干等着，求求你们管一管。",
    "营业执照变更提交了三次都被退回，每次说法不一样，窗口互相推，到底找谁？",
    "我们是做物流的，货车通行证申请了两个月没下文，车停在场里天天赔钱。",
    "开发商欠我们装修款八十万，拖了快一年了，起诉也没用，希望政府出面协调。",
    "天然气公司说管道改造，停气一个星期了还没恢复，食堂做不了饭，员工意见很大。",
    "城管一周来罚了两次款，说我们门头招牌不合规，可这是去年按他们要求换的，给个说法吧。",
    "我們廠的用電增容申請遞交三個月了還沒批，新設備一直閒置，損失很大。",
    "稳岗返还的钱说好上个季度发，到现在也没发，我们问了好几次都说在走流程。",
    "施工许可卡在审图环节快两个月了，工期拖不起，麻烦帮我们问问什么情况。",
    "公司招了一批残疾人员工，申请的超比例奖励一直不兑现，材料交了也没人回复。",
    "附近的化工厂晚上偷偷排废气，味道刺鼻，我们车间工人头晕，希望有关部门查一查。",
    "房东不退押金，说好搬走一个月内退，拖到现在也不接电话。",
]
MIXED = [
    "食品经营许可证到底要什么材料？跑了三趟窗口每次都说缺东西，太耽误事了。",
    "排污许可证怎么申请？我们交了两次都被退回，生产线一直停着。",
    "取水许可在哪里办？打了好几次电话都没人接，厂里快停产了。",
]
QUESTIONS = [
    "食品经营许可证要什么材料",
    "我们是一家做餐饮的小公司，刚在开发区租了门面，想问一下食品经营许可证要准备哪些材料？",
    "公司成立两年了，今年想申报高新技术企业，需要满足什么条件？",
    "新招了十几个工人，社保登记怎么办理？是在网上办还是要去窗口？",
    "我们厂准备扩建一条生产线，环评是不是要重新做？大概多久能批下来？",
    "营业执照丢了怎么办",
    "想在小区门口开个超市，除了营业执照还需要办什么证？",
    "公司要从老城区搬到工业园，税务登记需要变更吗？去哪里办？",
    "我们是外地企业，想在本地设分公司，流程是怎样的，收费吗？",
    "去年办的排污许可快到期了，延续的话要提前多久申请？",
    "请问公章刻制备案可以在手机上办吗",
    "用电报装的咨询电话是多少",
    "我想问问建设工程消防验收一般要几个工作日？",
    "我们公司有三十个员工，想申请稳岗返还，需要交哪些材料？",
    "厂里新买了两台叉车，特种设备使用登记在哪个窗口办？",
    "我们公司的卫生许可证快到期了，一直没空去办，延续要怎么弄？",
    "夜间施工噪音许可怎么办理",
]
TICKET_QUESTIONS = [
    "上周反映的停电问题处理到哪一步了，怎么还没人联系我们？",
    "我的诉求提交三天了还没人管，帮我查一下进度",
]


@pytest.mark.parametrize("text", COMPLAINTS)
def test_a_grievance_about_a_stuck_or_failed_matter_is_a_complaint(text: str) -> None:
    signals = read_signals(text)
    assert signals.complaint, signals
    assert not signals.mixed


@pytest.mark.parametrize("text", MIXED)
def test_a_guide_question_with_a_grievance_is_both(text: str) -> None:
    signals = read_signals(text)
    assert signals.complaint and signals.asks_guide and signals.mixed, signals


@pytest.mark.parametrize("text", QUESTIONS)
def test_questions_even_long_ones_with_context_are_not_complaints(text: str) -> None:
    assert not is_complaint(text), read_signals(text)


@pytest.mark.parametrize("text", TICKET_QUESTIONS)
def test_a_question_about_a_filed_ticket_names_it(text: str) -> None:
    assert read_signals(text).names_ticket


def test_one_kind_of_grievance_alone_is_not_enough() -> None:
    assert not is_complaint("公司贷款被银行拒了，听说有贴息政策")
    assert not is_complaint("停电了")  # too short to judge: the classifier decides


def test_traditional_characters_and_full_width_punctuation_are_read() -> None:
    assert is_complaint("補貼申請了半年還沒到賬，工人工資都發不出來了！")


# -- which intent the message carries ------------------------------------------------------------

GUIDE_RANKING = ["ask_materials", "ask_process", "file_appeal"]


@pytest.mark.parametrize(
    "guessed", ["ask_time_limit", "ask_overview", "ticket_status", "nlu_fallback", "inform"]
)
def test_a_complaint_files_an_appeal_whatever_the_classifier_guessed(guessed: str) -> None:
    assert routed_intent(COMPLAINTS[0], guessed, [guessed]) == "file_appeal"
    assert routed_intent(COMPLAINTS[0], "file_appeal", ["file_appeal"]) is None


def test_a_status_question_about_a_filed_ticket_stays_one() -> None:
    for text in TICKET_QUESTIONS:
        assert routed_intent(text, "ticket_status", ["ticket_status"]) is None


def test_ratings_corrections_and_buttons_keep_their_intent() -> None:
    assert routed_intent("不满意，补贴到现在还没发，工人工资都快发不出来了", "rate_ticket", []) is None
    assert routed_intent("电话填错了，工程款的事拖了半年还没结", "correct_field", []) is None
    assert routed_intent("/file_appeal", "file_appeal", []) is None


def test_a_mixed_message_read_as_an_appeal_is_answered_as_a_guide_question() -> None:
    assert routed_intent(MIXED[0], "file_appeal", GUIDE_RANKING) == "ask_materials"
    assert routed_intent(MIXED[0], "ask_materials", GUIDE_RANKING) is None
    # saying outright that it is a complaint files it
    explicit = "我要投诉！" + MIXED[0]
    assert routed_intent(explicit, "file_appeal", GUIDE_RANKING) is None


def test_a_long_question_read_as_an_appeal_is_answered() -> None:
    question = "我们公司有三十个员工，想申请稳岗补贴，需要交哪些材料？"
    assert routed_intent(question, "file_appeal", GUIDE_RANKING) == "ask_materials"
    assert routed_intent(question, "file_appeal", ["file_appeal"]) == "ask_overview"


def test_a_long_question_without_any_grievance_read_as_an_appeal_is_answered() -> None:
    question = "听说今年有以工代训的补贴，我们企业刚招了一批学徒，这个钱是自动发还是要自己去申请？"
    assert routed_intent(question, "file_appeal", ["file_appeal", "ask_conditions"]) == "ask_conditions"
    # a short plea stays with the classifier
    assert routed_intent("招不到工人，政府能帮忙吗", "file_appeal", ["file_appeal"]) is None


def test_the_nlu_component_relabels_and_keeps_the_ranking() -> None:
    message = Message(
        data={
            "text": COMPLAINTS[1],
            "intent": {"name": "ask_location", "confidence": 0.62},
            "intent_ranking": [
                {"name": "ask_location", "confidence": 0.62},
                {"name": "file_appeal", "confidence": 0.2},
            ],
        }
    )
    route(message)
    assert message.get("intent") == {"name": "file_appeal", "confidence": 0.9}
    assert [entry["name"] for entry in message.get("intent_ranking")] == ["file_appeal", "ask_location"]
    assert message.get(ROUTE_KEY) == {"from": "ask_location", "to": "file_appeal"}
    assert ROUTE_KEY in message.as_dict(only_output_properties=True)

    question = Message(
        data={
            "text": QUESTIONS[1],
            "intent": {"name": "ask_materials", "confidence": 0.99},
            "intent_ranking": [{"name": "ask_materials", "confidence": 0.99}],
        }
    )
    route(question)
    assert question.get("intent")["name"] == "ask_materials" and question.get(ROUTE_KEY) is None


def test_a_real_question_confidently_read_as_an_aspect_is_answered_with_the_offer() -> None:
    question = "我们的排污许可变更交上去两个月了还没批，工期拖不起，一般审批时限是几天？"
    signals = read_signals(question)
    assert signals.complaint and signals.asks
    assert routed_intent(question, "ask_time_limit", ["ask_time_limit"], 0.97) is None
    assert routed_intent(question, "ask_time_limit", ["ask_time_limit"], 0.5) == "file_appeal"
    # a rhetorical question is not a real one: the complaint files an appeal
    rhetorical = "施工许可交上去一个多月了还没批，到底什么时候才能批下来？"
    assert routed_intent(rhetorical, "ask_time_limit", ["ask_time_limit"], 0.97) == "file_appeal"
