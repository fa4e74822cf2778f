"""Frames as WeChat customer-service messages: merged into the quota, split safely, buttons by number."""

from __future__ import annotations

import unicodedata
from typing import Any

import aiohttp

from connectors.wechat.api import WeChatApi
from connectors.wechat.render import (
    OVERFLOW_NOTE,
    TEXT_LIMIT_BYTES,
    ButtonMemory,
    OutgoingMessage,
    frame_text,
    numbered_options,
    plan_messages,
    split_text,
    utf8_len,
)
from connectors.wechat.settings import WeChatSettings
from tests.wechat.fake_api import CUSTOM_SEND, FakeWeChat

SENTENCE = "办理营业执照变更登记，需要提交变更登记申请书、股东会决议和法定代表人签署的文件。"
CHOOSE: dict[str, Any] = {
    "from": "bot",
    "text": "您问的是下面哪一项？",
    "custom": {"kind": "choose_guide", "aspect": "materials", "candidates": []},
    "buttons": [
        {"title": "营业执照变更登记", "payload": '/choose_guide{"guide_id":"g1","aspect":"materials"}'},
        {"title": "食品经营许可证变更", "payload": '/choose_guide{"guide_id":"g2","aspect":"materials"}'},
    ],
}
RATING: dict[str, Any] = {
    "from": "bot",
    "text": "请问您对处理结果是否满意？",
    "custom": {"kind": "rating", "ticket_number": "GD20261130001"},
    "buttons": [
        {"title": "满意", "payload": '/rate_ticket{"rating_score":"满意"}'},
        {"title": "基本满意", "payload": '/rate_ticket{"rating_score":"基本满意"}'},
        {"title": "不满意", "payload": '/rate_ticket{"rating_score":"不满意"}'},
    ],
}


def _sent(messages: list[OutgoingMessage]) -> list[OutgoingMessage]:
    return [m for m in messages if not m.deferred]


# -- splitting ---------------------------------------------------------------------------------------


def test_long_chinese_text_splits_at_sentence_ends_within_the_byte_limit() -> None:
    text = SENTENCE * 60  # about 7,000 bytes
    pieces = split_text(text, 2000)
    assert len(pieces) == 4
    assert all(utf8_len(p) <= 2000 for p in pieces)
    assert all(p.endswith("。") for p in pieces)
    assert "".join(pieces) == text


def test_paragraph_and_line_breaks_are_preferred_over_sentences() -> None:
    first = SENTENCE * 10
    text = first + "\n\n" + SENTENCE * 10
    pieces = split_text(text, utf8_len(first) + 200)
    assert pieces == [first, SENTENCE * 10]


def test_text_without_any_boundary_is_cut_between_characters() -> None:
    text = "营" * 1000
    pieces = split_text(text, 100)
    assert all(utf8_len(p) <= 100 for p in pieces) and "".join(pieces) == text
    assert {len(p) for p in pieces[:-1]} == {33}


def test_emoji_with_modifiers_and_combining_marks_stay_whole() -> None:
    thumbs = "👍🏽"  # a thumb and its skin tone: never apart
    family = "👨\u200d👩\u200d👧"
    accented = unicodedata.normalize("NFD", "é")
    for unit in (thumbs, family, accented):
        text = unit * 300
        for limit in (17, 31, 64):
            pieces = split_text(text, limit)
            assert "".join(pieces) == text
            assert all(utf8_len(p) <= limit for p in pieces)
            assert all(not unicodedata.combining(p[0]) and p[0] not in "\u200d\U0001f3fd" for p in pieces)


def test_closing_quotes_stay_with_their_sentence() -> None:
    text = "管家说：“材料已经齐全。”" + "请在三个工作日内到窗口领取执照并核对信息" * 5
    (first, *_rest) = split_text(text, utf8_len("管家说：“材料已经齐全。”") + 30)
    assert first == "管家说：“材料已经齐全。”"


# -- plans -------------------------------------------------------------------------------------------


def test_several_short_replies_merge_into_one_message() -> None:
    frames = [{"from": "bot", "text": f"第{i}段：{SENTENCE}"} for i in range(7)]
    messages = plan_messages(frames, budget=5)
    assert len(messages) == 1 and not messages[0].deferred
    assert messages[0].text == "\n\n".join(f"第{i}段：{SENTENCE}" for i in range(7))
    assert messages[0].payload == {"msgtype": "text", "text": {"content": messages[0].text}}


def test_a_long_answer_fits_the_quota_by_merging_and_marks_the_rest() -> None:
    frames = [{"from": "bot", "text": SENTENCE * 12} for _ in range(9)]  # 9 replies of ~1,400 bytes
    messages = plan_messages(frames, budget=5)
    sent = _sent(messages)
    assert len(sent) == 5 and all(utf8_len(m.text) <= TEXT_LIMIT_BYTES for m in messages)
    assert sent[-1].text.endswith(OVERFLOW_NOTE)
    deferred = [m for m in messages if m.deferred]
    assert deferred and all(m.deferred for m in messages[5:])
    joined = "".join(m.text.replace("\n" + OVERFLOW_NOTE, "") for m in messages).replace("\n", "")
    assert joined == SENTENCE * 12 * 9  # nothing lost, nothing repeated


def test_everything_fits_when_it_can_and_no_note_is_added() -> None:
    frames = [{"from": "bot", "text": SENTENCE * 12} for _ in range(6)]
    messages = plan_messages(frames, budget=5)
    assert not any(m.deferred for m in messages) and len(messages) <= 5
    assert not any(OVERFLOW_NOTE in m.text for m in messages)


def test_zero_budget_defers_everything() -> None:
    messages = plan_messages([{"from": "bot", "text": "您好"}], budget=0)
    assert [m.deferred for m in messages] == [True]


