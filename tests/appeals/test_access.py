"""Who sees which tickets: butlers, department heads, administrators and chats, with the console's filters."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from appeals.access import TicketScope, get_ticket_in_scope, list_tickets_in_scope
from appeals.errors import InvalidInput
from appeals.service import assign_ticket, close_ticket, create_ticket
from appeals.settings import AppealsSettings
from appeals.views import TicketCreate, TicketPublic
from storage.transaction import transaction
from tests.appeals.conftest import NOW, Registry


@dataclass
class Town:
    zhang: int
    li: int
    wang: int
    industry_dep: int
    commerce_dep: int
    hongda: TicketPublic  # 宏达 (张三's enterprise), filed at NOW
    hengxin: TicketPublic  # 恒信 (王五's enterprise), transferred to 张三
    yuanfang: TicketPublic  # 远方 (李四's enterprise), filed an hour later from another chat
    old: TicketPublic  # 宏达 again, filed the Friday before: overdue by NOW
    hengxin_code: str


def _file(
    factory: sessionmaker,
    settings: AppealsSettings,
    enterprise_id: int,
    key: str,
    *,
    sender: str = "u1",
    category: str = "用地",
    at: timedelta = timedelta(0),
) -> TicketPublic:
    return create_ticket(
        factory,
        TicketCreate(
            idempotency_key=key,
            enterprise_id=enterprise_id,
            category=category,
            description="新厂房用地规划许可迟迟办不下来",
            contact_name="王经理",
            contact_phone="13900000001",
            sender_id=sender,
        ),
        now=NOW + at,
        settings=settings,
    )


@pytest.fixture
def town(
    db_factory: sessionmaker,
    build: Callable[[], AbstractContextManager[Registry]],
    settings: AppealsSettings,
) -> Town:
    with build() as reg:
        industry = reg.department("市工信局", head="林磊")
        commerce = reg.department("市商务局", head="周敏")
        zhang = reg.butler("张三", "13800000001", industry)
        li = reg.butler("李四", "13800000002", industry)
        wang = reg.butler("王五", "13800000003", commerce)
        hongda = reg.enterprise("示例市宏达机械制造有限公司", butler=zhang)
        hengxin = reg.enterprise("示例市恒信商贸有限公司", butler=wang)
        yuanfang = reg.enterprise("示例市远方物流有限公司", butler=li)
        ids = (zhang.id, li.id, wang.id, industry.id, commerce.id, hongda.id, hengxin.id, yuanfang.id)
        hengxin_code = hengxin.credit_code
    zhang_id, li_id, wang_id, industry_id, commerce_id, hongda_id, hengxin_id, yuanfang_id = ids
    old = _file(db_factory, settings, hongda_id, "t:old", at=-timedelta(days=3))
    first = _file(db_factory, settings, hongda_id, "t:hongda", category="融资")
    moved = _file(db_factory, settings, hengxin_id, "t:hengxin")
    with transaction(db_factory) as session:
        moved = assign_ticket(
            session, moved.number, "13800000001", "管理员", "王五休假", now=NOW, settings=settings
        )
    far = _file(db_factory, settings, yuanfang_id, "t:yuanfang", sender="u2", at=timedelta(hours=1))
    return Town(zhang_id, li_id, wang_id, industry_id, commerce_id, first, moved, far, old, hengxin_code)


def _numbers(
    factory: sessionmaker, settings: AppealsSettings, scope: TicketScope, **filters: Any
) -> set[str]:
    with transaction(factory) as session:
        found = list_tickets_in_scope(
            session, scope, now=NOW + timedelta(hours=1, minutes=45), settings=settings, **filters
        )
    return {ticket.number for ticket in found}


def test_a_butler_sees_their_tickets_and_their_enterprises(
    db_factory: sessionmaker, settings: AppealsSettings, town: Town
) -> None:
    everything = {t.number for t in (town.hongda, town.hengxin, town.yuanfang, town.old)}
    # 张三: his enterprise's tickets and the one transferred to him
    assert _numbers(db_factory, settings, TicketScope(butler_id=town.zhang)) == {
        town.hongda.number,
        town.hengxin.number,
        town.old.number,
    }
    # 王五 still serves 恒信, so he still sees its ticket; 李四 only 远方's
    assert _numbers(db_factory, settings, TicketScope(butler_id=town.wang)) == {town.hengxin.number}
    assert _numbers(db_factory, settings, TicketScope(butler_id=town.li)) == {town.yuanfang.number}
    assert _numbers(db_factory, settings, TicketScope(everything=True)) == everything
    assert _numbers(db_factory, settings, TicketScope()) == set()


def test_a_head_sees_the_departments_tickets(
    db_factory: sessionmaker, settings: AppealsSettings, town: Town
) -> None:
    industry = _numbers(db_factory, settings, TicketScope(department_id=town.industry_dep))
    assert industry == {town.hongda.number, town.hengxin.number, town.yuanfang.number, town.old.number}
    assert _numbers(db_factory, settings, TicketScope(department_id=town.commerce_dep)) == set()


def test_a_chat_sees_its_own_or_its_verified_enterprises_tickets(
    db_factory: sessionmaker, settings: AppealsSettings, town: Town
) -> None:
    assert _numbers(db_factory, settings, TicketScope(sender_id="u2")) == {town.yuanfang.number}
    verified = TicketScope(enterprise_id=town.hongda.enterprise_id, sender_id="u9")
    assert _numbers(db_factory, settings, verified) == {town.hongda.number, town.old.number}


def test_one_ticket_is_shown_only_within_scope(
    db_factory: sessionmaker, settings: AppealsSettings, town: Town
) -> None:
    with transaction(db_factory) as session:
        mine = get_ticket_in_scope(
            session, TicketScope(butler_id=town.li), town.yuanfang.number, settings=settings
        )
        theirs = get_ticket_in_scope(
            session, TicketScope(butler_id=town.li), town.hongda.number, settings=settings
        )
        missing = get_ticket_in_scope(
            session, TicketScope(everything=True), "GD209901010001", settings=settings
        )
        with pytest.raises(InvalidInput):
            get_ticket_in_scope(session, TicketScope(everything=True), "不是工单号")
    assert mine is not None and mine.number == town.yuanfang.number and mine.events
    assert theirs is None and missing is None


def test_filters_narrow_the_scope(db_factory: sessionmaker, settings: AppealsSettings, town: Town) -> None:
    admin = TicketScope(everything=True)
    assert _numbers(db_factory, settings, admin, category="融资") == {town.hongda.number}
    assert _numbers(db_factory, settings, admin, enterprise="恒信") == {town.hengxin.number}
    assert _numbers(db_factory, settings, admin, enterprise=town.hengxin_code[-8:].lower()) == {
        town.hengxin.number
    }
    assert _numbers(db_factory, settings, admin, enterprise="%") == set()
    with transaction(db_factory) as session:
        close_ticket(session, town.old.number, "管理员", "重复提交", now=NOW, settings=settings)
    assert town.old.number not in _numbers(db_factory, settings, admin, status="open")
    assert _numbers(db_factory, settings, admin, status="closed") == {town.old.number}
    for bad in ({"status": "lost"}, {"category": "天气"}, {"light": "blue"}):
        with pytest.raises(InvalidInput), transaction(db_factory) as session:
            list_tickets_in_scope(session, admin, settings=settings, **bad)  # type: ignore[arg-type]


def test_the_light_filter_reads_the_current_deadline(
    db_factory: sessionmaker, settings: AppealsSettings, town: Town
) -> None:
    admin = TicketScope(everything=True)
    # at 11:45: 宏达's 2-hour contact deadline (12:00) is nearly used up, 远方's (filed 11:00) is not,
    # and the ticket from the Friday before is overdue
    assert _numbers(db_factory, settings, admin, light="yellow", category="融资") == {town.hongda.number}
    assert town.yuanfang.number in _numbers(db_factory, settings, admin, light="green")
    assert _numbers(db_factory, settings, admin, light="red") == {town.old.number}
    with transaction(db_factory) as session:
        limited = list_tickets_in_scope(
            session,
            admin,
            light="yellow",
            limit=1,
            now=NOW + timedelta(hours=1, minutes=45),
            settings=settings,
        )
    assert len(_numbers(db_factory, settings, admin, light="yellow")) == 2 and len(limited) == 1
