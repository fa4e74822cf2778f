"""Plain data the service hands to the chat, the CLI and JSON output.

No ORM objects leave the service: these dataclasses are complete snapshots, so
a caller can use them after the session is closed. Datetimes are aware and in
the office's time zone; ``to_dict()`` gives ISO strings for JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

_WEEKDAYS = "一二三四五六日"


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


class _ToDict:
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: datetimes as ISO 8601 with offset."""
        data: dict[str, Any] = _jsonable(asdict(self))  # type: ignore[call-overload]
        return data


@dataclass(frozen=True, kw_only=True)
class TicketCreate(_ToDict):
    """What the chat collected and the user confirmed.

    ``idempotency_key`` identifies the submission (e.g. sender id + the
    confirmation message id): a retry with the same key returns the same ticket.
    Give ``enterprise_id`` or ``credit_code``.
    """

    idempotency_key: str
    category: str
    description: str
    contact_name: str
    contact_phone: str
    enterprise_id: int | None = None
    credit_code: str | None = None
    urgency: str = "普通"
    channel: str = ""
    sender_id: str = ""


@dataclass(frozen=True, kw_only=True)
class RoutingDecision(_ToDict):
    """Who takes a ticket and why; ``rule`` is one of routing.RULES."""

    rule: str
    reason: str
    butler_id: int | None = None
    butler_name: str = ""
    butler_phone: str = ""
    department_id: int | None = None
    department_name: str = ""

    @property
    def routed(self) -> bool:
        """True when a butler or a duty queue owns the ticket."""
        return self.butler_id is not None or self.department_id is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict including ``routed``."""
        data = super().to_dict()
        data["routed"] = self.routed
        return data


@dataclass(frozen=True, kw_only=True)
class EnterprisePublic(_ToDict):
    """An enterprise as the chat shows it back for confirmation."""

    id: int
    name: str
    credit_code: str
    region: str
    grid: str
    industry: str
    scale: str
    butler_name: str = ""
    butler_phone: str = ""
    backup_butler_name: str = ""
    backup_butler_phone: str = ""


@dataclass(frozen=True, kw_only=True)
class DeadlineView(_ToDict):
    """One of the three 2110 deadlines with its traffic light."""

    key: str  # contact | answer | resolve
    label: str
    due: datetime
    done_at: datetime | None
    light: str  # green | yellow | red
    light_label: str


@dataclass(frozen=True, kw_only=True)
class EventView(_ToDict):
    """One history entry."""

    kind: str
    kind_label: str
    from_status: str | None
    to_status: str | None
    actor: str
    note: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class RatingView(_ToDict):
    """The enterprise's rating of one round."""

    round: int
    score: str
    comment: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class TicketPublic(_ToDict):
    """A ticket with everything the chat, the console and ``--json`` show."""

    number: str
    status: str
    status_label: str
    enterprise_id: int
    enterprise_name: str
    credit_code: str
    category: str
    description: str
    urgency: str
    contact_name: str
    contact_phone: str
    channel: str
    sender_id: str  # the chat user who filed it: where to send the rating request
    butler_name: str
    butler_phone: str
    department_name: str
    department_head_name: str
    department_head_phone: str
    routing_rule: str
    routing_reason: str
    reopen_count: int
    escalation_level: int
    escalation_label: str
    created_at: datetime
    contact_due: datetime
    answer_due: datetime
    resolve_due: datetime
    deadlines: list[DeadlineView] = field(default_factory=list)
    current_deadline: DeadlineView | None = None
    events: list[EventView] = field(default_factory=list)
    ratings: list[RatingView] = field(default_factory=list)
    allowed_actions: list[str] = field(default_factory=list)

    @property
    def awaiting_rating(self) -> bool:
        """True while the enterprise should be asked 满意/基本满意/不满意."""
        return self.status == "answered"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, with ``awaiting_rating`` spelled out for the chat."""
        data = super().to_dict()
        data["awaiting_rating"] = self.awaiting_rating
        return data


@dataclass(frozen=True, kw_only=True)
class RatingOutcome(_ToDict):
    """What a rating did, and the sentence to tell the enterprise."""

    ticket: TicketPublic
    score: str
    reopened: bool
    escalated: bool
    replayed: bool
    message: str


def format_time(moment: datetime) -> str:
    """2026年11月24日（周二）17:30: unambiguous for a user reading it days later."""
    return f"{moment.year}年{moment.month}月{moment.day}日（周{_WEEKDAYS[moment.weekday()]}）{moment:%H:%M}"


def receipt_text(ticket: TicketPublic) -> str:
    """The confirmation the enterprise gets right after filing."""
    if ticket.butler_name:
        owner = f"您的企业管家{ticket.butler_name}（电话 {ticket.butler_phone}）"
    elif ticket.department_name:
        owner = f"{ticket.department_name}值班人员"
    else:
        owner = "工作人员"
    return (
        f"您的诉求已受理，工单号 {ticket.number}。{owner}将在{format_time(ticket.contact_due)}前与您联系，"
        f"{format_time(ticket.answer_due)}前给出初步答复，{format_time(ticket.resolve_due)}前办结。"
        f"可随时发送“查询工单 {ticket.number}”了解进度。"
    )


def status_text(ticket: TicketPublic) -> str:
    """A short status summary for a status query in the chat."""
    lines = [f"工单 {ticket.number}（{ticket.category}）：{ticket.status_label}"]
    if ticket.butler_name:
        lines.append(f"负责管家：{ticket.butler_name} {ticket.butler_phone}")
    if ticket.current_deadline is not None:
        deadline = ticket.current_deadline
        lines.append(f"当前时限：{deadline.label}，{format_time(deadline.due)}前（{deadline.light_label}）")
    for event in ticket.events[-3:]:
        note = f"：{event.note}" if event.note else ""
        lines.append(f"{event.at:%m-%d %H:%M} {event.kind_label}{note}")
    return "\n".join(lines)


def ticket_card(ticket: TicketPublic) -> dict[str, Any]:
    """The machine-readable view of a ticket that every chat channel renders (``custom`` kind ``ticket``).

    The web chat draws it with its light, the WeChat channel will too, and the
    gateway reads ``urgency``: a ticket card saying 紧急 hands the conversation to a person.
    """
    deadline = ticket.current_deadline
    return {
        "kind": "ticket",
        "number": ticket.number,
        "status": ticket.status,
        "status_label": ticket.status_label,
        "category": ticket.category,
        "urgency": ticket.urgency,
        "butler_name": ticket.butler_name,
        "butler_phone": ticket.butler_phone,
        "current_deadline": (
            {"label": deadline.label, "due": deadline.due.isoformat(), "light": deadline.light}
            if deadline is not None
            else None
        ),
        "awaiting_rating": ticket.awaiting_rating,
    }


def rating_card(ticket: TicketPublic) -> dict[str, Any]:
    """The rating prompt as data (``custom`` kind ``rating``): a channel without buttons still knows the ticket."""
    return {"kind": "rating", "ticket_number": ticket.number}
