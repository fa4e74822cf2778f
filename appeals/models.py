"""Tables of the enterprise registry and of appeal tickets (诉求工单).

The registry (department, enterprise, butler, assignment) is what departments
report in their spreadsheets; tickets and their events are the "2110" closed
loop. Every status change, note and message is a ``TicketEvent`` row written in
the same transaction as the change, so the history can always explain the
current state. Times are naive UTC (see ``appeals.clock``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

from appeals.clock import utcnow

Base: Any = declarative_base()


class Department(Base):
    """A government unit that owns butlers; its head receives escalations.

    A department with ``is_duty_queue`` takes tickets no butler can take
    (值班队列), preferably the one in the enterprise's district.
    """

    __tablename__ = "department"

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(100), nullable=False, unique=True)
    region = Column(String(50), nullable=False, default="")  # 所属区县, "" for city-wide units
    head_name = Column(String(50), nullable=False, default="")
    head_phone = Column(String(20), nullable=False, default="")
    is_duty_queue = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)


class Enterprise(Base):
    """An enterprise served by the butler system, keyed by its unified social credit code."""

    __tablename__ = "enterprise"
    __table_args__ = (Index("ix_enterprise_region_industry", "region", "industry"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(200), nullable=False, index=True)
    credit_code = Column(String(18), nullable=False, unique=True)  # 统一社会信用代码
    region = Column(String(50), nullable=False, default="")  # 所属区县
    grid = Column(String(100), nullable=False, default="")  # 网格
    industry = Column(String(50), nullable=False, default="")
    scale = Column(String(20), nullable=False, default="")  # 企业规模
    contact_name = Column(String(50), nullable=False, default="")
    contact_phone = Column(String(20), nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    assignment = relationship("Assignment", uselist=False, back_populates="enterprise")


class Butler(Base):
    """An enterprise butler (企业管家), identified by mobile phone across files."""

    __tablename__ = "butler"

    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(50), nullable=False)
    phone = Column(String(20), nullable=False, unique=True)
    department_id = Column(Integer, ForeignKey("department.id"), nullable=True, index=True)
    region = Column(String(50), nullable=False, default="")  # where most of their enterprises are
    grid = Column(String(100), nullable=False, default="")
    capacity = Column(Integer, nullable=False, default=30)  # open tickets before grid routing skips them
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    department = relationship("Department")


class Assignment(Base):
    """Which butler (and backup) serves an enterprise; one row per enterprise."""

    __tablename__ = "assignment"
    # lets grid routing read (enterprise → butler) from the index alone: at 194,000
    # enterprises PostgreSQL otherwise scans the whole table for every grid routing
    __table_args__ = (Index("ix_assignment_enterprise_butler", "enterprise_id", "butler_id"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    enterprise_id = Column(
        Integer, ForeignKey("enterprise.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    butler_id = Column(Integer, ForeignKey("butler.id"), nullable=True, index=True)
    backup_butler_id = Column(Integer, ForeignKey("butler.id"), nullable=True, index=True)
    source = Column(String(200), nullable=False, default="")  # the file it came from
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)

    enterprise = relationship("Enterprise", back_populates="assignment")
    butler = relationship("Butler", foreign_keys=[butler_id])
    backup_butler = relationship("Butler", foreign_keys=[backup_butler_id])


class Ticket(Base):
    """One appeal and where it stands in the 2110 loop.

    ``deadline_start`` is when the current round's clock started (creation or
    the last re-open); the three ``*_due`` deadlines count from it. ``version``
    makes concurrent updates fail instead of overwriting each other.
    """

    __tablename__ = "ticket"
    __table_args__ = (Index("ix_ticket_butler_status", "butler_id", "status"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    number = Column(String(20), nullable=False, unique=True)  # GD + YYYYMMDD + sequence
    idempotency_key = Column(String(128), nullable=False, unique=True)
    enterprise_id = Column(Integer, ForeignKey("enterprise.id"), nullable=False, index=True)
    butler_id = Column(Integer, ForeignKey("butler.id"), nullable=True)
    department_id = Column(Integer, ForeignKey("department.id"), nullable=True, index=True)
    category = Column(String(20), nullable=False)
    description = Column(Text, nullable=False)
    contact_name = Column(String(50), nullable=False, default="")
    contact_phone = Column(String(20), nullable=False, default="")
    urgency = Column(String(10), nullable=False, default="普通")
    channel = Column(String(30), nullable=False, default="")
    sender_id = Column(String(128), nullable=False, default="")
    status = Column(String(20), nullable=False, default="submitted", index=True)
    reopen_count = Column(Integer, nullable=False, default=0)
    escalation_level = Column(Integer, nullable=False, default=0)
    deadline_start = Column(DateTime, nullable=False)
    contact_due = Column(DateTime, nullable=False)
    answer_due = Column(DateTime, nullable=False)
    resolve_due = Column(DateTime, nullable=False)
    contacted_at = Column(DateTime, nullable=True)
    answered_at = Column(DateTime, nullable=True)  # preliminary answer (初步答复)
    resolved_at = Column(DateTime, nullable=True)  # 办结反馈: the butler marked it answered
    closed_at = Column(DateTime, nullable=True)
    # which deadlines of the current round the sweeper already escalated
    contact_overdue = Column(Boolean, nullable=False, default=False)
    answer_overdue = Column(Boolean, nullable=False, default=False)
    resolve_overdue = Column(Boolean, nullable=False, default=False)
    routing_rule = Column(String(20), nullable=False, default="")
    routing_reason = Column(Text, nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    version = Column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    enterprise = relationship("Enterprise")
    butler = relationship("Butler")
    department = relationship("Department")
    events = relationship("TicketEvent", order_by="TicketEvent.id", back_populates="ticket")
    ratings = relationship("Rating", order_by="Rating.round", back_populates="ticket")


class TicketEvent(Base):
    """One entry of a ticket's history: a status change, a message, a note or a routing."""

    __tablename__ = "ticket_event"

    id = Column(Integer, primary_key=True, autoincrement=True)
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(20), nullable=False)  # states.ACTIONS keys plus "route"
    from_status = Column(String(20), nullable=True)
    to_status = Column(String(20), nullable=True)
    actor = Column(String(100), nullable=False, default="")
    note = Column(Text, nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="events")


