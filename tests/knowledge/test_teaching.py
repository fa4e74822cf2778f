"""Teaching an item a question an enterprise asked: one 适用情形 line, in every copy, once, and safe in a table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from knowledge.exporters import to_csv
from knowledge.importers import read_csv
from knowledge.records import GuideRecord, parse_records
from knowledge.service import get_guide, import_records, list_revisions
from knowledge.teaching import TeachingError, teach_question
from tests.knowledge.conftest import make_item


def _import(session_factory: sessionmaker, *items: dict[str, Any]) -> None:
    from knowledge.records import RawRecord

    records = parse_records([RawRecord(item, None, "test.yaml") for item in items])
    with session_factory.begin() as session:
        import_records(session=session, records=records, source="test.yaml")


def _situations(session_factory: sessionmaker, guide_id: str) -> tuple[str, ...]:
    with session_factory() as session:
        item = get_guide(session=session, guide_id=guide_id)
        assert item is not None
        return tuple(item.situations)


def test_every_regional_copy_learns_the_question_whether_named_by_id_or_name(
    session_factory: sessionmaker,
) -> None:
    _import(session_factory, make_item(), make_item(id="COPY-B", region="示例县", level="县区"))
    with session_factory.begin() as session:
        report = teach_question(session=session, question="楼下想开个卖卤菜的小档口", item="DEMO-SCJG-013")
    assert report.added == 2 and report.items == ("食品经营许可证核发",) and not report.words_only
    for guide_id in ("DEMO-SCJG-013", "COPY-B"):
        assert _situations(session_factory, guide_id)[-1] == "楼下想开个卖卤菜的小档口"
    with session_factory() as session:
        item = get_guide(session=session, guide_id="COPY-B")
        revisions = list_revisions(session=session, guide_id="COPY-B")
        assert item is not None and item.source == "test.yaml"  # where the guide came from is kept
        assert revisions[-1].source == "butler kb teach"  # the change says what made it


@pytest.mark.parametrize(
    "again", ["楼下想开个 卖卤菜的小档口。", "樓下想開個賣滷菜的小檔口", "  楼下想开个卖卤菜的小档口！ "]
)
def test_the_same_words_again_change_nothing(session_factory: sessionmaker, again: str) -> None:
    _import(session_factory, make_item())
    with session_factory.begin() as session:
        teach_question(session=session, question="楼下想开个卖卤菜的小档口", item="食品经营许可证核发")
    with session_factory.begin() as session:
        report = teach_question(session=session, question=again, item="食品经营许可证核发")
    assert report.added == 0
    assert _situations(session_factory, "DEMO-SCJG-013").count("楼下想开个卖卤菜的小档口") == 1
    # a line the guide had before is the same words too
    with session_factory.begin() as session:
        assert (
            teach_question(session=session, question="奶茶店开张前。", item="食品经营许可证核发").added == 0
        )


def test_a_line_with_a_table_separator_survives_an_export_and_back(
    session_factory: sessionmaker, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _import(session_factory, make_item())
    with session_factory.begin() as session:
        teach_question(session=session, question="卖卤菜；要办什么证呢\n急\x07", item="食品经营许可证核发")
    line = _situations(session_factory, "DEMO-SCJG-013")[-1]
    assert line == "卖卤菜，要办什么证呢，急"
    with session_factory() as session:
        item = get_guide(session=session, guide_id="DEMO-SCJG-013")
        path = tmp_path / "guides.csv"
        path.write_text(to_csv([GuideRecord.from_item(item)]), encoding="utf-8")
    (back,) = parse_records(read_csv(path))
    assert back.situations[-1] == line and len(back.situations) == len(
        _situations(session_factory, "DEMO-SCJG-013")
    )


def test_a_short_line_is_kept_for_the_words_and_said_so(session_factory: sessionmaker) -> None:
    _import(session_factory, make_item())
    with session_factory.begin() as session:
        report = teach_question(session=session, question="卖卤菜", item="食品经营许可证核发")
    assert report.added == 1 and report.words_only


def test_a_name_only_catalogue_entry_cannot_be_taught(session_factory: sessionmaker) -> None:
    from knowledge.records import RawRecord

    records = parse_records([RawRecord({"id": "CAT-1", "name": "犬只登记"}, None, "catalogue")])
    with session_factory.begin() as session:
        import_records(session=session, records=records, source="catalogue", has_guide=False)
    with (
        session_factory.begin() as session,
        pytest.raises(TeachingError, match="没有找到有办事指南的事项：CAT-1"),
    ):
        teach_question(session=session, question="家里养了只狗要去哪登记", item="CAT-1")
