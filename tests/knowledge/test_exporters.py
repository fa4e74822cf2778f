"""Export writes exactly what import reads: export → import changes nothing, in every format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from knowledge.exporters import FORMATS, to_csv, to_yaml, write_export
from knowledge.importers import load_records
from knowledge.records import FIELD_COLUMNS, GuideRecord, parse_record
from knowledge.service import import_records, knowledge_revision, list_guides
from tests.knowledge.conftest import DEMO_DIR

Item = Callable[..., dict[str, Any]]
SUFFIX = {"yaml": ".yaml", "csv": ".csv", "xlsx": ".xlsx"}


def tricky_records(item: Item) -> list[GuideRecord]:
    """Values that trip up naive writers: multi-line text, YAML look-alikes, formula-like text, empties."""
    return [
        parse_record(item(), row=1, source="t.yaml"),
        parse_record(
            item(
                id="0012",
                name="=SUM(A1)",
                aliases=["yes", "123"],
                fee="no",
                hours="9:00",
                phone="123456",
                legal_time_limit=None,
                legal_time_unit="即办",
                promised_time_limit=None,
                promised_time_unit=None,
                materials=[
                    {
                        "name": "说明",
                        "form": "电子件",
                        "copies": 0,
                        "requirement": "非必需",
                        "notes": "含｜竖线",
                    }
                ],
                steps=[],
                faqs=[{"q": "多行问题\n第二行", "a": "答｜带竖线"}],
                bundled_items=["DEMO-SCJG-013"],
                fully_online=False,
                visits=None,
                updated=None,
                note="",
            ),
            row=2,
            source="t.yaml",
        ),
        GuideRecord(id="NAME-ONLY", name="仅有名称的事项"),
    ]


def content(records: list[GuideRecord]) -> list[str]:
    return [r.content_hash() for r in records]


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip_of_records(tmp_path: Path, item: Item, fmt: str) -> None:
    records = tricky_records(item)
    path = tmp_path / f"export{SUFFIX[fmt]}"
    write_export(records, fmt, path)
    assert content(load_records([path])) == content(records)


@pytest.mark.parametrize("fmt", FORMATS)
def test_export_then_import_is_a_no_op(session_factory: Any, tmp_path: Path, fmt: str) -> None:
    with session_factory.begin() as session:
        import_records(session=session, records=load_records([DEMO_DIR]), source="demo")
    with session_factory() as session:
        records = [GuideRecord.from_item(i) for i in list_guides(session=session)]
        revision = knowledge_revision(session=session)
    path = tmp_path / f"all{SUFFIX[fmt]}"
    write_export(records, fmt, path)
    with session_factory.begin() as session:
        report = import_records(session=session, records=load_records([path]), source=path.name)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 60)
    with session_factory() as session:
        assert knowledge_revision(session=session) == revision
        assert {i.version for i in list_guides(session=session)} == {1}


def test_csv_starts_with_bom_and_chinese_header(item: Item) -> None:
    text = to_csv(tricky_records(item))
    assert text.startswith("\ufeff事项编码,事项名称,别名,")
    assert "营业执照｜复印件｜2份｜容缺" in text and ",是," in text


def test_yaml_has_top_level_items_and_block_text(item: Item) -> None:
    text = to_yaml(tricky_records(item))
    assert text.startswith("items:\n- id: DEMO-SCJG-013\n")
    assert "conditions: |-\n" in text and "updated: 2026-09-01\n" in text


def test_xlsx_header_and_formula_like_text(tmp_path: Path, item: Item) -> None:
    path = tmp_path / "g.xlsx"
    write_export(tricky_records(item), "xlsx", path)
    sheet = openpyxl.load_workbook(path).worksheets[0]
    assert [c.value for c in sheet[1]] == list(FIELD_COLUMNS.values())
    assert sheet["B3"].value == "=SUM(A1)" and sheet["B3"].data_type == "s"


def test_failed_export_leaves_the_old_file(
    tmp_path: Path, item: Item, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("old", encoding="utf-8")

    def broken(records: Any) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr("knowledge.exporters.to_yaml", broken)
    with pytest.raises(RuntimeError):
        write_export(tricky_records(item), "yaml", path)
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["g.yaml"]


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="未知的导出格式"):
        write_export([], "pdf", tmp_path / "x.pdf")
