"""Plain, frozen results of the account use cases; none of them carries a password hash or a raw token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ROLE_LABELS = {"butler": "企业管家", "head": "部门负责人", "admin": "管理员"}


@dataclass(frozen=True)
class UserPublic:
    """A console user as the gateway and the CLI see them."""

    id: int
    username: str
    display_name: str
    role: str
    butler_id: int | None
    department_id: int | None
    active: bool = True

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def label(self) -> str:
        """How the audit log names the user: 何杰（hejie）."""
        if self.display_name and self.display_name != self.username:
            return f"{self.display_name}（{self.username}）"
        return self.username


@dataclass(frozen=True)
class SessionPublic:
    """A live log-in: who, the CSRF token the pages must send back, and when it ends."""

    user: UserPublic
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class LoginOutcome:
    """The result of one log-in attempt; ``status`` is ``ok``, ``invalid`` or ``rate_limited``.

    On ``ok`` ``token`` goes into the HttpOnly cookie and ``csrf_token`` to the
    page; ``retry_after`` is the seconds to wait when rate-limited.
    """

    status: str
    user: UserPublic | None = None
    token: str = ""
    csrf_token: str = ""
    expires_at: datetime | None = None
    retry_after: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class AuditEntryPublic:
    """One line of the audit log."""

    id: int
    actor: str
    action: str
    target: str
    detail: str
    created_at: datetime
    actor_user_id: int | None = None
    department_id: int | None = None
