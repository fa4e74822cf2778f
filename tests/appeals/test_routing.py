"""Routing: each rule, in order, and the reason recorded on the ticket."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from appeals import service
from appeals.models import Enterprise, TicketEvent
from appeals.routing import route
from appeals.settings import AppealsSettings
from appeals.views import RoutingDecision, TicketCreate, TicketPublic
from appeals.workcalendar import DEFAULT_TZ
from storage.transaction import transaction

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=DEFAULT_TZ)
_keys = itertools.count(1)


def _file(factory: sessionmaker, enterprise_id: int, settings: AppealsSettings) -> TicketPublic:
    return service.create_ticket(
        factory,
        TicketCreate(
            idempotency_key=f"routing-{next(_keys)}",
            enterprise_id=enterprise_id,
            category="其他",
            description="咨询",
            contact_name="王经理",
            contact_phone="13900000001",
        ),
        now=NOW,
        settings=settings,
    )


def _decide(factory: sessionmaker, enterprise_id: int) -> RoutingDecision:
    with factory() as session:
        return route(session, session.get(Enterprise, enterprise_id))


def _route_event(factory: sessionmaker, number: str) -> str:
    with factory() as session:
        return session.execute(
            select(TicketEvent.note)
            .join(TicketEvent.ticket)
            .where(TicketEvent.kind == "route", TicketEvent.ticket.has(number=number))
        ).scalar_one()


def test_assigned_butler_takes_the_ticket(
    db_factory: sessionmaker, build: Callable[..., Any], settings: AppealsSettings
) -> None:
    with build() as reg:
        dep = reg.department("市工信局")
        zhang = reg.butler("张三", "13800000001", dep)
        backup = reg.butler("李四", "13800000002", dep)
        ent = reg.enterprise("示例市宏达机械制造有限公司", butler=zhang, backup=backup).id
    ticket = _file(db_factory, ent, settings)
    assert (ticket.routing_rule, ticket.butler_name, ticket.department_name) == (
        "assigned",
        "张三",
        "市工信局",
    )
    assert ticket.routing_reason == "企业绑定管家张三（市工信局）"
    assert _route_event(db_factory, ticket.number) == ticket.routing_reason


def test_inactive_butler_hands_over_to_the_backup(
    db_factory: sessionmaker, build: Callable[..., Any], settings: AppealsSettings
) -> None:
    with build() as reg:
        dep = reg.department("城东区营商环境办")
        zhang = reg.butler("张三", "13800000001", dep, active=False)
        li = reg.butler("李四", "13800000002", dep)
        ent = reg.enterprise("示例市宏达机械制造有限公司", butler=zhang, backup=li).id
        only_backup = reg.enterprise("示例市恒信商贸有限公司", backup=li).id
    ticket = _file(db_factory, ent, settings)
    assert (ticket.routing_rule, ticket.butler_name) == ("backup", "李四")
    assert ticket.routing_reason == "绑定管家张三已停用；由备用管家李四（城东区营商环境办）受理"
    assert _route_event(db_factory, ticket.number) == ticket.routing_reason
    decision = _decide(db_factory, only_backup)
    assert decision.rule == "backup" and decision.reason.startswith("企业未绑定管家；")


def test_grid_picks_the_butler_with_fewest_open_tickets(
    db_factory: sessionmaker, build: Callable[..., Any], settings: AppealsSettings
) -> None:
    with build() as reg:
        busy = reg.butler("忙碌", "13800000001")
        free = reg.butler("空闲", "13800000002")
        other_industry = reg.butler("别的行业", "13800000003")
        other_region = reg.butler("别的区", "13800000004")
        away = reg.butler("停用", "13800000005", active=False)
        busy_ents = [reg.enterprise(f"甲{i}机械有限公司", butler=busy).id for i in range(2)]
        free_ent = reg.enterprise("乙机械有限公司", butler=free).id
        reg.enterprise("丙商贸有限公司", butler=other_industry, industry="批发和零售业")
        reg.enterprise("丁机械有限公司", butler=other_region, region="城西区")
        reg.enterprise("戊机械有限公司", butler=away)
        newcomer = reg.enterprise("新来的机械有限公司").id
    for ent in busy_ents:
        _file(db_factory, ent, settings)
    closed = _file(db_factory, free_ent, settings)
    with transaction(db_factory) as session:  # closed tickets do not count as load
        service.close_ticket(session, closed.number, "管理员", "已撤回", settings=settings)
    _file(db_factory, free_ent, settings)
    ticket = _file(db_factory, newcomer, settings)
    assert (ticket.routing_rule, ticket.butler_name) == ("grid", "空闲")
    assert ticket.routing_reason == (
        "企业未绑定管家；未设备用管家；按网格（城东区·制造业）分派给在办工单最少的管家空闲（在办1件）"
    )


def test_grid_tie_goes_to_the_earliest_registered_butler(
    db_factory: sessionmaker, build: Callable[..., Any]
) -> None:
    with build() as reg:
        first = reg.butler("先登记", "13800000001")
        second = reg.butler("后登记", "13800000002")
        reg.enterprise("甲机械有限公司", butler=second)
        reg.enterprise("乙机械有限公司", butler=first)
        newcomer = reg.enterprise("新来的机械有限公司").id
    decision = _decide(db_factory, newcomer)
    assert (decision.rule, decision.butler_name) == ("grid", "先登记")
    assert "在办0件，在办件数相同时取登记最早的管家" in decision.reason


def test_grid_skips_butlers_at_capacity(
    db_factory: sessionmaker, build: Callable[..., Any], settings: AppealsSettings
) -> None:
    with build() as reg:
        full = reg.butler("满了", "13800000001", capacity=1)
        roomy = reg.butler("还能接", "13800000002", capacity=5)
        full_ent = reg.enterprise("甲机械有限公司", butler=full).id
        roomy_ent = reg.enterprise("乙机械有限公司", butler=roomy).id
        newcomer = reg.enterprise("新来的机械有限公司").id
    _file(db_factory, full_ent, settings)
    _file(db_factory, roomy_ent, settings)
    _file(db_factory, roomy_ent, settings)
    decision = _decide(db_factory, newcomer)
    assert (decision.butler_name, decision.rule) == ("还能接", "grid")


def test_duty_queue_of_the_enterprise_district_when_no_butler_is_available(
    db_factory: sessionmaker, build: Callable[..., Any], settings: AppealsSettings
) -> None:
    with build() as reg:
        reg.department("城西区营商环境办", region="城西区", duty=True)
        reg.department("城东区营商环境办", region="城东区", duty=True)
        reg.department("市工信局")
        away = reg.butler("停用", "13800000001", active=False)
        ent = reg.enterprise("示例市宏达机械制造有限公司", butler=away).id
        full = reg.butler("满了", "13800000002", capacity=0)
        reg.enterprise("甲机械有限公司", region="示例县", butler=full)
        crowded = reg.enterprise("乙机械有限公司", region="示例县").id
    ticket = _file(db_factory, ent, settings)
    assert ticket.routing_rule == "duty_queue"
    assert (ticket.butler_name, ticket.department_name) == ("", "城东区营商环境办")
    assert ticket.routing_reason == (
        "绑定管家停用已停用；未设备用管家；网格（城东区·制造业）内没有在岗管家；转入城东区营商环境办值班队列"
    )
    assert "城东区营商环境办值班人员" in service.receipt_text(ticket)
    decision = _decide(db_factory, crowded)  # no duty queue in 示例县: the first one registered
    assert decision.rule == "duty_queue" and decision.department_name == "城西区营商环境办"
    assert "网格（示例县·制造业）内管家均已满负荷" in decision.reason


def test_nobody_available_still_saves_the_ticket_for_an_administrator(
    db_factory: sessionmaker, build: Callable[..., Any], settings: AppealsSettings
) -> None:
    with build() as reg:
        ent = reg.enterprise("示例市宏达机械制造有限公司").id
    ticket = _file(db_factory, ent, settings)
    assert ticket.routing_rule == "unrouted"
    assert ticket.routing_reason.endswith("未配置值班队列，等待管理员分派")
    with db_factory() as session:
        listed = service.list_tickets(session, status="open", settings=settings)
    assert [t.number for t in listed] == [ticket.number]
