"""Binding a chat user to an enterprise with a one-time code from the enterprise's butler.

A credit code is printed on every business licence, so knowing it proves nothing: the
user must also give the six digits their butler issued from the console for that
enterprise. Codes are stored as salted hashes, expire (30 minutes by default), are
spent by the first successful binding, and a new code replaces the enterprise's
earlier unused ones. Attempts are counted per user and per enterprise, so neither a
user nor a crowd of users can try codes faster than the limit allows.

The subject is whatever the channel authenticated (``wechat:<openid>``); the gateway
turns a binding into the conversation's verified enterprise. Every function takes the
caller's session and flushes, never commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from appeals.access import TicketScope
from appeals.credit_code import InvalidCreditCode, validate_credit_code
from appeals.errors import InvalidInput, NotFound
from appeals.models import Assignment, BindingAttempt, BindingCode, Butler, Enterprise, EnterpriseBinding

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=30)
SUBJECT_MAX = 128

ENTERPRISE_NOT_FOUND = "企业不存在或不在您的管辖范围内"
WRONG_CODE = "统一社会信用代码或绑定码不正确，请核对后重试（绑定码请向您的企业管家索取）"
EXPIRED_CODE = "绑定码已过期，请联系您的企业管家重新获取"
USED_CODE = "绑定码已被使用，每个绑定码只能使用一次，请联系您的企业管家重新获取"
TOO_MANY = "尝试次数过多，请{minutes}分钟后再试"
BAD_CODE_FORMAT = "绑定码应为6位数字"


@dataclass(frozen=True)
class BindingLimits:
    """How many failed tries a user, or an enterprise, gets within the window."""

    max_attempts: int = 5
    window: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class IssuedCode:
    """A fresh code, shown once to the butler who issued it; never stored in clear."""

    code: str
    enterprise_id: int
    enterprise_name: str
    expires_at: datetime  # naive UTC


@dataclass(frozen=True)
class BindingPublic:
    """A subject's enterprise."""

    subject: str
    enterprise_id: int
    enterprise_name: str
    bound_at: datetime


@dataclass(frozen=True)
class BindOutcome:
    """The result of one try: ``status`` ``bound``, ``refused`` or ``rate_limited``; ``message`` in Chinese."""

    status: str
    message: str
    binding: BindingPublic | None = None
    retry_after: int = 0  # seconds, for ``rate_limited``

    @property
    def ok(self) -> bool:
        """Whether the subject is now bound."""
        return self.status == "bound"


def _hash(salt: str, enterprise_id: int, code: str) -> str:
    return hashlib.sha256(f"{salt}:{enterprise_id}:{code}".encode()).hexdigest()


def enterprise_in_scope(session: Session, scope: TicketScope, enterprise_id: int) -> bool:
    """Whether a console user with ``scope`` serves this enterprise (the rule of ``appeals.access``).

    A butler serves the enterprises assigned to them, as butler or backup; a head those of
    their department's butlers; an administrator every one.
    """
    if session.get(Enterprise, enterprise_id) is None:
        return False
    if scope.everything:
        return True
    served = _served(scope)
    if served is None:
        return False
    found = session.execute(
        select(Assignment.id).where(Assignment.enterprise_id == enterprise_id, served)
    ).first()
    return found is not None


def _served(scope: TicketScope) -> Any:
    """A condition on ``Assignment`` true for the enterprises the scope serves; ``None`` for none."""
    grants = []
    if scope.butler_id is not None:
        grants += [Assignment.butler_id == scope.butler_id, Assignment.backup_butler_id == scope.butler_id]
    if scope.department_id is not None:
        members = select(Butler.id).where(Butler.department_id == scope.department_id)
        grants.append(Assignment.butler_id.in_(members))
    return or_(*grants) if grants else None


