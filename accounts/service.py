"""Account use cases: users, passwords, log-in sessions, the log-in rate limit and the audit log.

Every function takes the caller's session and flushes, never commits. The
gateway's log-in is ``log_in`` (or the primitives it is made of:
``check_login_allowed``, ``authenticate``, ``record_login_failure``,
``start_session``); it never raises for a wrong password, so the failure it
records is committed with the caller's transaction.

There is no default user and no default password: the first administrator is
created with ``butler users add NAME --role admin``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import unicodedata
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from accounts.errors import AccountError, UserNotFound
from accounts.models import ROLES, AuditEntry, LoginAttempt, LoginSession, User
from accounts.settings import MIN_PASSWORD_LENGTH, AccountsSettings
from accounts.views import AuditEntryPublic, LoginOutcome, SessionPublic, UserPublic
from appeals.access import TicketScope
from appeals.clock import utcnow
from appeals.models import Butler, Department
from appeals.phones import normalize_phone
from conversations.views import Actor, ConversationScope

logger = logging.getLogger(__name__)

MAX_USERNAME = 50
MAX_PASSWORD = 1024  # argon2 hashes anything, but a megabyte "password" is an attack, not a password
MAX_CLIENT = 64
# refresh last_seen_at at most this often, so reading pages does not write on every request
_SEEN_RESOLUTION = timedelta(seconds=60)
# a client guessing many names is refused too, at this many failures per window
_CLIENT_FAILURE_FACTOR = 4


# -- passwords ----------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _hasher() -> PasswordHasher:
    """argon2id with the library's current recommended parameters."""
    return PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash to verify against for unknown names, so timing does not reveal which names exist."""
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash to store, after checking the password is acceptable."""
    validate_password(password)
    return _hasher().hash(password)


def validate_password(password: str) -> None:
    """Refuse passwords too short to resist guessing; ``AccountError`` says why in Chinese."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少需要{MIN_PASSWORD_LENGTH}个字符")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"密码太长（最多{MAX_PASSWORD}个字符）")
    if not password.strip():
        raise AccountError("密码不能全是空格")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- users --------------------------------------------------------------------------------


def normalize_username(username: str) -> str:
    """The stored form: NFKC, trimmed, lower-case, so 'HeJie' and 'hejie' are one account."""
    return unicodedata.normalize("NFKC", username or "").strip().lower()


def _validate_username(username: str) -> str:
    name = normalize_username(username)
    if not name:
        raise AccountError("用户名不能为空")
    if len(name) > MAX_USERNAME:
        raise AccountError(f"用户名太长（最多{MAX_USERNAME}个字符）")
    if any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in name):
        raise AccountError("用户名不能包含空格或控制字符")
    return name


def _user_public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name or user.username,
        role=user.role,
        butler_id=user.butler_id,
        department_id=user.department_id,
        active=bool(user.active),
    )


def _user_by_name(session: Session, username: str) -> User | None:
    return session.execute(
        select(User).where(User.username == normalize_username(username))
    ).scalar_one_or_none()


def _butler_by_phone(session: Session, phone: str) -> Butler:
    normalized = normalize_phone(phone)
    butler = session.execute(select(Butler).where(Butler.phone == normalized)).scalar_one_or_none()
    if butler is None:
        raise AccountError(f"没有手机号为 {phone} 的管家，请先导入管家名册（butler registry import）")
    if not butler.active:
        raise AccountError(f"手机号为 {phone} 的管家已停用，不能为其创建账号")
    return butler


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    butler_phone: str | None = None,
    department: str | None = None,
    display_name: str | None = None,
    *,
    now: datetime | None = None,
) -> UserPublic:
    """Create a console account; ``AccountError`` with a Chinese reason when it cannot be.

    A ``butler`` must be a registered butler (``butler_phone``); a ``head``
    leads an existing department (``department`` by name, or the department of
    the butler given by ``butler_phone``); an ``admin`` may be linked to a
    butler so they can take conversations over themselves.
    """
    name = _validate_username(username)
    if role not in ROLES:
        raise AccountError("角色必须是 butler（企业管家）、head（部门负责人）或 admin（管理员）")
    validate_password(password)
    if _user_by_name(session, name) is not None:
        raise AccountError(f"用户名「{name}」已存在")
    butler: Butler | None = None
    if butler_phone:
        butler = _butler_by_phone(session, butler_phone)
        holder = session.execute(
            select(User.username).where(User.butler_id == butler.id)
        ).scalar_one_or_none()
        if holder is not None:
            raise AccountError(f"管家{butler.name}已有账号「{holder}」")
    elif role == "butler":
        raise AccountError("企业管家账号需要用 --butler-phone 指定名册中的管家手机号")
    department_id: int | None = butler.department_id if butler is not None else None
    if department:
        found = session.execute(
            select(Department.id).where(Department.name == department.strip())
        ).scalar_one_or_none()
        if found is None:
            raise AccountError(
                f"单位「{department.strip()}」不存在，请先导入单位名单（butler registry departments）"
            )
        department_id = found
    if role == "head" and department_id is None:
        raise AccountError(
            "部门负责人账号需要用 --department 指定单位名称（或用 --butler-phone 指定其管家身份）"
        )
    moment = now or utcnow()
    shown = (display_name or "").strip()[:50] or (butler.name if butler is not None else name)
    user = User(
        username=name,
        password_hash=_hasher().hash(password),
        role=role,
        butler_id=butler.id if butler is not None else None,
        department_id=department_id,
        display_name=shown,
        active=True,
        created_at=moment,
        updated_at=moment,
    )
    session.add(user)
    session.flush()
    logger.info(
        "accounts.user_created user_id=%s role=%s", user.id, role, extra={"event": "accounts.user_created"}
    )
    return _user_public(user)


def list_users(session: Session) -> list[UserPublic]:
    """Every account, active or not, by name."""
    return [_user_public(u) for u in session.execute(select(User).order_by(User.username)).scalars()]


def count_users(session: Session, *, active_only: bool = True) -> int:
    """How many accounts exist (``make run`` explains how to create the first when there is none)."""
    stmt = select(func.count(User.id))
    if active_only:
        stmt = stmt.where(User.active.is_(True))
    return int(session.execute(stmt).scalar_one())


def get_user(session: Session, user_id: int) -> UserPublic | None:
    user = session.get(User, user_id)
    return _user_public(user) if user is not None else None


def _require_user(session: Session, username: str) -> User:
    user = _user_by_name(session, username)
    if user is None:
        raise UserNotFound(f"用户「{normalize_username(username)}」不存在")
    return user


def set_password(
    session: Session, username: str, password: str, *, now: datetime | None = None
) -> UserPublic:
    """Change a password and end the user's log-ins, so a leaked password stops working at once."""
    validate_password(password)
    user = _require_user(session, username)
    user.password_hash = _hasher().hash(password)
    user.updated_at = now or utcnow()
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
    return _user_public(user)


