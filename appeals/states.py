"""The ticket state machine of the 2110 loop, as one explicit table.

受理 → 协调 → 办理 → 反馈 → 回访/评价. A ticket is ``submitted`` when it is filed
and routed, ``contacted`` once the butler has reached the enterprise,
``in_progress`` once a preliminary answer was given, ``answered`` when the
butler reports it done and the enterprise is asked to rate it, and ``closed``
after a 满意/基本满意 rating (or an administrator's close). 不满意 sends it back to
``in_progress`` with new deadlines. Escalation is a level on the ticket, not a
status, so an escalated ticket keeps its place in the loop.

Anything not in ``TRANSITIONS`` is refused with ``TransitionRefused``; this
module has no database code so the table can be tested exhaustively.
"""

from __future__ import annotations

from appeals.errors import AppealError

SUBMITTED = "submitted"
CONTACTED = "contacted"
IN_PROGRESS = "in_progress"
ANSWERED = "answered"
CLOSED = "closed"

STATUS_LABELS: dict[str, str] = {
    SUBMITTED: "已受理",
    CONTACTED: "已联系，协调中",
    IN_PROGRESS: "办理中",
    ANSWERED: "已反馈，待评价",
    CLOSED: "已办结",
}
STATUSES: tuple[str, ...] = tuple(STATUS_LABELS)
OPEN_STATUSES: tuple[str, ...] = (SUBMITTED, CONTACTED, IN_PROGRESS, ANSWERED)

# action -> what a person would call it, used in messages and history
ACTION_LABELS: dict[str, str] = {
    "contact": "联系企业",
    "reply": "答复企业",
    "answer": "办结反馈",
    "rate": "评价（满意/基本满意）",
    "reopen": "评价不满意并重新办理",
    "close": "关闭工单",
    "assign": "改派管家",
    "escalate": "升级督办",
    "note": "添加备注",
}
ACTIONS: tuple[str, ...] = tuple(ACTION_LABELS)

_ACTIVE = (SUBMITTED, CONTACTED, IN_PROGRESS)

# action -> {from_status: to_status}; the only moves the service will make
TRANSITIONS: dict[str, dict[str, str]] = {
    "contact": {SUBMITTED: CONTACTED},
    "reply": {SUBMITTED: IN_PROGRESS, CONTACTED: IN_PROGRESS, IN_PROGRESS: IN_PROGRESS},
    "answer": {CONTACTED: ANSWERED, IN_PROGRESS: ANSWERED},
    "rate": {ANSWERED: CLOSED},
    "reopen": {ANSWERED: IN_PROGRESS},
    "close": {status: CLOSED for status in OPEN_STATUSES},
    "assign": {status: status for status in OPEN_STATUSES},
    "escalate": {status: status for status in _ACTIVE},
    "note": {status: status for status in STATUSES},
}

# what to tell the user when an action is refused, beyond "not in this status"
_HINTS: dict[str, str] = {
    "contact": "只有刚受理的工单需要登记首次联系",
    "reply": "已反馈或已办结的工单不能再答复，请添加备注",
    "answer": "请先联系企业或给出初步答复，再办结反馈",
    "rate": "只有已反馈、待评价的工单可以评价",
    "reopen": "只有已反馈、待评价的工单可以评价",
    "close": "工单已经办结",
    "assign": "已办结的工单不能改派",
    "escalate": "只有办理中的工单会被升级督办",
}


class TransitionRefused(AppealError):
    """The action is not allowed in the ticket's current status; nothing was changed."""

    def __init__(self, action: str, status: str, number: str = "") -> None:
        self.action = action
        self.status = status
        label = STATUS_LABELS.get(status, status)
        what = ACTION_LABELS.get(action, action)
        subject = f"工单{number}" if number else "工单"
        hint = _HINTS.get(action, "")
        message = f"{subject}当前状态为「{label}」，不能{what}"
        super().__init__(f"{message}（{hint}）" if hint else message)


def next_status(action: str, status: str, number: str = "") -> str:
    """The status after ``action``, or ``TransitionRefused`` if the table has no such move."""
    target = TRANSITIONS.get(action, {}).get(status)
    if target is None:
        raise TransitionRefused(action, status, number)
    return target


def allowed_actions(status: str) -> list[str]:
    """Actions a butler console may offer for a ticket in ``status``."""
    return [action for action in ACTIONS if status in TRANSITIONS[action]]


def status_label(status: str) -> str:
    """Chinese label for a status, the status itself if unknown."""
    return STATUS_LABELS.get(status, status)


# escalation is a level beside the status: who is now answerable for the ticket
ESCALATION_LABELS: dict[int, str] = {
    0: "未升级",
    1: "已升级至部门负责人",
    2: "已升级至营商环境督办",
}
MAX_ESCALATION = max(ESCALATION_LABELS)


def escalation_label(level: int) -> str:
    """Chinese label for an escalation level; levels above the table count as the top one."""
    return ESCALATION_LABELS[min(max(level, 0), MAX_ESCALATION)]
