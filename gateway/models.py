"""The gateway's own table: the opaque tokens web-chat clients keep to come back to a conversation.

Only a SHA-256 of each token is stored (tokens are 256-bit random, so a slow hash adds
nothing), so a copy of the database cannot be used to read anyone's conversation.
The foreign key to ``conversation`` is created by the migration (0005); this metadata
is separate from ``conversations.models``'.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, Integer, String
from sqlalchemy.orm import declarative_base

from appeals.clock import utcnow

Base: Any = declarative_base()


class ChatToken(Base):
    """One client credential for one conversation; ``expires_at`` NULL means it does not expire."""

    __tablename__ = "chat_token"

    id = Column(Integer, primary_key=True, autoincrement=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    conversation_id = Column(Integer, nullable=False, index=True)
    sender = Column(String(128), nullable=False)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=True)