def disable_user(session: Session, username: str, *, now: datetime | None = None) -> UserPublic:
    """Stop an account from logging in and end its log-ins; its audit history stays."""
    user = _require_user(session, username)
    user.active = False
    user.updated_at = now or utcnow()
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.flush()
    return _user_public(user)


def enable_user(session: Session, username: str, *, now: datetime | None = None) -> UserPublic:
    """Let a disabled account log in again."""
    user = _require_user(session, username)
    user.active = True
    user.updated_at = now or utcnow()
    session.flush()
    return _user_public(user)


def authenticate(session: Session, username: str, password: str) -> UserPublic | None:
    """The active user with this name and password, else ``None`` (no hint which part was wrong).

    A hash made with older parameters is replaced by a current one on success.
    """
    if not isinstance(password, str) or len(password) > MAX_PASSWORD or not isinstance(username, str):
        return None
    user = _user_by_name(session, username)
    if user is None or not user.active:
        _verify(_dummy_hash(), password)  # spend the same time as a real check
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = _hasher().hash(password)
        session.flush()
    return _user_public(user)


# -- log-in sessions ----------------------------------------------------------------------


def token_digest(token: str) -> str:
    """What the database keeps of a session token: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    session: Session, user_id: int, now: datetime, ttl: timedelta | None = None
) -> tuple[str, str]:
    """A new log-in: ``(token, csrf_token)``; only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=token_digest(token),
            user_id=user_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + (ttl if ttl is not None else AccountsSettings().session_ttl),
            last_seen_at=now,
        )
    )
    session.flush()
    return token, csrf


