"""200 submissions at once: every one filed exactly once, numbered uniquely and routed."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from appeals import service
from appeals.models import Ticket, TicketEvent
from appeals.settings import AppealsSettings
from appeals.views import TicketCreate
from appeals.workcalendar import DEFAULT_TZ

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=DEFAULT_TZ)
DISTINCT = 180
DUPLICATES = 20


def test_200_concurrent_submissions_make_exactly_the_expected_tickets(
    db_factory: sessionmaker, build: Callable[..., Any], settings: AppealsSettings
) -> None:
    with build() as reg:
        duty = reg.department("城东区营商环境办", region="城东区", duty=True)
        active = [reg.butler(f"管家{i}", f"138000000{i:02d}", duty) for i in range(4)]
        away = reg.butler("停用管家", "13800000099", duty, active=False)
        enterprises = (
            [reg.enterprise(f"绑定{i}机械有限公司", butler=active[i % 4]).id for i in range(10)]
            + [reg.enterprise(f"备用{i}机械有限公司", butler=away, backup=active[0]).id for i in range(5)]
            + [reg.enterprise(f"网格{i}机械有限公司").id for i in range(10)]
            + [reg.enterprise(f"值班{i}商贸有限公司", industry="无人区").id for i in range(5)]
        )
    keys = [f"wechat:user{i}:confirm" for i in range(DISTINCT)]
    submissions = keys + keys[:DUPLICATES]  # the first 20 are retried while the originals are in flight
    barrier = threading.Barrier(len(submissions))
    numbers: dict[int, str] = {}
    failures: list[BaseException] = []

    def submit(index: int) -> None:
        key = submissions[index]
        data = TicketCreate(
            idempotency_key=key,
            enterprise_id=enterprises[keys.index(key) % len(enterprises)],
            category="用地",
            description=f"第{keys.index(key)}号诉求",
            contact_name="王经理",
            contact_phone="13900000001",
        )
        barrier.wait()
        try:
            numbers[index] = service.create_ticket(db_factory, data, now=NOW, settings=settings).number
        except BaseException as exc:  # collected and asserted below, so no failure is lost in a thread
            failures.append(exc)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(submissions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert failures == []
    assert len(numbers) == len(submissions)
    for dup in range(DUPLICATES):  # a retry got the original's ticket
        assert numbers[DISTINCT + dup] == numbers[dup]
    assert len(set(numbers.values())) == DISTINCT

    with db_factory() as session:
        tickets = list(session.execute(select(Ticket)).scalars())
        create_events = session.execute(
            select(func.count(TicketEvent.id)).where(TicketEvent.kind == "create")
        ).scalar_one()
    assert len(tickets) == DISTINCT and create_events == DISTINCT
    assert sorted(t.number for t in tickets) == [f"GD20250303{n:04d}" for n in range(1, DISTINCT + 1)]
    assert sorted(t.idempotency_key for t in tickets) == sorted(keys)
    assert all(t.butler_id is not None or t.department_id is not None for t in tickets)
    assert {t.routing_rule for t in tickets} == {"assigned", "backup", "grid", "duty_queue"}
