"""Tables of the console accounts, their log-in sessions, failed log-ins and the audit log.

A session row holds only the SHA-256 of its token, so a copy of the database
does not let anyone log in. Failed log-ins are rows, not memory, so the rate
limit survives a restart. Times are naive UTC (``appeals.clock``); the foreign
keys to the registry are created by the migration (this metadata is separate).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import declarative_base

from appeals.clock import utcnow

Base: Any = declarative_base()

ROLES = ("butler", "head", "admin")


class User(Base):
    """A console user: a butler, a department head or an administrator."""

    __tablename__ = "console_user"  # "user" is reserved in PostgreSQL
    __table_args__ = (CheckConstraint("role IN ('butler', 'head', 'admin')", name="ck_console_user_role"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(50), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)  # argon2id, with its parameters and salt
    role = Column(String(10), nullable=False)
    butler_id = Column(Integer, nullable=True)  # the appeals butler this user is
    department_id = Column(Integer, nullable=True)  # the department a head leads (a butler's own)
    display_name = Column(String(50), nullable=False, default="")
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)


class LoginSession(Base):
    """One log-in: the cookie's token (hashed) and the CSRF token the pages send back."""

    __tablename__ = "login_session"
    __table_args__ = (Index("ix_login_session_expires_at", "expires_at"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    user_id = Column(Integer, ForeignKey("console_user.id", ondelete="CASCADE"), nullable=False, index=True)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    last_seen_at = Column(DateTime, nullable=False, default=utcnow)


class LoginAttempt(Base):
    """A failed log-in; counted per name and client within the rate-limit window."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_username_client", "username", "client", "created_at"),
        Index("ix_login_attempt_client", "client", "created_at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(50), nullable=False)
    client = Column(String(64), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class AuditEntry(Base):
    """Who did what to which conversation or ticket, and when."""

    __tablename__ = "audit_entry"

    id = Column(Integer, primary_key=True, autoincrement=True)
    actor = Column(String(100), nullable=False)
    actor_user_id = Column(Integer, nullable=True)  # kept without a key so history outlives accounts
    department_id = Column(Integer, nullable=True, index=True)  # the actor's department, for heads
    action = Column(String(50), nullable=False)
    target = Column(String(200), nullable=False, default="", index=True)
    detail = Column(Text, nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=utcnow, index=True)
