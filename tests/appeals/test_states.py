"""The 2110 state machine: every allowed and every refused move, on paper and in the database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from appeals import lifecycle, service
from appeals.errors import ConcurrentUpdate, StorageUnavailable
from appeals.models import Rating, Ticket, TicketEvent
from appeals.settings import AppealsSettings
from appeals.states import ACTIONS, STATUS_LABELS, STATUSES, TransitionRefused, next_status
from appeals.views import TicketPublic
from appeals.workcalendar import DEFAULT_TZ
from storage.transaction import transaction

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=DEFAULT_TZ)

# The loop as the issue describes it, written out independently of appeals.states.
EXPECTED: dict[tuple[str, str], str] = {
    ("contact", "submitted"): "contacted",
    ("reply", "submitted"): "in_progress",
    ("reply", "contacted"): "in_progress",
    ("reply", "in_progress"): "in_progress",
    ("answer", "contacted"): "answered",
    ("answer", "in_progress"): "answered",
    ("rate", "answered"): "closed",
    ("reopen", "answered"): "in_progress",
    ("close", "submitted"): "closed",
    ("close", "contacted"): "closed",
    ("close", "in_progress"): "closed",
    ("close", "answered"): "closed",
    ("assign", "submitted"): "submitted",
    ("assign", "contacted"): "contacted",
    ("assign", "in_progress"): "in_progress",
    ("assign", "answered"): "answered",
    ("escalate", "submitted"): "submitted",
    ("escalate", "contacted"): "contacted",
    ("escalate", "in_progress"): "in_progress",
    **{("note", status): status for status in STATUSES},
}
ALLOWED = sorted(EXPECTED)
REFUSED = sorted((a, s) for a in ACTIONS for s in STATUSES if (a, s) not in EXPECTED)


def test_the_table_covers_every_action_and_status() -> None:
    assert len(ALLOWED) + len(REFUSED) == len(ACTIONS) * len(STATUSES) == 45


@pytest.mark.parametrize(("action", "status"), ALLOWED)
def test_allowed_move_on_paper(action: str, status: str) -> None:
    assert next_status(action, status) == EXPECTED[action, status]


@pytest.mark.parametrize(("action", "status"), REFUSED)
def test_refused_move_on_paper_says_why_in_chinese(action: str, status: str) -> None:
    with pytest.raises(TransitionRefused) as caught:
        next_status(action, status, "GD202503030001")
    message = str(caught.value)
    assert "GD202503030001" in message
    assert f"「{STATUS_LABELS[status]}」" in message
    assert "不能" in message


# -- the same table on stored tickets -----------------------------------------------------


def _reach(factory: sessionmaker, number: str, status: str, settings: AppealsSettings) -> None:
    """Drive a fresh ticket to ``status`` with the public API."""
    steps: dict[str, list[Callable[..., object]]] = {
        "submitted": [],
        "contacted": [
            lambda s: service.mark_contacted(s, number, "管家:张三", "已电话联系", now=NOW, settings=settings)
        ],
        "in_progress": [
            lambda s: service.record_butler_reply(
                s, number, "管家:张三", "已协调规划局", now=NOW, settings=settings
            )
        ],
        "answered": [
            lambda s: service.record_butler_reply(
                s, number, "管家:张三", "已协调规划局", now=NOW, settings=settings
            ),
            lambda s: service.mark_answered(s, number, "管家:张三", "许可已办结", now=NOW, settings=settings),
        ],
        "closed": [
            lambda s: service.close_ticket(s, number, "管理员", "企业撤回", now=NOW, settings=settings)
        ],
    }
    for step in steps[status]:
        with transaction(factory) as session:
            step(session)


def _do(factory: sessionmaker, number: str, action: str, settings: AppealsSettings) -> None:
    later = NOW + timedelta(hours=1)
    with transaction(factory) as session:
        if action == "contact":
            service.mark_contacted(session, number, "管家:张三", "上门走访", now=later, settings=settings)
        elif action == "reply":
            service.record_butler_reply(
                session, number, "管家:张三", "正在协调", now=later, settings=settings
            )
        elif action == "answer":
            service.mark_answered(session, number, "管家:张三", "问题已解决", now=later, settings=settings)
        elif action == "rate":
            service.rate_ticket(session, number, "满意", "", "企业:u1", now=later, settings=settings)
        elif action == "reopen":
            service.rate_ticket(
                session, number, "不满意", "还没解决", "企业:u1", now=later, settings=settings
            )
        elif action == "close":
            service.close_ticket(session, number, "管理员", "重复提交", now=later, settings=settings)
        elif action == "assign":
            service.assign_ticket(
                session, number, "13800000009", "管理员", "张三休假", now=later, settings=settings
            )
        elif action == "escalate":
            ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
            lifecycle.escalate_ticket(session, ticket, 1, "测试升级", later.replace(tzinfo=None))
        elif action == "note":
            service.add_note(session, number, "管家:张三", "已约企业周三面谈", now=later, settings=settings)
        else:
            raise AssertionError(action)


def _snapshot(factory: sessionmaker, number: str) -> tuple[object, ...]:
    with factory() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        events = session.execute(select(func.count()).where(TicketEvent.ticket_id == ticket.id)).scalar_one()
        ratings = session.execute(select(func.count()).where(Rating.ticket_id == ticket.id)).scalar_one()
        return (ticket.status, ticket.version, ticket.butler_id, ticket.escalation_level, events, ratings)


@pytest.fixture
def second_butler(build: Callable[..., Any]) -> None:
    with build() as reg:
        reg.butler("李四", "13800000009")


@pytest.mark.parametrize(("action", "status"), ALLOWED)
def test_allowed_move_stores_status_and_one_event(
    action: str,
    status: str,
    db_factory: sessionmaker,
    file_ticket: Callable[..., TicketPublic],
    second_butler: None,
    settings: AppealsSettings,
) -> None:
    number = file_ticket().number
    _reach(db_factory, number, status, settings)
    before = _snapshot(db_factory, number)
    _do(db_factory, number, action, settings)
    with db_factory() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        events = list(
            session.execute(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
            ).scalars()
        )
    assert ticket.status == EXPECTED[action, status]
    new = events[before[4] :]  # type: ignore[misc]
    assert [(e.kind, e.from_status, e.to_status) for e in new] == [(action, status, EXPECTED[action, status])]


@pytest.mark.parametrize(("action", "status"), REFUSED)
def test_refused_move_changes_nothing(
    action: str,
    status: str,
    db_factory: sessionmaker,
    file_ticket: Callable[..., TicketPublic],
    second_butler: None,
    settings: AppealsSettings,
) -> None:
    number = file_ticket().number
    _reach(db_factory, number, status, settings)
    before = _snapshot(db_factory, number)
    with pytest.raises(TransitionRefused, match="不能"):
        _do(db_factory, number, action, settings)
    assert _snapshot(db_factory, number) == before


def test_a_crash_mid_transaction_leaves_the_ticket_as_it_was(
    db_factory: sessionmaker,
    file_ticket: Callable[..., TicketPublic],
    settings: AppealsSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number = file_ticket().number
    before = _snapshot(db_factory, number)

    def crash(**_kwargs: object) -> TicketEvent:  # the status is already changed when this runs
        raise RuntimeError("进程在写入历史前崩溃")

    monkeypatch.setattr(lifecycle, "TicketEvent", crash)
    with pytest.raises(RuntimeError), transaction(db_factory) as session:
        service.mark_contacted(session, number, "管家:张三", "", now=NOW, settings=settings)
    assert _snapshot(db_factory, number) == before
    with db_factory() as session:
        assert (
            session.execute(select(Ticket.contacted_at).where(Ticket.number == number)).scalar_one() is None
        )


def test_a_database_error_gives_a_chinese_message_and_changes_nothing(
    db_factory: sessionmaker,
    file_ticket: Callable[..., TicketPublic],
    settings: AppealsSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number = file_ticket().number
    before = _snapshot(db_factory, number)
    original = lifecycle.TicketEvent

    def invalid_event(**kwargs: object) -> TicketEvent:
        kwargs["kind"] = None  # violates NOT NULL when flushed
        return original(**kwargs)

    monkeypatch.setattr(lifecycle, "TicketEvent", invalid_event)
    with (
        pytest.raises(StorageUnavailable, match="本次操作未生效"),
        transaction(db_factory) as session,
    ):
        service.mark_answered(session, number, "管家:张三", "已解决", now=NOW, settings=settings)
    assert _snapshot(db_factory, number) == before


def test_two_butlers_updating_at_once_do_not_overwrite_each_other(
    db_factory: sessionmaker, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    number = file_ticket().number
    with pytest.raises(ConcurrentUpdate, match="其他人更新"), transaction(db_factory) as slow:
        # the slow console read the ticket before the other butler's change and still holds it
        _held = slow.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        with transaction(db_factory) as fast:
            service.mark_contacted(fast, number, "管家:张三", "已联系", now=NOW, settings=settings)
        service.close_ticket(slow, number, "管理员", "误操作", now=NOW, settings=settings)
    assert _snapshot(db_factory, number)[0] == "contacted"
