"""The console's ticket filters inside each scope: a butler, a department head and an administrator.

``test_access.py`` checks who sees what and the filters for an administrator; here
each filter (status, category, light, enterprise) is applied by each kind of caller
on the demo registry, so a filter can only narrow what the caller may see, and the
light filter reads the deadline at the moment asked (``now=``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from appeals.access import TicketScope, list_tickets_in_scope
from appeals.chat import AppealForm, submit_appeal
from appeals.lifecycle import close_ticket, mark_contacted
from appeals.models import Butler, Department
from appeals.queries import find_enterprise
from appeals.settings import AppealsSettings
from appeals.views import TicketPublic
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.appeals.conftest import NOW

TENGFEI_CODE = "91990102A5NNL98XUY"  # 腾飞, butler 何杰 of 市商务局
CHANGQING_CODE = "91990172NRDQW6R8JH"  # 长青商贸, butler 郭海燕 of 市商务局
WANXIANG_CODE = "919901031WTF2731AM"  # 万象, butler 朱子涵 of 城西区营商环境办


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Iterator[sessionmaker]:
    target = tmp_path / "demo.db"
    shutil.copyfile(demo_template, target)
    engine = make_engine(f"sqlite:///{target}")
    yield make_session_factory(engine)
    engine.dispose()


@dataclass
class Queue:
    """Four tickets and the three kinds of caller looking at them."""

    hejie: TicketScope  # 何杰, butler of 腾飞
    head: TicketScope  # 杨文博, head of 市商务局 (何杰's and 郭海燕's department)
    admin: TicketScope
    tengfei: TicketPublic  # 用电用水用气, filed at NOW (Monday 10:00)
    tengfei_old: TicketPublic  # 用地, filed the Friday before: overdue by NOW
    changqing: TicketPublic  # 融资, 郭海燕's
    wanxiang: TicketPublic  # 用地, 朱子涵's (another department)


def _file(
    factory: sessionmaker, settings: AppealsSettings, code: str, category: str, key: str, at: datetime
) -> TicketPublic:
    with transaction(factory) as session:
        enterprise = find_enterprise(session, code)
    assert enterprise is not None
    return submit_appeal(
        factory,
        AppealForm(
            enterprise_id=enterprise.id,
            category=category,
            description="需要协调解决的问题",
            contact_name="杨刚",
            contact_phone="13900000001",
        ),
        sender="web-1",
        appeal_id=key,
        channel="web",
        sender_id="web-1",
        now=at,
        settings=settings,
    )


@pytest.fixture
def queue(demo: sessionmaker, settings: AppealsSettings) -> Queue:
    with transaction(demo) as session:
        hejie = session.execute(select(Butler).where(Butler.phone == "13800000016")).scalar_one()
        commerce = session.execute(select(Department).where(Department.name == "市商务局")).scalar_one()
        scopes = TicketScope(butler_id=hejie.id), TicketScope(department_id=commerce.id)
    old = _file(demo, settings, TENGFEI_CODE, "用地", "old", NOW - timedelta(days=3))
    queue = Queue(
        hejie=scopes[0],
        head=scopes[1],
        admin=TicketScope(everything=True),
        tengfei=_file(demo, settings, TENGFEI_CODE, "用电用水用气", "t1", NOW),
        tengfei_old=old,
        changqing=_file(demo, settings, CHANGQING_CODE, "融资", "t2", NOW),
        wanxiang=_file(demo, settings, WANXIANG_CODE, "用地", "t3", NOW),
    )
    assert (queue.tengfei.butler_name, queue.changqing.butler_name, queue.wanxiang.butler_name) == (
        "何杰",
        "郭海燕",
        "朱子涵",
    )
    return queue


def _seen(
    factory: sessionmaker,
    settings: AppealsSettings,
    scope: TicketScope,
    at: datetime = NOW,
    **filters: Any,
) -> set[str]:
    with transaction(factory) as session:
        found = list_tickets_in_scope(session, scope, now=at, settings=settings, **filters)
    return {ticket.number for ticket in found}


def _n(*tickets: TicketPublic) -> set[str]:
    return {ticket.number for ticket in tickets}


def test_without_filters_each_caller_sees_their_scope(
    demo: sessionmaker, settings: AppealsSettings, queue: Queue
) -> None:
    q = queue
    assert _seen(demo, settings, q.hejie) == _n(q.tengfei, q.tengfei_old)
    assert _seen(demo, settings, q.head) == _n(q.tengfei, q.tengfei_old, q.changqing)
    assert _seen(demo, settings, q.admin) == _n(q.tengfei, q.tengfei_old, q.changqing, q.wanxiang)


def test_the_category_filter_within_each_scope(
    demo: sessionmaker, settings: AppealsSettings, queue: Queue
) -> None:
    q = queue
    assert _seen(demo, settings, q.hejie, category="用地") == _n(q.tengfei_old)
    assert _seen(demo, settings, q.head, category="用地") == _n(q.tengfei_old)
    assert _seen(demo, settings, q.admin, category="用地") == _n(q.tengfei_old, q.wanxiang)
    assert _seen(demo, settings, q.hejie, category="融资") == set()
    assert _seen(demo, settings, q.head, category="融资") == _n(q.changqing)


def test_the_enterprise_filter_matches_a_name_part_or_the_credit_code_within_each_scope(
    demo: sessionmaker, settings: AppealsSettings, queue: Queue
) -> None:
    q = queue
    for scope in (q.hejie, q.head, q.admin):
        assert _seen(demo, settings, scope, enterprise="腾飞") == _n(q.tengfei, q.tengfei_old)
        assert _seen(demo, settings, scope, enterprise=TENGFEI_CODE) == _n(q.tengfei, q.tengfei_old)
    # a filter never widens the scope: 何杰 searching for 长青 or 万象 finds nothing
    assert _seen(demo, settings, q.hejie, enterprise="长青") == set()
    assert _seen(demo, settings, q.hejie, enterprise=WANXIANG_CODE) == set()
    assert _seen(demo, settings, q.head, enterprise=CHANGQING_CODE[-6:].lower()) == _n(q.changqing)
    assert _seen(demo, settings, q.head, enterprise="万象") == set()
    assert _seen(demo, settings, q.admin, enterprise=f" {WANXIANG_CODE} ") == _n(q.wanxiang)
    assert _seen(demo, settings, q.admin, enterprise="示例市") == _n(
        q.tengfei, q.tengfei_old, q.changqing, q.wanxiang
    )
    assert _seen(demo, settings, q.admin, enterprise="不存在的公司") == set()


def test_the_status_filter_within_each_scope(
    demo: sessionmaker, settings: AppealsSettings, queue: Queue
) -> None:
    q = queue
    later = NOW + timedelta(minutes=30)
    with transaction(demo) as session:
        mark_contacted(session, q.tengfei.number, "何杰", "电话联系", now=later, settings=settings)
        mark_contacted(session, q.wanxiang.number, "朱子涵", "上门走访", now=later, settings=settings)
        close_ticket(session, q.changqing.number, "管理员", "企业撤回", now=later, settings=settings)
    assert _seen(demo, settings, q.hejie, later, status="contacted") == _n(q.tengfei)
    assert _seen(demo, settings, q.head, later, status="contacted") == _n(q.tengfei)
    assert _seen(demo, settings, q.admin, later, status="contacted") == _n(q.tengfei, q.wanxiang)
    assert _seen(demo, settings, q.hejie, later, status="submitted") == _n(q.tengfei_old)
    assert _seen(demo, settings, q.hejie, later, status="closed") == set()
    assert _seen(demo, settings, q.head, later, status="closed") == _n(q.changqing)
    assert _seen(demo, settings, q.head, later, status="open") == _n(q.tengfei, q.tengfei_old)
    assert _seen(demo, settings, q.admin, later, status="open") == _n(q.tengfei, q.tengfei_old, q.wanxiang)


def test_the_light_filter_follows_the_clock_within_each_scope(
    demo: sessionmaker, settings: AppealsSettings, queue: Queue
) -> None:
    q = queue
    # filed Monday 10:00, contact due within 2 working hours (12:00); yellow in its last quarter
    at_1030 = NOW + timedelta(minutes=30)
    at_1145 = NOW + timedelta(hours=1, minutes=45)
    at_1400 = NOW + timedelta(hours=4)
    for scope, fresh in ((q.hejie, _n(q.tengfei)), (q.head, _n(q.tengfei, q.changqing))):
        assert _seen(demo, settings, scope, at_1030, light="green") == fresh
        assert _seen(demo, settings, scope, at_1030, light="yellow") == set()
        assert _seen(demo, settings, scope, at_1145, light="yellow") == fresh
        assert _seen(demo, settings, scope, at_1145, light="green") == set()
        assert _seen(demo, settings, scope, at_1400, light="red") == fresh | _n(q.tengfei_old)
        # the Friday ticket was overdue all along
        assert _seen(demo, settings, scope, at_1030, light="red") == _n(q.tengfei_old)
    everyone_fresh = _n(q.tengfei, q.changqing, q.wanxiang)
    assert _seen(demo, settings, q.admin, at_1145, light="yellow") == everyone_fresh
    assert _seen(demo, settings, q.admin, at_1400, light="red", category="用地") == _n(
        q.tengfei_old, q.wanxiang
    )

    # 腾飞 is contacted late: its contact light stays red in the history, but the queue reads the
    # deadline now running (answer within a working day of filing), which is green
    at_1430 = at_1400 + timedelta(minutes=30)
    with transaction(demo) as session:
        mark_contacted(session, q.tengfei.number, "何杰", "电话联系", now=at_1400, settings=settings)
    assert _seen(demo, settings, q.hejie, at_1430, light="green") == _n(q.tengfei)
    assert _seen(demo, settings, q.hejie, at_1430, light="red") == _n(q.tengfei_old)
    assert _seen(demo, settings, q.head, at_1430, light="red") == _n(q.tengfei_old, q.changqing)


def test_an_empty_scope_sees_nothing_whatever_the_filter(
    demo: sessionmaker, settings: AppealsSettings, queue: Queue
) -> None:
    nobody = TicketScope()
    assert _seen(demo, settings, nobody) == set()
    assert _seen(demo, settings, nobody, enterprise="腾飞", status="open") == set()
    unknown = TicketScope(butler_id=999_999)
    assert _seen(demo, settings, unknown, category="用地") == set()
