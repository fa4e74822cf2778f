"""Writing the knowledge base: versions, revisions, no-op re-imports, rollback, unanswered log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from knowledge.models import GuideItem, GuideRevision
from knowledge.records import GuideRecord, parse_record
from knowledge.service import (
    get_guide,
    import_records,
    knowledge_revision,
    list_guides,
    list_revisions,
    list_unanswered,
    log_unanswered,
)

Item = Callable[..., dict[str, Any]]


def record(item: Item, **overrides: Any) -> GuideRecord:
    return parse_record(item(**overrides), row=1, source="test.yaml")


def revision_rows(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(GuideRevision)).scalar_one())


def test_first_import_creates_version_1(session: Session, item: Item) -> None:
    report = import_records(session=session, records=[record(item), record(item, id="B")], source="t")
    session.commit()
    assert (report.created, report.updated, report.unchanged, report.revision) == (2, 0, 0, 1)
    stored = get_guide(session=session, guide_id="DEMO-SCJG-013")
    assert stored is not None and stored.version == 1 and stored.has_guide
    assert stored.content_hash == record(item).content_hash()
    assert stored.updated == dt.date(2026, 9, 1) and stored.source == "test.yaml"
    assert GuideRecord.from_item(stored) == record(item)
    assert revision_rows(session) == 2 and knowledge_revision(session=session) == 1


def test_reimport_is_a_no_op(session: Session, item: Item) -> None:
    import_records(session=session, records=[record(item)], source="t")
    session.commit()
    before = get_guide(session=session, guide_id="DEMO-SCJG-013")
    assert before is not None
    modified = before.modified_at
    report = import_records(session=session, records=[record(item)], source="other")
    session.commit()
    assert (report.created, report.updated, report.unchanged) == (0, 0, 1)
    assert not report.changed and report.revision == 1 == knowledge_revision(session=session)
    after = get_guide(session=session, guide_id="DEMO-SCJG-013")
    assert after is not None and after.version == 1 and after.modified_at == modified
    assert revision_rows(session) == 1


def test_changed_item_gets_version_2_and_a_revision(session: Session, item: Item) -> None:
    import_records(session=session, records=[record(item), record(item, id="B")], source="t")
    session.commit()
    report = import_records(
        session=session, records=[record(item, fee="按标准收费"), record(item, id="B")], source="t2"
    )
    session.commit()
    assert (report.created, report.updated, report.unchanged, report.revision) == (0, 1, 1, 2)
    stored = get_guide(session=session, guide_id="DEMO-SCJG-013")
    assert stored is not None and stored.version == 2 and stored.fee == "按标准收费"
    revisions = list_revisions(session=session, guide_id="DEMO-SCJG-013")
    assert [r.version for r in revisions] == [1, 2]
    assert revisions[0].content["fee"] == "不收费" and revisions[1].content["fee"] == "按标准收费"
    assert revisions[1].content_hash == stored.content_hash


def test_name_only_entry_never_overwrites_a_full_guide(session: Session, item: Item) -> None:
    import_records(session=session, records=[record(item)], source="t")
    bare = GuideRecord(id="DEMO-SCJG-013", name="食品经营许可证核发")
    report = import_records(session=session, records=[bare], source="catalogue", has_guide=False)
    assert (report.unchanged, report.kept, report.updated) == (1, 1, 0)
    stored = get_guide(session=session, guide_id="DEMO-SCJG-013")
    assert stored is not None and stored.has_guide and stored.materials


def test_full_guide_replaces_name_only_entry(session: Session, item: Item) -> None:
    bare = GuideRecord(id="DEMO-SCJG-013", name="食品经营许可证核发")
    import_records(session=session, records=[bare], source="catalogue", has_guide=False)
    stored = get_guide(session=session, guide_id="DEMO-SCJG-013")
    assert stored is not None and not stored.has_guide
    report = import_records(session=session, records=[record(item)], source="t")
    assert report.updated == 1 and stored.has_guide and stored.version == 2


def test_progress_every_100_and_at_the_end(session: Session) -> None:
    calls: list[tuple[int, int]] = []
    records = [GuideRecord(id=f"ID-{n:03d}", name=f"事项{n}") for n in range(250)]
    import_records(session=session, records=records, source="t", progress=lambda d, t: calls.append((d, t)))
    assert calls == [(100, 250), (200, 250), (250, 250)]


def test_failure_rolls_back_everything(session_factory: sessionmaker, item: Item) -> None:
    def explode(done: int, total: int) -> None:
        raise RuntimeError("disk full")

    records = [GuideRecord(id=f"ID-{n:03d}", name=f"事项{n}") for n in range(150)]
    with pytest.raises(RuntimeError), session_factory.begin() as session:
        import_records(session=session, records=records, source="t", progress=explode)
    with session_factory() as session:
        assert list_guides(session=session) == [] and knowledge_revision(session=session) == 0
        assert revision_rows(session) == 0


def test_list_guides_filters(session: Session, item: Item) -> None:
    import_records(
        session=session,
        records=[
            record(item),
            record(item, id="B", name="公章刻制备案", item_type="行政备案", department="公安局"),
        ],
        source="t",
    )
    import_records(
        session=session, records=[GuideRecord(id="C", name="目录条目")], source="c", has_guide=False
    )
    assert [g.id for g in list_guides(session=session)] == ["B", "C", "DEMO-SCJG-013"]
    assert [g.id for g in list_guides(session=session, has_guide=True)] == ["B", "DEMO-SCJG-013"]
    assert [g.id for g in list_guides(session=session, item_type="行政备案")] == ["B"]
    assert [g.id for g in list_guides(session=session, department="公安局")] == ["B"]
    assert [g.id for g in list_guides(session=session, name_contains="许可")] == ["DEMO-SCJG-013"]
    assert [g.id for g in list_guides(session=session, limit=1, offset=1)] == ["C"]
    assert get_guide(session=session, guide_id="nope") is None
    assert isinstance(get_guide(session=session, guide_id="C"), GuideItem)


def test_unanswered_questions_are_logged_newest_first(session: Session) -> None:
    first = log_unanswered(
        session=session, text=" 办酒类许可要啥？ ", sender_id="u1", best_guess=None, confidence=None
    )
    second = log_unanswered(
        session=session, text="开超市", sender_id="u2", best_guess="食品经营许可证核发", confidence=0.4123
    )
    first.asked_at = second.asked_at - dt.timedelta(hours=2)
    session.commit()
    questions = list_unanswered(session=session)
    assert [q.text for q in questions] == ["开超市", "办酒类许可要啥？"]
    assert questions[0].best_guess == "食品经营许可证核发" and questions[0].confidence == "0.41"
    assert questions[1].best_guess == "" and questions[1].confidence == ""
    assert [q.text for q in list_unanswered(session=session, limit=1)] == ["开超市"]
    assert [
        q.text for q in list_unanswered(session=session, since=second.asked_at - dt.timedelta(hours=1))
    ] == ["开超市"]


def test_unanswered_values_fit_their_columns(session: Session) -> None:
    question = log_unanswered(
        session=session, text="问", sender_id="s" * 300, best_guess="g" * 300, confidence="c" * 30
    )
    assert (len(question.sender_id), len(question.best_guess), len(question.confidence)) == (128, 200, 20)
    with pytest.raises(ValueError, match="问题内容为空"):
        log_unanswered(session=session, text="  ", sender_id="", best_guess="", confidence="")
