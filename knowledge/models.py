"""Tables of the service-guide knowledge base (办事指南).

A guide item keeps the fields real portals publish. Lists with inner structure
(materials, steps, FAQs) are JSON columns: they are always read and written with
their item, never queried on their own. Every change of content makes a new
``GuideRevision`` row, so an administrator can see what an import changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base

Base: Any = declarative_base()

ITEM_TYPES = (
    "行政许可",
    "行政确认",
    "行政备案",
    "行政给付",
    "行政奖励",
    "行政裁决",
    "行政征收",
    "其他行政权力",
    "公共服务",
    "备案",
    "一件事",
)
LEVELS = ("市", "县区", "乡镇街道", "村社区")
TIME_UNITS = ("工作日", "自然日", "小时", "即办")
MATERIAL_FORMS = ("原件", "复印件", "原件和复印件", "电子件")
MATERIAL_REQUIREMENTS = ("必需", "容缺", "非必需")

DEMO_NOTE = "示例数据，以当地政务服务网公布为准"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class GuideItem(Base):
    """One service item (事项) as it is published now."""

    __tablename__ = "guide_item"

    id = Column(String(64), primary_key=True)  # stable code, e.g. the portal's itemCode
    name = Column(String(200), nullable=False, index=True)  # 事项名称
    aliases = Column(JSON, nullable=False, default=list)  # list[str]
    item_type = Column(String(20), nullable=False, default="公共服务")  # ITEM_TYPES
    department = Column(String(100), nullable=False, default="")  # 实施机关
    level = Column(String(10), nullable=False, default="市")  # LEVELS
    region = Column(String(100), nullable=False, default="")
    legal_basis = Column(Text, nullable=False, default="")  # 设定依据
    conditions = Column(Text, nullable=False, default="")  # 受理条件
    # 适用情形: the situations that need the item, in the words enterprises use (list[str]); searched
    situations = Column(JSON, nullable=False, default=list)
    # list of {"name", "form" (MATERIAL_FORMS), "copies" (int), "requirement" (MATERIAL_REQUIREMENTS), "notes"}
    materials = Column(JSON, nullable=False, default=list)
    steps = Column(JSON, nullable=False, default=list)  # list of {"name", "description"}
    legal_time_limit = Column(Integer, nullable=True)  # 法定时限
    legal_time_unit = Column(String(10), nullable=True)  # TIME_UNITS
    promised_time_limit = Column(Integer, nullable=True)  # 承诺时限
    promised_time_unit = Column(String(10), nullable=True)
    fee = Column(Text, nullable=False, default="")  # 收费标准, or "不收费"
    location = Column(Text, nullable=False, default="")  # 办理地点
    hours = Column(Text, nullable=False, default="")  # 办理时间
    phone = Column(String(100), nullable=False, default="")  # 咨询电话
    online_url = Column(String(500), nullable=False, default="")
    fully_online = Column(Boolean, nullable=False, default=False)  # 全程网办
    visits = Column(Integer, nullable=True)  # 跑动次数
    faqs = Column(JSON, nullable=False, default=list)  # list of {"q", "a"}
    bundled_items = Column(JSON, nullable=False, default=list)  # 一件事: ids of the items it bundles
    note = Column(Text, nullable=False, default="")  # e.g. DEMO_NOTE
    source = Column(String(200), nullable=False, default="")  # where the record came from
    updated = Column(Date, nullable=True)  # the date the department last updated the guide
    version = Column(Integer, nullable=False, default=1)
    content_hash = Column(String(64), nullable=False)
    has_guide = Column(Boolean, nullable=False, default=True)  # False for name-only catalogue entries
    created_at = Column(DateTime, nullable=False, default=utcnow)
    modified_at = Column(DateTime, nullable=False, default=utcnow)


class GuideRevision(Base):
    """The content of an item at each version, kept for audit and rollback."""

    __tablename__ = "guide_revision"
    __table_args__ = (UniqueConstraint("guide_id", "version"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    guide_id = Column(String(64), ForeignKey("guide_item.id", ondelete="CASCADE"), nullable=False, index=True)
    version = Column(Integer, nullable=False)
    content = Column(JSON, nullable=False)
    content_hash = Column(String(64), nullable=False)
    source = Column(String(200), nullable=False, default="")
    created_at = Column(DateTime, nullable=False, default=utcnow)


class KnowledgeState(Base):
    """A single row whose revision grows with every committed change, so readers know when to reload."""

    __tablename__ = "knowledge_state"

    id = Column(Integer, primary_key=True)
    revision = Column(Integer, nullable=False, default=0)
    changed_at = Column(DateTime, nullable=False, default=utcnow)


class UnansweredQuestion(Base):
    """A question the assistant could not answer, for administrators to close the gap."""

    __tablename__ = "unanswered_question"

    id = Column(Integer, primary_key=True, autoincrement=True)
    text = Column(Text, nullable=False)
    sender_id = Column(String(128), nullable=False, default="")
    best_guess = Column(String(200), nullable=False, default="")  # top candidate name, if any
    confidence = Column(String(20), nullable=False, default="")
    asked_at = Column(DateTime, nullable=False, default=utcnow, index=True)
