"""Following an appeal in the chat: only what the conversation may see."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from appeals.identity import sign_identity
from bot.actions.ticket_status import ActionTicketStatus
from tests.actions.appeal_world import (
    SECRET,
    TENGFEI,
    TENGFEI_BUTLER,
    WANXIANG,
    enterprise_id,
    file_directly,
    run,
    signed,
    texts,
    tracker,
)


async def test_status_shows_only_the_enterprises_own_tickets(world: sessionmaker) -> None:
    mine = file_directly(world, TENGFEI["code"], "test:mine")
    theirs = file_directly(world, WANXIANG["code"], "test:theirs")
    bound = {"enterprise_id": enterprise_id(world, TENGFEI["code"]), "enterprise_name": TENGFEI["name"]}

    messages, _, _ = await run(
        ActionTicketStatus(), tracker(f"查一下{mine.number}", "ticket_status", slots=bound)
    )
    assert messages[0]["text"].startswith(f"工单 {mine.number}（用地）：已受理")
    assert "当前时限" in messages[0]["text"] and TENGFEI_BUTLER[0] in messages[0]["text"]

    spaced = " ".join([theirs.number[:2], theirs.number[2:10], theirs.number[10:]]).lower()
    messages, _, _ = await run(
        ActionTicketStatus(), tracker(f"查询工单 {spaced}", "ticket_status", slots=bound)
    )
    assert texts(messages) == f"没有找到贵企业的工单 {theirs.number}，请核对工单号。"

    messages, _, _ = await run(
        ActionTicketStatus(), tracker("我的诉求怎么样了", "ticket_status", slots=bound)
    )
    assert mine.number in messages[0]["text"] and theirs.number not in messages[0]["text"]


async def test_status_for_an_unbound_conversation_asks_for_the_enterprise(world: sessionmaker) -> None:
    messages, slots, _ = await run(ActionTicketStatus(), tracker("我的诉求怎么样了", "ticket_status"))
    assert "统一社会信用代码" in texts(messages) and slots == {}

    ticket = file_directly(world, TENGFEI["code"], "test:unbound")
    messages, slots, _ = await run(
        ActionTicketStatus(), tracker(f"查询诉求 {TENGFEI['code']}", "ticket_status")
    )
    assert slots["enterprise_name"] == TENGFEI["name"]
    assert ticket.number in messages[0]["text"]


async def test_typing_a_credit_code_does_not_reveal_another_users_appeals(world: sessionmaker) -> None:
    filed = file_directly(world, TENGFEI["code"], "test:privacy")  # filed from wx-openid-appeal

    stranger = await run(
        ActionTicketStatus(),
        tracker(f"查询诉求 {TENGFEI['code']}", "ticket_status", sender_id="wx-openid-stranger"),
    )
    assert filed.number not in texts(stranger[0])
    asked = await run(
        ActionTicketStatus(),
        tracker(
            f"查询工单 {filed.number}",
            "ticket_status",
            sender_id="wx-openid-stranger",
            slots={"enterprise_id": enterprise_id(world, TENGFEI["code"])},
        ),
    )
    assert texts(asked[0]) == f"没有找到贵企业的工单 {filed.number}，请核对工单号。"

    # a colleague logged in to the mini-program as this enterprise sees it
    colleague = await run(
        ActionTicketStatus(),
        tracker(
            "我的诉求怎么样了",
            "ticket_status",
            sender_id="wx-openid-colleague",
            metadata=signed(world, TENGFEI["code"], sender="wx-openid-colleague"),
        ),
    )
    assert filed.number in texts(colleague[0])


@pytest.mark.parametrize(
    "forged",
    [
        {"credit_code": TENGFEI["code"]},
        {"enterprise_id": 1, "credit_code": TENGFEI["code"]},
        "bad-signature",
        "another-sender",
        "stale",
    ],
)
async def test_an_unverified_identity_sees_only_its_own_tickets(world: sessionmaker, forged: Any) -> None:
    filed = file_directly(world, TENGFEI["code"], "test:forged")  # filed from wx-openid-appeal
    sender = "wx-openid-forger"
    if forged == "bad-signature":
        metadata = signed(world, TENGFEI["code"], sender=sender, signature="ab" * 32)
    elif forged == "another-sender":
        metadata = signed(world, TENGFEI["code"], sender="wx-openid-appeal")
    elif forged == "stale":
        identity = sign_identity(
            SECRET, sender, enterprise_id(world, TENGFEI["code"]), int(time.time()) - 3600
        )
        metadata = {"identity": identity}
    else:
        metadata = forged
    for typed in ("我的诉求怎么样了", f"查询工单 {filed.number}", f"查询诉求 {TENGFEI['code']}"):
        messages, _, _ = await run(
            ActionTicketStatus(), tracker(typed, "ticket_status", sender_id=sender, metadata=metadata)
        )
        said = json.dumps(messages, ensure_ascii=False)
        assert filed.number not in said and TENGFEI_BUTLER[1] not in said and "用地" not in said
