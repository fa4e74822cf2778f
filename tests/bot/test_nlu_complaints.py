"""The trained model on messages written for this test: complaints file appeals, questions do not.

None of these sentences is in the training data or in bench/; they were written
after the training examples, to see whether the model and the complaint router
generalise. The figures in docs/nlu-pipeline.md ("Intents and complaints") come
from this file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from rasa.core.agent import Agent

from bot.components import complaints
from bot.components.complaint_router import ROUTE_KEY
from tests.conftest import MODEL

COMPLAINTS = [
    "我们申请的安全生产许可证延期，材料齐全却被要求再补一份不存在的证明，已经耽搁了一个月。",
    "去年底区政府答应给的厂房租金补贴，到现在半年多了一分没见着，问谁都说不清楚。",
    "村里修路把我们厂的供水管挖断了，施工队说不归他们管，厂里已经三天没水用了。",
    "税务局一年内查了我们三次账，每次都查同样的东西，财务人员什么活都干不了。",
    "银行说我们的征信有问题不给贷款，可那笔逾期是银行自己系统出错造成的，申诉两个月了没结果。",
    "总包单位拖欠我们分包的钢结构款一百二十万，说甲方没给钱，我们找甲方，甲方又说已经付了。",
    "高压线路改造把我们园区的电停了整整一周，事先没有任何通知，冷链仓库里的药品全部报废。",
    "环保部门要求我们限期搬迁，可当初入园是招商引资请来的，搬迁补偿的事没人跟我们谈。",
    "公司报名参加的专精特新认定，材料审核通过了，结果公布时却没有我们，问了也不给解释。",
    "我们的医疗器械注册证变更，窗口受理后系统里一直查不到进度，打电话永远占线。",
    "消防部门说我们仓库的防火间距不够要整改，可这是按当年审批的图纸建的，整改费用要几十万。",
    "新招的二十个工人社保一直加不进去，系统总提示单位信息异常，社保局让我们找税务，税务让我们找社保。",
    "开发区承诺的道路和管网配套三年了还没建，我们的货车每天只能绕远路，运输成本高了一截。",
    "供气公司突然涨价还要求预交半年气费，不交就停气，我们小厂根本拿不出这么多钱。",
    "市场监管局因为一个标签上的错字罚了我们两万，我们觉得处罚太重，申请复议也没人受理。",
]
QUESTIONS = [
    "我们准备在开发区买地建厂，土地出让的流程大概是怎样的？",
    "我们是新注册的建筑公司，想办施工总承包三级资质，需要几个建造师？",
    "公司打算给员工缴纳住房公积金，第一次开户需要准备什么？",
    "我们厂的排污许可证明年到期，到期前多久要提交延续申请？",
    "想咨询一下，小微企业贷款贴息怎么申请，去哪个部门？",
    "我们店想卖酒，除了食品经营许可还需要办酒类经营许可吗？",
    "公司有几台叉车和一台行车，特种设备操作人员的证怎么考？",
    "我们是外贸企业，今年第一次做出口退税备案，要在什么系统上操作？",
    "药店换了负责人，药品经营许可证需要变更吗？要多久能办好？",
    "我们要在厂区新建一个危化品仓库，安全评价是自己找机构做吗？",
    "听说政府对新招大学生有社保补贴，我们公司符合条件吗，怎么申请？",
    "公司名称想改一下，营业执照、公章、银行账户这些都要变更，有没有一次办完的办法？",
    "我们餐馆打算搬到隔壁街，食品经营许可证是变更还是重新办？",
    "企业年报漏报了会怎么样？现在补报在哪里操作？",
    "工地夜间施工需要办什么许可，在哪个部门申请？",
]
MIXED = [
    "取水许可在哪里办？打了好几次电话都没人接，厂里快停产了。",
    "排污许可证怎么申请？我们交了两次都被退回，生产线一直停着。",
]
HOW = [
    "公司银行基本户怎么办",
    "餐饮店的油烟排放许可怎么弄",
    "民办非企业单位登记如何办理",
    "出口许可证怎么申请",
    "危险废物转移怎么办",
]
GUIDE_INTENTS = {*complaints.GUIDE_INTENTS, "nlu_fallback"}  # a fallback is answered from the guides too


@pytest.fixture(scope="module")
def parse() -> Iterator[Any]:
    assert MODEL.exists(), "train the model first (make train)"
    loop = asyncio.new_event_loop()
    agent = Agent.load(str(MODEL))

    def parse_text(text: str) -> dict[str, Any]:
        return loop.run_until_complete(agent.parse_message(text))

    yield parse_text
    loop.close()


def test_complaints_start_an_appeal(parse: Any) -> None:
    intents = [parse(text)["intent"]["name"] for text in COMPLAINTS]
    assert intents.count("file_appeal") >= 14, list(zip(intents, COMPLAINTS, strict=True))


def test_long_questions_with_context_do_not(parse: Any) -> None:
    intents = [parse(text)["intent"]["name"] for text in QUESTIONS]
    assert all(intent in GUIDE_INTENTS for intent in intents), list(zip(intents, QUESTIONS, strict=True))


def test_a_question_that_complains_is_answered_as_a_question(parse: Any) -> None:
    for text in MIXED:
        parsed = parse(text)
        assert parsed["intent"]["name"] in GUIDE_INTENTS, (parsed["intent"], parsed.get(ROUTE_KEY))


def test_how_to_do_x_asks_for_the_steps(parse: Any) -> None:
    assert [parse(text)["intent"]["name"] for text in HOW] == ["ask_process"] * len(HOW)
