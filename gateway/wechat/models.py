"""The gateway's WeChat tables: who each openid is, the customer-service quota, pushes already seen.

``wechat_user`` keeps, per openid, the hash its conversations are named after (the
openid itself never appears in a sender, a log line or the console), the current
customer-service window (how many ``custom/send`` messages the last user action
allows and until when) and the last frame of its push conversation delivered through
``custom/send``, so a restart neither loses nor repeats a reply. ``wechat_push`` holds
the dedupe key of every push processed: WeChat's retries find it and stop there.
Created by migration 0006; this metadata is separate from the domain packages'.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, Integer, String
from sqlalchemy.orm import declarative_base

from appeals.clock import utcnow

Base: Any = declarative_base()


class WeChatUser(Base):
    """One openid of the mini-program, with its customer-service window and delivery cursor."""

    __tablename__ = "wechat_user"

    id = Column(Integer, primary_key=True, autoincrement=True)
    openid = Column(String(64), nullable=False, unique=True)
    key = Column(String(32), nullable=False, unique=True)  # hash of the openid, names the conversations
    window_limit = Column(Integer, nullable=False, default=0)  # custom/send messages the last action allows
    window_sent = Column(Integer, nullable=False, default=0)
    window_expires_at = Column(DateTime, nullable=True)
    last_delivered_seq = Column(Integer, nullable=False, default=0)
    # frames up to this seq were announced by a subscribe message while no custom/send was allowed
    fallback_seq = Column(Integer, nullable=False, default=0)
    # the frames whose buttons were last shown as numbered options (0, 0: none)
    choices_from_seq = Column(Integer, nullable=False, default=0)
    choices_to_seq = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow, onupdate=utcnow)


class WeChatPush(Base):
    """A push already accepted (by ``MsgId``, or sender and time for events): retries stop here."""

    __tablename__ = "wechat_push"

    id = Column(Integer, primary_key=True, autoincrement=True)
    dedupe_key = Column(String(200), nullable=False, unique=True)
    received_at = Column(DateTime, nullable=False, default=utcnow)