class Rating(Base):
    """The enterprise's verdict on one round of a ticket; one per round."""

    __tablename__ = "rating"
    __table_args__ = (UniqueConstraint("ticket_id", "round", name="uq_rating_ticket_round"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    score = Column(String(10), nullable=False)  # 满意 / 基本满意 / 不满意
    comment = Column(Text, nullable=False, default="")
    round = Column(Integer, nullable=False)  # 1 for the first answer, 2 after the first re-open…
    actor = Column(String(100), nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=utcnow)

    ticket = relationship("Ticket", back_populates="ratings")


class TicketCounter(Base):
    """The last sequence number issued per day, incremented under a row lock."""

    __tablename__ = "ticket_counter"

    day = Column(String(8), primary_key=True)  # YYYYMMDD in office-local time
    last = Column(Integer, nullable=False, default=0)


class HolidayOverride(Base):
    """An administrator's correction of the official calendar (调休, local holidays, new years)."""

    __tablename__ = "holiday_override"

    day = Column(Date, primary_key=True)
    is_working_day = Column(Boolean, nullable=False)
    name = Column(String(50), nullable=False, default="")
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class AppealNotice(Base):
    """Something the enterprise must hear about its ticket, waiting for the gateway (the outbox).

    Written in the same transaction as the change it announces, so a notice exists
    exactly when the change does; the gateway delivers it on the enterprise's live
    channel and sets ``delivered_at``.
    """

    __tablename__ = "appeal_notice"
    __table_args__ = (Index("ix_appeal_notice_delivered_id", "delivered_at", "id"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    kind = Column(String(20), nullable=False)  # routed | butler_reply | answered | reopened
    ticket_id = Column(Integer, ForeignKey("ticket.id", ondelete="CASCADE"), nullable=False, index=True)
    ticket_number = Column(String(20), nullable=False)
    sender_id = Column(String(128), nullable=False, default="")
    enterprise_id = Column(Integer, nullable=False)
    text = Column(Text, nullable=False, default="")
    urgent = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    delivered_at = Column(DateTime, nullable=True)

    ticket = relationship("Ticket")


class BindingCode(Base):
    """A one-time code a butler issues so that one chat user can bind to one enterprise.

    Only a salted SHA-256 of the six digits is kept; a code is valid until ``expires_at``
    and is spent by the first successful binding (``used_at``).
    """

    __tablename__ = "binding_code"
    __table_args__ = (Index("ix_binding_code_enterprise_expires", "enterprise_id", "expires_at"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    enterprise_id = Column(Integer, ForeignKey("enterprise.id", ondelete="CASCADE"), nullable=False)
    salt = Column(String(32), nullable=False)
    code_hash = Column(String(64), nullable=False)
    issued_by = Column(String(100), nullable=False, default="")
    issued_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    used_at = Column(DateTime, nullable=True)
    used_by = Column(String(128), nullable=False, default="")  # the subject that spent it


class EnterpriseBinding(Base):
    """A chat user (``subject``, e.g. ``wechat:<openid>``) verified as speaking for an enterprise."""

    __tablename__ = "enterprise_binding"

    id = Column(Integer, primary_key=True, autoincrement=True)
    subject = Column(String(128), nullable=False, unique=True)
    enterprise_id = Column(
        Integer, ForeignKey("enterprise.id", ondelete="CASCADE"), nullable=False, index=True
    )
    code_id = Column(Integer, ForeignKey("binding_code.id", ondelete="SET NULL"), nullable=True)
    bound_at = Column(DateTime, nullable=False, default=utcnow)


class BindingAttempt(Base):
    """One try to bind with a code: counted per subject and per enterprise for the rate limit."""

    __tablename__ = "binding_attempt"
    __table_args__ = (
        Index("ix_binding_attempt_subject_at", "subject", "at"),
        Index("ix_binding_attempt_enterprise_at", "enterprise_id", "at"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    subject = Column(String(128), nullable=False)
    enterprise_id = Column(Integer, nullable=True)  # None when the credit code is not registered
    succeeded = Column(Boolean, nullable=False, default=False)
    at = Column(DateTime, nullable=False, default=utcnow)