def issue_binding_code(
    session: Session,
    enterprise_id: int,
    scope: TicketScope,
    issued_by: str,
    now: datetime,
    *,
    ttl: timedelta = CODE_TTL,
) -> IssuedCode:
    """A new six-digit code for an enterprise the caller serves; earlier unused codes stop working.

    ``now`` is naive UTC. Raises ``NotFound`` for an unknown enterprise or one outside ``scope``.
    """
    if not enterprise_in_scope(session, scope, enterprise_id):
        raise NotFound(ENTERPRISE_NOT_FOUND)
    enterprise = session.get(Enterprise, enterprise_id)
    assert enterprise is not None  # checked by enterprise_in_scope
    session.execute(
        update(BindingCode)
        .where(
            BindingCode.enterprise_id == enterprise_id,
            BindingCode.used_at.is_(None),
            BindingCode.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    salt = secrets.token_hex(16)
    expires_at = now + ttl
    session.add(
        BindingCode(
            enterprise_id=enterprise_id,
            salt=salt,
            code_hash=_hash(salt, enterprise_id, code),
            issued_by=issued_by[:100],
            issued_at=now,
            expires_at=expires_at,
            used_by="",
        )
    )
    session.flush()
    return IssuedCode(code, enterprise_id, enterprise.name, expires_at)


def binding_for(session: Session, subject: str) -> BindingPublic | None:
    """The enterprise ``subject`` is bound to, or ``None``."""
    row = session.execute(
        select(EnterpriseBinding, Enterprise.name)
        .join(Enterprise, Enterprise.id == EnterpriseBinding.enterprise_id)
        .where(EnterpriseBinding.subject == subject)
    ).first()
    if row is None:
        return None
    binding, name = row
    return BindingPublic(subject, binding.enterprise_id, name, binding.bound_at)


def _failures(session: Session, condition: Any, since: datetime) -> tuple[int, datetime | None]:
    count, oldest = session.execute(
        select(func.count(BindingAttempt.id), func.min(BindingAttempt.at)).where(
            condition,
            BindingAttempt.succeeded.is_(False),
            BindingAttempt.at > since,  # type: ignore[arg-type]
        )
    ).one()
    return int(count or 0), oldest


def _limited(session: Session, condition: object, now: datetime, limits: BindingLimits) -> BindOutcome | None:
    count, oldest = _failures(session, condition, now - limits.window)
    if count < limits.max_attempts or oldest is None:
        return None
    retry_after = max(1, int((oldest + limits.window - now).total_seconds()))
    minutes = max(1, (retry_after + 59) // 60)
    return BindOutcome("rate_limited", TOO_MANY.format(minutes=minutes), retry_after=retry_after)


def _clean_code(code: str) -> str:
    digits = code.strip() if isinstance(code, str) else ""
    if len(digits) != CODE_DIGITS or not digits.isascii() or not digits.isdigit():
        raise InvalidInput(BAD_CODE_FORMAT)
    return digits


def bind_with_code(
    session: Session,
    subject: str,
    credit_code: str,
    code: str,
    now: datetime,
    limits: BindingLimits | None = None,
) -> BindOutcome:
    """Bind ``subject`` to the enterprise with ``credit_code`` if ``code`` is its live, unused code.

    Malformed input raises ``InvalidInput`` (nothing counted); every well-formed try is
    recorded, so the caller must commit a refused outcome too. ``now`` is naive UTC.
    """
    limits = limits or BindingLimits()
    if not subject or len(subject) > SUBJECT_MAX:
        raise InvalidInput("用户标识无效")
    try:
        normalized = validate_credit_code(credit_code if isinstance(credit_code, str) else "")
    except InvalidCreditCode as exc:
        raise InvalidInput(exc.message) from exc
    digits = _clean_code(code)
    limited = _limited(session, BindingAttempt.subject == subject, now, limits)
    if limited is not None:
        return limited
    enterprise = session.execute(
        select(Enterprise).where(Enterprise.credit_code == normalized)
    ).scalar_one_or_none()
    enterprise_id = enterprise.id if enterprise is not None else None
    if enterprise_id is not None:
        limited = _limited(session, BindingAttempt.enterprise_id == enterprise_id, now, limits)
        if limited is not None:
            return limited
    matched = _matching_code(session, enterprise_id, digits) if enterprise_id is not None else None
    ok = matched is not None and matched.used_at is None and matched.expires_at > now
    session.add(BindingAttempt(subject=subject, enterprise_id=enterprise_id, succeeded=ok, at=now))
    if matched is None or enterprise is None:
        session.flush()
        return BindOutcome("refused", WRONG_CODE)
    if matched.used_at is not None:
        session.flush()
        return BindOutcome("refused", USED_CODE)
    if matched.expires_at <= now:
        session.flush()
        return BindOutcome("refused", EXPIRED_CODE)
    matched.used_at = now
    matched.used_by = subject
    binding = session.execute(
        select(EnterpriseBinding).where(EnterpriseBinding.subject == subject)
    ).scalar_one_or_none()
    if binding is None:
        binding = EnterpriseBinding(
            subject=subject, enterprise_id=enterprise.id, code_id=matched.id, bound_at=now
        )
        session.add(binding)
    else:
        binding.enterprise_id, binding.code_id, binding.bound_at = enterprise.id, matched.id, now
    session.flush()
    return BindOutcome(
        "bound",
        f"已绑定企业：{enterprise.name}",
        BindingPublic(subject, enterprise.id, enterprise.name, now),
    )


def _matching_code(session: Session, enterprise_id: int, digits: str) -> BindingCode | None:
    """The enterprise's code these digits match (live, expired or used), compared in constant time."""
    candidates = session.execute(
        select(BindingCode)
        .where(BindingCode.enterprise_id == enterprise_id)
        .order_by(BindingCode.issued_at.desc())
        .limit(50)
    ).scalars()
    for candidate in candidates:
        if hmac.compare_digest(candidate.code_hash, _hash(candidate.salt, enterprise_id, digits)):
            return candidate
    return None


@dataclass(frozen=True)
class EnterpriseChoice:
    """An enterprise a console user serves, as the binding-code panel lists it."""

    id: int
    name: str
    credit_code: str


def enterprises_in_scope(
    session: Session, scope: TicketScope, needle: str = "", limit: int = 50
) -> list[EnterpriseChoice]:
    """The enterprises a console user serves (``enterprise_in_scope``), by name or credit code, A–Z."""
    query = select(Enterprise.id, Enterprise.name, Enterprise.credit_code)
    if not scope.everything:
        served = _served(scope)
        if served is None:
            return []
        query = query.where(Enterprise.id.in_(select(Assignment.enterprise_id).where(served)))
    text = needle.strip()
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                Enterprise.name.like(pattern, escape="\\"),
                Enterprise.credit_code.like(pattern.upper(), escape="\\"),
            )
        )
    rows = session.execute(query.order_by(Enterprise.name).limit(max(1, min(limit, 200))))
    return [EnterpriseChoice(row.id, row.name, row.credit_code) for row in rows]
