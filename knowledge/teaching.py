"""Teaching the knowledge base a question an enterprise asked, as one more 适用情形 line of its item.

A butler who sees a question missed (the unanswered log, a wrong answer) knows which
item it meant. Adding the question, in the enterprise's own words, to that item's
适用情形 teaches both the words and the meaning classifier (knowledge/dense.py): the
live index rebuilds in the background on the next revision, no model is retrained.
Measured on the held-out set in docs/nlu-pipeline.md (the demo guides were taught the
tuning sets' questions by bench/teach_demo.py).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.models import GuideItem
from knowledge.records import GuideRecord
from knowledge.service import import_records
from knowledge.text import has_meaningful_text, normalize

MAX_TAUGHT_CHARS = 200  # a 适用情形 line is one situation; a longer text is a complaint or a document
SOURCE = "butler kb teach"


class TeachingError(ValueError):
    """The question or the item cannot be taught; the message says why, in Chinese."""


@dataclass(frozen=True)
class TeachingReport:
    items: tuple[str, ...]  # the names of the items taught (regional copies of one item are one name)
    added: int  # items whose 适用情形 got the line (0: every copy had it already)
    revision: int  # the knowledge revision after the change


def _items_named(session: Session, item: str) -> list[GuideItem]:
    """The full guides ``item`` names: its id, or its name (every regional copy of it)."""
    wanted = item.strip()
    by_id = session.get(GuideItem, wanted)
    if by_id is not None:
        return [by_id] if by_id.has_guide else []
    name = normalize(wanted, None)
    rows = session.execute(select(GuideItem).where(GuideItem.has_guide.is_(True))).scalars()
    return [row for row in rows if normalize(str(row.name), None) == name]


def teach_question(*, session: Session, question: str, item: str) -> TeachingReport:
    """Add ``question`` to the 适用情形 of the item ``item`` names (id or exact name); a line it
    already has (after normalising) is not added twice. Raises TeachingError for an empty or
    overlong question or an item without a full guide; the caller's transaction is left untouched."""
    text = " ".join((question or "").split())
    if not has_meaningful_text(text):
        raise TeachingError("问题内容为空，没有可学习的说法")
    if len(text) > MAX_TAUGHT_CHARS:
        raise TeachingError(
            f"问题太长（{len(text)} 字），请只保留说明要办什么事的一两句（不超过 {MAX_TAUGHT_CHARS} 字）"
        )
    if not (item or "").strip():
        raise TeachingError("请写明这句话问的是哪个事项（事项名称或编码）")
    targets = _items_named(session, item)
    if not targets:
        raise TeachingError(f"没有找到有办事指南的事项：{item.strip()}（请写完整的事项名称或事项编码）")
    key = normalize(text, None)
    records = []
    for target in targets:
        record = GuideRecord.from_item(target)
        if any(normalize(line, None) == key for line in record.situations):
            continue
        records.append(dataclasses.replace(record, situations=(*record.situations, text), source=SOURCE))
    report = import_records(session=session, records=records, source=SOURCE)
    names = tuple(dict.fromkeys(str(t.name) for t in targets))
    return TeachingReport(items=names, added=report.updated, revision=report.revision)