def session_for_token(session: Session, token: str, now: datetime) -> SessionPublic | None:
    """The live log-in behind a cookie token, or ``None`` when unknown, expired or its user disabled."""
    if not isinstance(token, str) or not token or len(token) > 256:
        return None
    row = session.execute(
        select(LoginSession, User)
        .join(User, User.id == LoginSession.user_id)
        .where(LoginSession.token_hash == token_digest(token))
    ).first()
    if row is None:
        return None
    login, user = row
    if login.expires_at <= now or not user.active:
        return None
    if now - login.last_seen_at >= _SEEN_RESOLUTION:
        login.last_seen_at = now
        session.flush()
    return SessionPublic(user=_user_public(user), csrf_token=login.csrf_token, expires_at=login.expires_at)


def user_for_session(session: Session, token: str, now: datetime) -> UserPublic | None:
    """The user logged in with ``token``, or ``None`` (unknown, expired, disabled)."""
    found = session_for_token(session, token, now)
    return found.user if found is not None else None


def csrf_matches(expected: str, given: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the ``X-CSRF-Token`` header."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def end_session(session: Session, token: str) -> bool:
    """Log out; ``True`` when the token was a live log-in."""
    if not isinstance(token, str) or not token:
        return False
    result = session.execute(delete(LoginSession).where(LoginSession.token_hash == token_digest(token)))
    return bool(result.rowcount)


def purge_expired(session: Session, now: datetime, settings: AccountsSettings | None = None) -> int:
    """Delete expired log-ins and failed attempts older than the rate-limit window; returns rows removed."""
    window = (settings or AccountsSettings()).login_window
    sessions = session.execute(delete(LoginSession).where(LoginSession.expires_at <= now)).rowcount
    attempts = session.execute(delete(LoginAttempt).where(LoginAttempt.created_at <= now - window)).rowcount
    return int(sessions or 0) + int(attempts or 0)


# -- log-in rate limit --------------------------------------------------------------------


def _attempt_key(username: str, client: str) -> tuple[str, str]:
    return normalize_username(str(username))[:MAX_USERNAME], str(client or "")[:MAX_CLIENT]


def _failures(
    session: Session, username: str, client: str, since: datetime
) -> tuple[int, int, datetime | None]:
    """Failures for this name and client, failures from this client, the oldest counted one."""
    name, who = _attempt_key(username, client)
    pair = session.execute(
        select(func.count(LoginAttempt.id), func.min(LoginAttempt.created_at)).where(
            LoginAttempt.username == name, LoginAttempt.client == who, LoginAttempt.created_at > since
        )
    ).one()
    from_client = session.execute(
        select(func.count(LoginAttempt.id)).where(LoginAttempt.client == who, LoginAttempt.created_at > since)
    ).scalar_one()
    return int(pair[0]), int(from_client), pair[1]


def login_retry_after(
    session: Session, username: str, client: str, now: datetime, settings: AccountsSettings | None = None
) -> int:
    """Seconds until this name and client may try again; 0 when they may now."""
    config = settings or AccountsSettings()
    since = now - config.login_window
    pair, from_client, oldest = _failures(session, username, client, since)
    if pair < config.login_max_failures and from_client < config.login_max_failures * _CLIENT_FAILURE_FACTOR:
        return 0
    if pair >= config.login_max_failures and oldest is not None:
        return max(1, int((oldest + config.login_window - now).total_seconds()) + 1)
    return max(1, int(config.login_window.total_seconds()))


def check_login_allowed(
    session: Session, username: str, client: str, now: datetime, settings: AccountsSettings | None = None
) -> bool:
    """False after too many failures for this name from this client (or from this client at all)."""
    return login_retry_after(session, username, client, now, settings) == 0


def record_login_failure(session: Session, username: str, client: str, now: datetime) -> None:
    """Count one failed log-in for the rate limit."""
    name, who = _attempt_key(username, client)
    session.add(LoginAttempt(username=name, client=who, created_at=now))
    session.flush()


def clear_login_failures(session: Session, username: str, client: str) -> None:
    """Forget this name and client's failures after a successful log-in."""
    name, who = _attempt_key(username, client)
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == name, LoginAttempt.client == who))