def test_buttons_are_numbered_across_the_turn() -> None:
    frames = [CHOOSE, {"from": "bot", "text": "也可以评价上次的工单。"}, RATING]
    (message,) = plan_messages(frames, budget=5)
    assert message.text == (
        "您问的是下面哪一项？\n回复数字即可选择：\n1. 营业执照变更登记\n2. 食品经营许可证变更\n\n"
        "也可以评价上次的工单。\n\n"
        "请问您对处理结果是否满意？\n回复数字即可选择：\n3. 满意\n4. 基本满意\n5. 不满意"
    )
    assert [o.number for o in numbered_options(frames)] == [1, 2, 3, 4, 5]


def test_button_memory_maps_a_number_back_to_its_payload() -> None:
    now = [0.0]
    memory = ButtonMemory(ttl=600, clock=lambda: now[0])
    memory.remember("o-1", [CHOOSE, RATING])
    assert memory.resolve("o-1", "2") == '/choose_guide{"guide_id":"g2","aspect":"materials"}'
    assert memory.resolve("o-1", " ４ ") == '/rate_ticket{"rating_score":"基本满意"}'
    assert memory.resolve("o-1", "第1个") == '/choose_guide{"guide_id":"g1","aspect":"materials"}'
    assert memory.resolve("o-1", "不满意") == '/rate_ticket{"rating_score":"不满意"}'
    assert memory.resolve("o-1", "6") is None
    assert memory.resolve("o-1", "营业执照怎么变更") is None
    assert memory.resolve("o-2", "1") is None  # another user's options are not theirs
    memory.remember("o-1", [{"from": "bot", "text": "好的。"}])
    assert memory.resolve("o-1", "1") is None  # a turn without buttons clears them
    memory.remember("o-1", [RATING])
    now[0] = 601
    assert memory.resolve("o-1", "1") is None  # too old


def test_button_memory_is_bounded() -> None:
    memory = ButtonMemory(max_users=3)
    for i in range(5):
        memory.remember(f"o-{i}", [RATING])
    assert memory.resolve("o-0", "1") is None and memory.resolve("o-4", "1") is not None


def test_a_guide_with_an_online_address_gets_a_link_message_when_the_quota_allows() -> None:
    guide = {
        "from": "bot",
        "text": "营业执照变更登记需要：1. 申请书；2. 股东会决议。",
        "custom": {
            "kind": "guide",
            "guide_name": "营业执照变更登记",
            "online_url": "https://zwfw.example.gov.cn/g1",
        },
    }
    text, link = plan_messages([guide], budget=5)
    assert text.text == guide["text"]
    assert link.payload == {
        "msgtype": "link",
        "link": {
            "title": "营业执照变更登记",
            "description": "点击打开在线办理入口",
            "url": "https://zwfw.example.gov.cn/g1",
            "thumb_url": "",
        },
    }
    (only,) = plan_messages([guide], budget=1)
    assert only.text.endswith("办理入口：https://zwfw.example.gov.cn/g1")
    no_url = {**guide, "custom": {"kind": "guide", "guide_name": "x", "online_url": "javascript:alert(1)"}}
    assert [m.msgtype for m in plan_messages([no_url], budget=5)] == ["text"]


def test_ticket_card_lines_add_only_what_the_text_lacks() -> None:
    card = {
        "kind": "ticket",
        "number": "GD20261130001",
        "status_label": "已受理",
        "category": "用电报装",
        "butler_name": "何杰",
        "butler_phone": "0826-2345678",
        "current_deadline": {"label": "答复时限", "due": "2026-12-01T17:30:00+08:00", "light": "yellow"},
    }
    text = frame_text({"from": "bot", "text": "您的诉求已提交。", "custom": card})
    assert text == (
        "您的诉求已提交。\n工单 GD20261130001（用电报装）：已受理\n负责管家：何杰 0826-2345678\n"
        "当前时限：答复时限，2026年12月1日（周二）17:30前（即将超时）"
    )
    again = frame_text(
        {"from": "bot", "text": "工单 GD20261130001 已受理，负责管家何杰。当前时限：…", "custom": card}
    )
    assert again == "工单 GD20261130001 已受理，负责管家何杰。当前时限：…"


def test_who_speaks_and_what_is_skipped() -> None:
    frames: list[dict[str, Any]] = [
        {"from": "enterprise", "text": "我要转人工"},
        {"from": "note", "text": "内部备注：企业较急"},
        {"from": "butler", "author": "何杰", "text": "您好，我来处理。"},
        {"from": "system", "text": "管家何杰已接入。"},
        {"from": "bot", "text": "这个问题我暂时答不上来。", "custom": {"kind": "no_answer"}},
    ]
    (message,) = plan_messages(frames, budget=5)
    assert message.text == (
        "何杰（管家）：您好，我来处理。\n\n管家何杰已接入。\n\n这个问题我暂时答不上来。\n如需人工服务，请回复“转人工”。"
    )
    assert plan_messages([], budget=5) == []


async def test_a_planned_long_answer_is_accepted_by_the_fake_within_its_size_limit() -> None:
    fake = FakeWeChat(appid="wx-a", secret="s")
    frames = [{"from": "bot", "text": SENTENCE * 40}, CHOOSE]
    async with fake.serve() as base, aiohttp.ClientSession() as http:
        api = WeChatApi(http, WeChatSettings(appid="wx-a", appsecret="s", api_base=base))
        for message in _sent(plan_messages(frames, budget=5)):
            await api.send_custom("o-1", message)
    assert len(fake.requests_to(CUSTOM_SEND)) == 3
    assert len(fake.sent_texts("o-1")) == 3  # every one accepted (none over 2,048 bytes)
    assert fake.sent_texts("o-1")[-1].endswith("2. 食品经营许可证变更")
