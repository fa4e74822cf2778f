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
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from knowledge.dense import MIN_SITUATION_CHARS
from knowledge.models import GuideItem
from knowledge.records import GuideRecord
from knowledge.service import import_records
from knowledge.text import has_meaningful_text, normalize, segments, without_control

MAX_TAUGHT_CHARS = 200  # a 适用情形 line is one situation; a longer text is a complaint or a document
SOURCE = "butler kb teach"  # the revision's source; the guide keeps the source it was imported from
# a table cell separates 适用情形 lines with ；, ; or a line break (knowledge/records.py): inside one
# line they become a comma, or an export would come back as several lines, or not import at all;
# tabs and other spaces collapse into one
_LINE_BREAKERS = re.compile(r"[；;\r\n\u2028\u2029]+")


class TeachingError(ValueError):
    """The question or the item cannot be taught; the message says why, in Chinese."""


@dataclass(frozen=True)
class TeachingReport:
    items: tuple[str, ...]  # the names of the items taught (regional copies of one item are one name)
    added: int  # items whose 适用情形 got the line (0: every copy had it already)
    revision: int  # the knowledge revision after the change
    # the line is shorter than what the meaning is taught from (MIN_SITUATION_CHARS): the words alone use it
    words_only: bool = False


def _items_named(session: Session, item: str) -> list[GuideItem]:
    """The full guides ``item`` names, by its id or its name: every regional copy of the item."""
    wanted = item.strip()
    by_id = session.get(GuideItem, wanted)
    if by_id is not None and not by_id.has_guide:
        return []
    name = normalize(str(by_id.name) if by_id is not None else wanted, None)
    rows = session.execute(select(GuideItem).where(GuideItem.has_guide.is_(True))).scalars()
    return [row for row in rows if normalize(str(row.name), None) == name]


def _same_words(text: str) -> str:
    """What two lines are compared on: normalised, without spaces or punctuation."""
    return "".join(segments(normalize(text, None)))


def clean_question(question: str) -> str:
    """The question as one 适用情形 line: no control characters, no line separators, single spaces."""
    text = without_control(_LINE_BREAKERS.sub("，", question or ""))
    return " ".join(text.split()).strip("，")


def teach_question(*, session: Session, question: str, item: str) -> TeachingReport:
    """Add ``question`` to the 适用情形 of the item ``item`` names (id or exact name), in every regional
    copy; a line it already has (the same words, whatever the spaces, punctuation or script) is not
    added twice. Raises TeachingError for an empty or
    overlong question or an item without a full guide; the caller's transaction is left untouched."""
    text = clean_question(question)
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
    key = _same_words(text)
    records = []
    for target in targets:
        record = GuideRecord.from_item(target)
        if any(_same_words(line) == key for line in record.situations):
            continue
        records.append(dataclasses.replace(record, situations=(*record.situations, text)))
    report = import_records(session=session, records=records, source=SOURCE, revision_source=SOURCE)
    names = tuple(dict.fromkeys(str(t.name) for t in targets))
    short = len(normalize(text)) < MIN_SITUATION_CHARS
    return TeachingReport(items=names, added=report.updated, revision=report.revision, words_only=short)
