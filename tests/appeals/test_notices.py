"""The outbox: each thing the enterprise must hear is queued once, with the change that caused it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from appeals.chat import AppealForm, idempotency_key, submit_appeal
from appeals.service import (
    mark_answered,
    mark_contacted,
    mark_delivered,
    pending_notices,
    rate_ticket,
    record_butler_reply,
)
from appeals.settings import AppealsSettings
from appeals.views import TicketPublic
from storage.errors import StorageUnavailable
from storage.transaction import transaction
from tests.appeals.conftest import NOW, World


def _kinds(factory: sessionmaker) -> list[tuple[str, str]]:
    with transaction(factory) as session:
        return [(n.kind, n.text) for n in pending_notices(session)]


def test_filing_queues_the_receipt_once(
    db_factory: sessionmaker,
    world: World,
    settings: AppealsSettings,
    file_ticket: Callable[..., TicketPublic],
) -> None:
    ticket = file_ticket(key="chat:u1:same")
    again = file_ticket(key="chat:u1:same")
    assert again.number == ticket.number
    with transaction(db_factory) as session:
        notices = pending_notices(session)
    assert len(notices) == 1
    notice = notices[0]
    assert notice.kind == "routed" and notice.ticket_number == ticket.number and notice.sender_id == "u1"
    assert notice.enterprise_id == world.enterprise_id and notice.urgent is False
    assert notice.text.startswith(f"您的诉求已受理，工单号 {ticket.number}") and "张三" in notice.text


def test_an_urgent_appeal_is_flagged(
    db_factory: sessionmaker, world: World, settings: AppealsSettings
) -> None:
    form = AppealForm(
        enterprise_id=world.enterprise_id,
        category="用电用水用气",
        description="厂区停电，生产线全停",
        contact_name="王经理",
        contact_phone="13900000001",
        urgency="紧急",
    )
    submit_appeal(
        db_factory,
        form,
        sender="web-1",
        appeal_id="a1",
        channel="web",
        sender_id="web-1",
        now=NOW,
        settings=settings,
    )
    with transaction(db_factory) as session:
        (notice,) = pending_notices(session)
    assert notice.urgent and notice.sender_id == "web-1"


def test_reply_answer_and_reopen_are_each_queued_once_even_when_retried(
    db_factory: sessionmaker, settings: AppealsSettings, file_ticket: Callable[..., TicketPublic]
) -> None:
    number = file_ticket().number
    later = NOW + timedelta(minutes=30)
    with transaction(db_factory) as session:
        mark_contacted(session, number, "张三", "电话联系", now=later, settings=settings)
    for _ in range(2):  # each request twice: the second is a client retry
        with transaction(db_factory) as session:
            record_butler_reply(session, number, "张三", "已在协调国土部门", now=later, settings=settings)
    for _ in range(2):
        with transaction(db_factory) as session:
            mark_answered(session, number, "张三", "规划许可已批", now=later, settings=settings)
    for _ in range(2):
        with transaction(db_factory) as session:
            rate_ticket(session, number, "不满意", "还没拿到证", "企业", now=later, settings=settings)
    kinds = _kinds(db_factory)
    assert [kind for kind, _ in kinds] == ["routed", "butler_reply", "answered", "reopened"]
    # the reply says which ticket it answers: the enterprise may have several open
    assert kinds[1][1] == f"企业管家张三就您的诉求工单 {number}（用地）答复：已在协调国土部门"
    assert kinds[2][1] == "规划许可已批"
    assert kinds[3][1].startswith(f"很抱歉没能让您满意。工单 {number} 已重新交由管家张三办理")


def test_a_failed_transaction_queues_nothing(
    db_factory: sessionmaker, settings: AppealsSettings, file_ticket: Callable[..., TicketPublic]
) -> None:
    number = file_ticket().number
    with transaction(db_factory) as session:
        mark_delivered(session, [n.id for n in pending_notices(session)])
    with pytest.raises(RuntimeError), transaction(db_factory) as session:
        record_butler_reply(session, number, "张三", "已在协调", now=NOW, settings=settings)
        raise RuntimeError("the connection dropped before the commit")
    assert _kinds(db_factory) == []


def test_delivered_notices_are_not_pending_and_paging_follows_ids(
    db_factory: sessionmaker, settings: AppealsSettings, file_ticket: Callable[..., TicketPublic]
) -> None:
    first, second, third = (file_ticket().number for _ in range(3))
    with transaction(db_factory) as session:
        notices = pending_notices(session)
        assert [n.ticket_number for n in notices] == [first, second, third]
        assert [n.ticket_number for n in pending_notices(session, after_id=notices[0].id, limit=1)] == [
            second
        ]
        assert mark_delivered(session, [notices[0].id, notices[1].id]) == 2
        assert mark_delivered(session, [notices[0].id]) == 0  # already delivered
        assert mark_delivered(session, []) == 0
    assert [number for number in (n.ticket_number for n in _pending(db_factory))] == [third]


def _pending(factory: sessionmaker) -> list:  # type: ignore[type-arg]
    with transaction(factory) as session:
        return pending_notices(session)


def test_one_idempotency_rule_for_every_caller() -> None:
    assert idempotency_key("web-1", "a1") == "web-1:a1"
    assert idempotency_key("cli", "a1") != idempotency_key("web-1", "a1")
    long = idempotency_key("x" * 200, "y" * 200)
    assert len(long) <= 128 and long == idempotency_key("x" * 200, "y" * 200)
    assert long != idempotency_key("x" * 200, "y" * 199)
    with pytest.raises(ValueError):
        idempotency_key("web-1", " ")


def test_storage_errors_read_as_chinese_sentences() -> None:
    assert "未生效" in str(StorageUnavailable())
