"""Plain, frozen results of the conversation use cases: what the gateway serialises.

ORM rows never leave ``conversations``; callers get these dataclasses so a
closed session cannot surprise them with a lazy load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ACTOR_ROLES = ("butler", "head", "admin", "system")


@dataclass(frozen=True)
class Actor:
    """The console user acting on a conversation (``accounts.actor_for`` builds it).

    ``butler_id`` is the appeals butler the user is (``None`` for an
    administrator who is not a butler); ``role`` is ``butler``, ``head``,
    ``admin``, or ``system`` for the gateway's own background tasks (the idle
    hand-back), which act on any conversation.
    """

    butler_id: int | None
    name: str
    role: str
    department_id: int | None = None

    @property
    def label(self) -> str:
        """How the audit log and the transcript name the actor."""
        return self.name or ("系统" if self.role == "system" else "管家")


SYSTEM_ACTOR = Actor(butler_id=None, name="系统", role="system")


@dataclass(frozen=True)
class ConversationScope:
    """Which conversations a console user may see and change.

    ``everything`` for administrators; ``department_id`` for a department head
    (enterprises assigned to the department's butlers, conversations its
    butlers hold); ``butler_id`` for a butler (their enterprises, what they
    hold or were transferred). Anyone with a department or a butler also sees
    the unbound waiting conversations, the public duty queue. An empty scope
    sees nothing.
    """

    everything: bool = False
    department_id: int | None = None
    butler_id: int | None = None

    @property
    def is_empty(self) -> bool:
        return not self.everything and self.department_id is None and self.butler_id is None


def scope_for(actor: Actor) -> ConversationScope:
    """The scope an actor works in; the system actor and administrators see everything."""
    if actor.role in ("admin", "system"):
        return ConversationScope(everything=True)
    if actor.role == "head":
        return ConversationScope(department_id=actor.department_id, butler_id=actor.butler_id)
    return ConversationScope(butler_id=actor.butler_id)


@dataclass(frozen=True)
class MessagePublic:
    """One stored turn; ``seq`` is the frame number the enterprise sees (notes share the last one)."""

    id: int
    conversation_id: int
    seq: int
    role: str
    text: str
    custom: dict[str, Any] | None
    buttons: list[dict[str, Any]] | None
    client_message_id: str | None
    author: str
    created_at: datetime

    @property
    def is_note(self) -> bool:
        return self.role == "note"


@dataclass(frozen=True)
class ConversationPublic:
    """A conversation as the console lists it; ``last_messages`` are its last three turns."""

    id: int
    sender: str
    channel: str
    state: str
    enterprise_id: int | None
    enterprise_name: str
    handoff_reason: str
    waiting_since: datetime | None
    butler_id: int | None
    butler_name: str
    last_seq: int
    unanswered_streak: int
    last_butler_activity_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    last_messages: list[MessagePublic] = field(default_factory=list)

    def wait_seconds(self, now: datetime) -> int | None:
        """How long the enterprise has waited for a person, ``None`` unless waiting (naive UTC ``now``)."""
        if self.state != "waiting" or self.waiting_since is None:
            return None
        return max(0, int((now - self.waiting_since).total_seconds()))


@dataclass(frozen=True)
class CannedReplyPublic:
    """A 常用语 the console offers with one click."""

    id: int
    title: str
    text: str


@dataclass(frozen=True)
class ButlerChoice:
    """A butler a conversation can be transferred to."""

    id: int
    name: str
    department: str
