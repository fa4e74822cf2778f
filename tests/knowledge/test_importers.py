"""Reading YAML, CSV (UTF-8 and GBK), Excel and the Guang'an catalogue into validated records."""

from __future__ import annotations

import collections
import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from knowledge.importers import (
    CATALOGUE_SOURCE,
    ImportReadError,
    load_records,
    read_catalogue,
    read_path,
)
from knowledge.records import FIELD_COLUMNS, ImportValidationError, ValidationProblem
from tests.knowledge.conftest import DEMO_DIR

Item = Callable[..., dict[str, Any]]
WriteYaml = Callable[[Path, list[dict[str, Any]]], Path]

HEADER = [
    "事项编码",
    "事项名称",
    "别名",
    "事项类型",
    "法定时限",
    "法定时限单位",
    "申请材料",
    "更新日期",
    "内部备注",
]
GOOD_ROWS = [
    [
        "SC-001",
        "公章刻制备案",
        "刻章；刻公章",
        "行政备案",
        "1",
        "工作日",
        "营业执照｜复印件｜1份｜必需",
        "2026-01-02",
        "x",
    ],
    ["SC-002", "食品经营许可证核发", "", "行政许可", "10", "工作日", "", "", ""],
]
BAD_ROWS = [
    ["SC-001", "公章刻制备案", "", "许可", "", "", "", "", ""],  # row 2: wrong enum
    ["SC-002", "食品经营许可证核发", "", "行政许可", "十", "工作日", "", "", ""],  # row 3: not an integer
    ["SC-003", "", "", "行政许可", "", "", "", "", ""],  # row 4: missing name
    ["SC-001", "重复编码", "", "行政许可", "", "", "", "", ""],  # row 5: duplicate id
    ["SC-005", "日期不对", "", "行政许可", "", "", "", "2026-9-1", ""],  # row 6: bad date
]
BAD_EXPECTED = [(2, "事项类型"), (3, "法定时限"), (4, "事项名称"), (5, "事项编码"), (6, "更新日期")]


