"""Tables of the enterprise conversations: one row per sender, every turn, and the canned replies.

The hand-off state lives here, not in Rasa, so a restart of either process loses
none of it. ``version`` is bumped by every change to a conversation so two
butlers acting at the same moment cannot overwrite each other (see
``conversations.service``). Times are naive UTC (``appeals.clock``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.orm import declarative_base

from appeals.clock import utcnow

Base: Any = declarative_base()

# the hand-off states: the assistant answers, a person is awaited, a butler holds it
STATES = ("bot", "waiting", "butler")
# who wrote a turn; ``note`` is internal to the console and never reaches the enterprise
ROLES = ("enterprise", "bot", "butler", "system", "note")


class Conversation(Base):
    """One enterprise conversation (one chat sender) and where its hand-off stands.

    ``butler_id`` is the appeals butler who holds it (state ``butler``) or held
    it last, so a butler keeps seeing a conversation they served. Foreign keys
    to the registry are by id only: this package's metadata is separate from
    ``appeals.models``' and the migration creates the constraints.
    """

    __tablename__ = "conversation"
    __table_args__ = (
        Index("ix_conversation_state_waiting", "state", "waiting_since"),
        CheckConstraint("state IN ('bot', 'waiting', 'butler')", name="ck_conversation_state"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    sender = Column(String(128), nullable=False, unique=True)
    channel = Column(String(30), nullable=False, default="")
    enterprise_id = Column(Integer, nullable=True, index=True)  # verified identity only
    state = Column(String(10), nullable=False, default="bot")
    handoff_reason = Column(String(200), nullable=False, default="")
    waiting_since = Column(DateTime, nullable=True)
    butler_id = Column(Integer, nullable=True, index=True)
    butler_name = Column(String(50), nullable=False, default="")
    last_seq = Column(Integer, nullable=False, default=0)
    unanswered_streak = Column(Integer, nullable=False, default=0)
    last_butler_activity_at = Column(DateTime, nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    version = Column(Integer, nullable=False, default=1)


class ConversationMessage(Base):
    """One turn of a conversation; ``seq`` numbers the frames the enterprise receives."""

    __tablename__ = "conversation_message"
    __table_args__ = (
        # one frame per number; internal notes share the number of the frame they follow
        Index(
            "uq_conversation_message_seq",
            "conversation_id",
            "seq",
            unique=True,
            sqlite_where=sql_text("role <> 'note'"),
            postgresql_where=sql_text("role <> 'note'"),
        ),
        UniqueConstraint("conversation_id", "client_message_id", name="uq_conversation_message_client_id"),
        CheckConstraint(
            "role IN ('enterprise', 'bot', 'butler', 'system', 'note')", name="ck_conversation_message_role"
        ),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(
        Integer, ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False, index=True
    )
    seq = Column(Integer, nullable=False)
    role = Column(String(10), nullable=False)
    text = Column(Text, nullable=False, default="")
    custom = Column(JSON, nullable=True)
    buttons = Column(JSON, nullable=True)
    client_message_id = Column(String(64), nullable=True)
    author = Column(String(50), nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=utcnow)


class CannedReply(Base):
    """A phrase butlers send often (常用语); administrators keep the list in the database."""

    __tablename__ = "canned_reply"

    id = Column(Integer, primary_key=True, autoincrement=True)
    title = Column(String(50), nullable=False)
    text = Column(Text, nullable=False)
    position = Column(Integer, nullable=False, default=0)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
