"""Overdue deadlines are escalated once each, recorded, and the periodic task keeps going."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from appeals import service, sweeper
from appeals.models import TicketEvent
from appeals.settings import AppealsSettings
from appeals.sweeper import run_sweeper, sweep_once
from appeals.views import TicketPublic
from appeals.workcalendar import DEFAULT_TZ
from storage.transaction import transaction

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=DEFAULT_TZ)  # contact due 12:00, answer Tue 17:30, resolve 17 Mar


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=DEFAULT_TZ)  # type: ignore[misc]


def _show(factory: sessionmaker, number: str, settings: AppealsSettings) -> TicketPublic:
    with factory() as session:
        ticket = service.get_ticket(session, number, settings=settings)
    assert ticket is not None
    return ticket


def test_each_overdue_deadline_is_escalated_once(
    db_factory: sessionmaker, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    number = file_ticket().number
    assert sweep_once(db_factory, settings, now=_at(2025, 3, 3, 11, 0)).escalations == []

    report = sweep_once(db_factory, settings, now=_at(2025, 3, 3, 12, 30))
    assert [(e.number, e.deadline, e.level) for e in report.escalations] == [(number, "contact", 1)]
    assert sweep_once(db_factory, settings, now=_at(2025, 3, 3, 12, 45)).escalations == []
    ticket = _show(db_factory, number, settings)
    assert ticket.escalation_level == 1 and ticket.status == "submitted"
    notes = [e.note for e in ticket.events if e.kind == "escalate"]
    assert notes == ["2个工作小时内联系企业已超时（时限2025年3月3日（周一）12:00），升级至市工信局负责人林磊"]

    report = sweep_once(db_factory, settings, now=_at(2025, 3, 18, 9, 0))
    assert [(e.deadline, e.level) for e in report.escalations] == [("answer", 1), ("resolve", 2)]
    ticket = _show(db_factory, number, settings)
    assert ticket.escalation_label == "已升级至营商环境督办"
    assert [d.light for d in ticket.deadlines] == ["red", "red", "red"]


def test_met_deadlines_and_answered_tickets_are_left_alone(
    db_factory: sessionmaker, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    contacted = file_ticket().number
    answered = file_ticket().number
    with transaction(db_factory) as session:
        service.mark_contacted(session, contacted, "管家:张三", "电话联系", now=NOW, settings=settings)
        service.record_butler_reply(session, answered, "管家:张三", "初步意见", now=NOW, settings=settings)
        service.mark_answered(session, answered, "管家:张三", "已解决", now=NOW, settings=settings)
    report = sweep_once(db_factory, settings, now=_at(2025, 3, 4, 9, 0))
    assert report.escalations == []
    report = sweep_once(db_factory, settings, now=_at(2025, 3, 5, 9, 0))
    assert [(e.number, e.deadline) for e in report.escalations] == [(contacted, "answer")]


def test_a_reopened_ticket_is_watched_again_with_its_new_deadlines(
    db_factory: sessionmaker, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    number = file_ticket().number
    sweep_once(db_factory, settings, now=_at(2025, 3, 3, 12, 30))  # contact escalated in round 1
    with transaction(db_factory) as session:
        service.record_butler_reply(
            session, number, "管家:张三", "处理中", now=_at(2025, 3, 3, 14, 0), settings=settings
        )
        service.mark_answered(
            session, number, "管家:张三", "已办结", now=_at(2025, 3, 3, 15, 0), settings=settings
        )
        service.rate_ticket(
            session, number, "不满意", "", "企业:u1", now=_at(2025, 3, 4, 9, 0), settings=settings
        )
    report = sweep_once(db_factory, settings, now=_at(2025, 3, 4, 11, 30))  # new contact due 11:00
    assert [(e.deadline, e.level) for e in report.escalations] == [("contact", 1)]


async def test_the_periodic_sweeper_escalates_and_survives_a_failed_sweep(
    session_factory: sessionmaker,
    build_sqlite: Callable[[], str],
    settings: AppealsSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    number = build_sqlite()
    real_sweep = sweeper.sweep
    calls = {"n": 0}

    def flaky(*args: Any, **kwargs: Any) -> sweeper.SweepReport:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("数据库暂时不可用")
        return real_sweep(*args, **kwargs)

    monkeypatch.setattr(sweeper, "sweep", flaky)
    task = asyncio.create_task(run_sweeper(session_factory, settings, 0.01))
    try:
        for _ in range(500):
            await asyncio.sleep(0.01)
            with session_factory() as session:
                kinds = session.execute(select(TicketEvent.kind)).scalars().all()
            if "escalate" in kinds:
                break
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert calls["n"] >= 2
    with session_factory() as session:
        ticket = service.get_ticket(session, number, settings=settings)
    assert ticket is not None and ticket.escalation_level == 2  # filed in 2025: every deadline is long past


@pytest.fixture
def build_sqlite(
    session_factory: sessionmaker, build_plain: Callable[..., Any], settings: AppealsSettings
) -> Callable[[], str]:
    """A ticket on the plain SQLite database, filed in March 2025."""

    def make() -> str:
        with build_plain() as reg:
            butler = reg.butler("张三", "13800000001", reg.department("市工信局", head="林磊"))
            ent = reg.enterprise("示例市宏达机械制造有限公司", butler=butler).id
        return service.create_ticket(
            session_factory,
            service.TicketCreate(
                idempotency_key="sweeper",
                enterprise_id=ent,
                category="用地",
                description="用地",
                contact_name="王",
                contact_phone="13900000001",
            ),
            now=NOW - timedelta(days=1),
            settings=settings,
        ).number

    return make