def csv_bytes(rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def located(problems: list[ValidationProblem]) -> list[tuple[int | None, str]]:
    return [(p.row, p.column) for p in problems]


def test_yaml_file(tmp_path: Path, item: Item, write_yaml: WriteYaml) -> None:
    path = write_yaml(tmp_path / "guides.yaml", [item(), item(id="B", name="公章刻制备案")])
    records = load_records([path])
    assert [r.id for r in records] == ["DEMO-SCJG-013", "B"]
    assert records[0].source == "guides.yaml"


def test_yaml_directory_reads_every_file_in_name_order(
    tmp_path: Path, item: Item, write_yaml: WriteYaml
) -> None:
    write_yaml(tmp_path / "b.yml", [item(id="B1")])
    write_yaml(tmp_path / "a.yaml", [item(id="A1")])
    (tmp_path / "readme.txt").write_text("not a guide", encoding="utf-8")
    assert [r.id for r in load_records([tmp_path])] == ["A1", "B1"]


def test_yaml_scalars_stay_text(tmp_path: Path) -> None:
    """YAML 1.1 would turn these into False, 1 and 540; administrators mean the text."""
    path = tmp_path / "g.yaml"
    path.write_text(
        "items:\n  - id: 001\n    name: 测试\n    fee: no\n    hours: 9:00\n    visits:\n", encoding="utf-8"
    )
    (record,) = load_records([path])
    assert (record.id, record.fee, record.hours, record.visits) == ("001", "no", "9:00", None)


def test_yaml_syntax_error_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("items:\n  - id: A\n    name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ImportValidationError) as caught:
        load_records([path])
    (problem,) = caught.value.problems
    assert problem.source == "broken.yaml" and problem.row is not None
    assert "YAML 语法错误" in problem.message


def test_yaml_without_items_key(tmp_path: Path) -> None:
    path = tmp_path / "g.yaml"
    path.write_text("- id: A\n  name: B\n", encoding="utf-8")
    with pytest.raises(ImportValidationError, match="items"):
        load_records([path])


def test_bad_yaml_reports_item_index_and_key(tmp_path: Path, item: Item, write_yaml: WriteYaml) -> None:
    path = write_yaml(
        tmp_path / "g.yaml",
        [
            item(id="A", item_type="许可"),
            item(id="B", legal_time_limit="十"),
            item(id="C", name=None),
            item(id="A"),
            item(id="E", updated="2026-09-31"),
        ],
    )
    with pytest.raises(ImportValidationError) as caught:
        load_records([path])
    problems = caught.value.problems
    assert located(problems) == [
        (1, "item_type"),
        (2, "legal_time_limit"),
        (3, "name"),
        (4, "id"),
        (5, "updated"),
    ]
    assert problems[3].describe().startswith("g.yaml: 第4条（A） [id]")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_excel_writes(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "guides.csv"
    path.write_bytes(csv_bytes([HEADER, *GOOD_ROWS], encoding))
    records = load_records([path])
    assert [r.name for r in records] == ["公章刻制备案", "食品经营许可证核发"]
    assert records[0].aliases == ("刻章", "刻公章") and records[0].materials[0].form == "复印件"


def test_csv_skips_blank_rows_and_counts_rows_like_excel(tmp_path: Path) -> None:
    path = tmp_path / "guides.csv"
    path.write_bytes(
        csv_bytes(
            [HEADER, GOOD_ROWS[0], [""] * len(HEADER), ["SC-9", "", "", "", "", "", "", "", ""]], "utf-8"
        )
    )
    with pytest.raises(ImportValidationError) as caught:
        load_records([path])
    assert located(caught.value.problems) == [(4, "事项名称")]


def test_bad_csv_reports_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([HEADER, *BAD_ROWS], "utf-8-sig"))
    with pytest.raises(ImportValidationError) as caught:
        load_records([path])
    assert located(caught.value.problems) == BAD_EXPECTED
    assert caught.value.problems[0].describe().startswith("bad.csv: 第2行 [事项类型] 应为 行政许可/")


def test_csv_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "g.csv"
    path.write_bytes(csv_bytes([["事项编码", "别名"], ["A", "x"]], "utf-8"))
    with pytest.raises(ImportValidationError, match="表头缺少必需的列：事项名称"):
        load_records([path])


def test_xlsx_first_sheet_extra_columns_and_empty_rows(tmp_path: Path) -> None:
    rows: list[list[Any]] = [HEADER, GOOD_ROWS[0], [None] * len(HEADER), GOOD_ROWS[1]]
    rows[3] = [*rows[3][:4], 10, *rows[3][5:]]  # a real number cell
    path = write_xlsx(tmp_path / "guides.xlsx", rows)
    records = load_records([path])
    assert [r.id for r in records] == ["SC-001", "SC-002"] and records[1].legal_time_limit == 10


def test_bad_xlsx_reports_row_and_column(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "bad.xlsx", [HEADER, *BAD_ROWS])
    with pytest.raises(ImportValidationError) as caught:
        load_records([path])
    assert located(caught.value.problems) == BAD_EXPECTED


def test_problems_of_all_files_are_reported_together(
    tmp_path: Path, item: Item, write_yaml: WriteYaml
) -> None:
    yaml_path = write_yaml(tmp_path / "a.yaml", [item(id="SC-002")])
    csv_path = tmp_path / "b.csv"
    csv_path.write_bytes(csv_bytes([HEADER, *BAD_ROWS], "utf-8"))
    with pytest.raises(ImportValidationError) as caught:
        load_records([yaml_path, csv_path])
    assert [p.source for p in caught.value.problems].count("b.csv") == 6  # + SC-002 duplicated across files
    assert any("已在 a.yaml 第1条出现" in p.message for p in caught.value.problems)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.yaml", None, "文件不存在"),
        ("guides.txt", b"x", "无法识别文件类型"),
        ("old.xls", b"x", "另存为 .xlsx"),
        ("broken.xlsx", b"not a zip", "无法读取 Excel 文件 broken.xlsx"),
    ],
)
def test_unreadable_files_raise_a_chinese_message(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ImportReadError, match=message):
        read_path(path)


def test_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ImportReadError, match="目录中没有"):
        read_path(tmp_path)


def test_catalogue_entries_become_name_only_items(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text(
        '[{"department": "区教科体局", "main_item": "未分类", "name": "教师资格认定", "itemCode": "511A-1",'
        ' "taskType": "1", "link": "http://www.sczwfw.gov.cn/x"},'
        ' {"department": "区民政局", "main_item": "未分类", "name": "教师资格认定", "itemCode": "X-2",'
        ' "taskType": "99", "link": "http://www.sczwfw.gov.cn/y"}]',
        encoding="utf-8",
    )
    first, second = load_records([path], catalogue=True)
    assert (first.id, first.name, first.item_type, first.level, first.region) == (
        "511A-1",
        "教师资格认定",
        "行政许可",
        "县区",
        "广安市广安区",
    )
    assert first.online_url == "http://www.sczwfw.gov.cn/x" and first.source == CATALOGUE_SOURCE
    assert second.item_type == "其他行政权力"  # unknown taskType; the duplicated name is allowed


def test_real_guangan_catalogue(catalogue_path: Path) -> None:
    records = load_records([catalogue_path], catalogue=True)
    assert len(records) == 1135 == len({r.id for r in records})
    types = collections.Counter(r.item_type for r in records)
    assert types["行政许可"] == 536 and types["公共服务"] == 348 and types["其他行政权力"] == 182
    assert types["行政确认"] == 50 and types["行政给付"] == 9
    assert all(r.online_url.startswith("http") and r.department for r in records)
    assert len(read_catalogue(catalogue_path)) == 1135


def test_demo_directory_is_valid() -> None:
    records = load_records([DEMO_DIR])
    names = {r.name for r in records}
    assert len(records) == 60 == len(names)
    assert {"食品经营许可证核发", "排污许可证核发", "海关进出口货物收发货人备案"} <= names
    assert all(r.note for r in records)
    assert FIELD_COLUMNS  # the demo is plain YAML; nothing tabular