def log_in(
    session: Session,
    username: str,
    password: str,
    client: str,
    now: datetime,
    settings: AccountsSettings | None = None,
) -> LoginOutcome:
    """One log-in attempt, rate-limited and audited; never raises for bad credentials.

    The caller commits even when ``status`` is not ``ok``, so the failure counts.
    """
    config = settings or AccountsSettings()
    name = normalize_username(str(username))[:MAX_USERNAME]
    wait = login_retry_after(session, name, client, now, config)
    if wait:
        record_audit(
            session, name or "（空）", "login_refused", f"user:{name}", "登录失败次数过多，暂时拒绝", now=now
        )
        return LoginOutcome(status="rate_limited", retry_after=wait)
    user = authenticate(session, name, password)
    if user is None:
        record_login_failure(session, name, client, now)
        record_audit(session, name or "（空）", "login_failed", f"user:{name}", "用户名或密码错误", now=now)
        return LoginOutcome(status="invalid")
    clear_login_failures(session, name, client)
    token, csrf = start_session(session, user.id, now, config.session_ttl)
    record_audit(session, user, "login", f"user:{user.username}", "", now=now)
    return LoginOutcome(
        status="ok", user=user, token=token, csrf_token=csrf, expires_at=now + config.session_ttl
    )


# -- audit log ----------------------------------------------------------------------------


def _audit_public(entry: AuditEntry) -> AuditEntryPublic:
    return AuditEntryPublic(
        id=entry.id,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        detail=entry.detail,
        created_at=entry.created_at,
        actor_user_id=entry.actor_user_id,
        department_id=entry.department_id,
    )


def record_audit(
    session: Session,
    actor: str | UserPublic,
    action: str,
    target: str,
    detail: str = "",
    *,
    department_id: int | None = None,
    now: datetime | None = None,
) -> AuditEntryPublic:
    """Write one audit line in the caller's transaction, so it exists exactly when the action does.

    ``actor`` is the acting user (their id and department are kept, so heads
    see their department's lines) or a label such as ``系统`` or ``命令行``.
    """
    if isinstance(actor, UserPublic):
        label, user_id = actor.label, actor.id
        department_id = department_id if department_id is not None else actor.department_id
    else:
        label, user_id = str(actor), None
    entry = AuditEntry(
        actor=label[:100],
        actor_user_id=user_id,
        department_id=department_id,
        action=str(action)[:50],
        target=str(target)[:200],
        detail=str(detail or ""),
        created_at=now or utcnow(),
    )
    session.add(entry)
    session.flush()
    return _audit_public(entry)


def list_audit(
    session: Session,
    limit: int = 100,
    *,
    department_id: int | None = None,
    action: str | None = None,
    target: str | None = None,
    before_id: int | None = None,
) -> list[AuditEntryPublic]:
    """Audit lines, newest first; ``department_id`` narrows to a head's department."""
    stmt = select(AuditEntry)
    if department_id is not None:
        stmt = stmt.where(AuditEntry.department_id == department_id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if target:
        stmt = stmt.where(AuditEntry.target == target)
    if before_id is not None:
        stmt = stmt.where(AuditEntry.id < before_id)
    stmt = stmt.order_by(AuditEntry.id.desc()).limit(max(1, min(int(limit), 1000)))
    return [_audit_public(e) for e in session.execute(stmt).scalars()]


def can_read_audit(user: UserPublic) -> bool:
    """Administrators read the whole audit log, heads their department's; butlers none of it."""
    return user.role in ("admin", "head")


def audit_department(user: UserPublic) -> int | None:
    """The ``department_id`` filter for ``list_audit`` (``None`` for an administrator: everything)."""
    if user.role == "admin":
        return None
    if user.role == "head" and user.department_id is not None:
        return user.department_id
    raise AccountError("您没有查看审计日志的权限")


# -- who may see what ---------------------------------------------------------------------


def ticket_scope(user: UserPublic) -> TicketScope:
    """The tickets this user may see and work: their own, their department's, or all."""
    if not user.active:
        return TicketScope()
    if user.role == "admin":
        return TicketScope(everything=True)
    if user.role == "head":
        return TicketScope(department_id=user.department_id, butler_id=user.butler_id)
    return TicketScope(butler_id=user.butler_id)


def conversation_scope(user: UserPublic) -> ConversationScope:
    """The conversations this user may see: same rule as ``ticket_scope``, plus the duty queue."""
    if not user.active:
        return ConversationScope()
    if user.role == "admin":
        return ConversationScope(everything=True)
    if user.role == "head":
        return ConversationScope(department_id=user.department_id, butler_id=user.butler_id)
    return ConversationScope(butler_id=user.butler_id)


def actor_for(user: UserPublic) -> Actor:
    """The console user as the conversation use cases see them."""
    return Actor(
        butler_id=user.butler_id,
        name=user.display_name or user.username,
        role=user.role,
        department_id=user.department_id,
    )
