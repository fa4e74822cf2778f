"""Who takes a new ticket, and a sentence saying why.

Rules, in order (the first that yields someone wins):

1. ``assigned``   the enterprise's own butler, if active;
2. ``backup``     its backup butler, if active;
3. ``grid``       the active butler of the enterprise's grid (same district and
                  industry, i.e. serving enterprises like it) with the fewest open
                  tickets and below capacity; ties go to the longest-registered
                  butler (lowest id) so routing is repeatable;
4. ``duty_queue`` the duty queue of a department, the enterprise's district first;
5. ``unrouted``   nobody: the ticket is still saved and shows up for administrators.

The reason lists every rule that was passed over, so an administrator can see
from the ticket alone why it went where it went.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from appeals.models import Assignment, Butler, Department, Enterprise, Ticket
from appeals.states import OPEN_STATUSES
from appeals.views import RoutingDecision

RULES: tuple[str, ...] = ("assigned", "backup", "grid", "duty_queue", "unrouted")
RULE_LABELS: dict[str, str] = {
    "assigned": "绑定管家",
    "backup": "备用管家",
    "grid": "网格分派",
    "duty_queue": "值班队列",
    "unrouted": "待分派",
}


def _butler_label(butler: Butler) -> str:
    department = butler.department.name if butler.department is not None else ""
    return f"{butler.name}（{department}）" if department else butler.name


def _to_butler(rule: str, reason: str, butler: Butler) -> RoutingDecision:
    department = butler.department
    return RoutingDecision(
        rule=rule,
        reason=reason,
        butler_id=butler.id,
        butler_name=butler.name,
        butler_phone=butler.phone,
        department_id=department.id if department is not None else None,
        department_name=department.name if department is not None else "",
    )


@dataclass(frozen=True)
class GridLoad:
    """An active grid butler's open tickets against their capacity."""

    butler_id: int
    open_tickets: int
    capacity: int


def grid_loads(session: Session, enterprise: Enterprise, exclude: set[int]) -> list[GridLoad]:
    """Active butlers serving enterprises of the same district and industry, least loaded first.

    One grouped query returning plain rows: a grid can have hundreds of
    butlers, and loading them as objects would dominate the routing time.
    """
    if not enterprise.region or not enterprise.industry:
        return []
    peers = (
        select(Assignment.butler_id)
        .join(Enterprise, Enterprise.id == Assignment.enterprise_id)
        .where(
            Enterprise.region == enterprise.region,
            Enterprise.industry == enterprise.industry,
            Assignment.butler_id.is_not(None),
        )
        .distinct()
        .subquery()
    )
    open_tickets = func.count(Ticket.id)
    query = (
        select(Butler.id, open_tickets, Butler.capacity)
        .join(peers, peers.c.butler_id == Butler.id)
        .outerjoin(Ticket, and_(Ticket.butler_id == Butler.id, Ticket.status.in_(OPEN_STATUSES)))
        .where(Butler.active.is_(True))
        .group_by(Butler.id, Butler.capacity)
        .order_by(open_tickets, Butler.id)
    )
    if exclude:
        query = query.where(Butler.id.not_in(exclude))
    return [
        GridLoad(butler_id, int(count), capacity) for butler_id, count, capacity in session.execute(query)
    ]


def duty_department(session: Session, region: str) -> Department | None:
    """The duty queue of the enterprise's district, else any duty queue (lowest id)."""
    same_region = case((Department.region == region, 0), else_=1)
    return (
        session.execute(
            select(Department)
            .where(Department.is_duty_queue.is_(True))
            .order_by(same_region, Department.id)
            .limit(1)
        )
        .scalars()
        .first()
    )


def route(session: Session, enterprise: Enterprise) -> RoutingDecision:
    """Apply the rules in order; reads only, the caller stores the decision."""
    passed: list[str] = []
    assignment = session.execute(
        select(Assignment).where(Assignment.enterprise_id == enterprise.id)
    ).scalar_one_or_none()
    primary = assignment.butler if assignment is not None else None
    backup = assignment.backup_butler if assignment is not None else None

    if primary is not None and primary.active:
        return _to_butler("assigned", f"企业绑定管家{_butler_label(primary)}", primary)
    passed.append("企业未绑定管家" if primary is None else f"绑定管家{primary.name}已停用")

    if backup is not None and backup.active:
        return _to_butler("backup", "；".join([*passed, f"由备用管家{_butler_label(backup)}受理"]), backup)
    passed.append("未设备用管家" if backup is None else f"备用管家{backup.name}已停用")

    tried = {b.id for b in (primary, backup) if b is not None}
    candidates = grid_loads(session, enterprise, tried)
    grid = f"{enterprise.region}·{enterprise.industry}"
    available = [load for load in candidates if load.open_tickets < load.capacity]
    if available:
        count = available[0].open_tickets
        butler = session.get(Butler, available[0].butler_id)
        assert butler is not None
        tie = len(available) > 1 and available[1].open_tickets == count
        tie_note = "，在办件数相同时取登记最早的管家" if tie else ""
        reason = f"按网格（{grid}）分派给在办工单最少的管家{_butler_label(butler)}（在办{count}件{tie_note}）"
        return _to_butler("grid", "；".join([*passed, reason]), butler)
    if not enterprise.region or not enterprise.industry:
        passed.append("企业缺少所属区县或行业，无法按网格分派")
    elif candidates:
        passed.append(f"网格（{grid}）内管家均已满负荷")
    else:
        passed.append(f"网格（{grid}）内没有在岗管家")

    department = duty_department(session, enterprise.region)
    if department is not None:
        return RoutingDecision(
            rule="duty_queue",
            reason="；".join([*passed, f"转入{department.name}值班队列"]),
            department_id=department.id,
            department_name=department.name,
        )
    return RoutingDecision(rule="unrouted", reason="；".join([*passed, "未配置值班队列，等待管理员分派"]))
