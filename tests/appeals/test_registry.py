"""Registry import: files as departments send them, every error located, nothing half-written."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from appeals import registry
from appeals.credit_code import make_credit_code
from appeals.demo import generate_registry
from appeals.errors import InvalidInput
from appeals.models import Assignment, Butler, Department, Enterprise
from appeals.registry import REGISTRY_HEADERS, RegistryInvalid, RowError
from appeals.tablefile import read_table
from storage.transaction import transaction

CODE_A = make_credit_code("91990102MA0000001")
CODE_B = make_credit_code("91990102MA0000002")
CODE_C = make_credit_code("91990103MA0000003")
WRONG = CODE_A[:17] + ("0" if CODE_A[17] != "0" else "1")


def _row(**cells: str) -> dict[str, str]:
    base = dict.fromkeys(REGISTRY_HEADERS, "")
    base.update(cells)
    return base


GOOD = [
    _row(
        企业名称="示例市宏达机械制造有限公司",
        统一社会信用代码=CODE_A,
        所属区县="城东区",
        网格="东湖街道第1网格",
        行业="制造业",
        企业规模="中型",
        联系人="王经理",
        联系电话="13900000001",
        管家姓名="张三",
        管家手机="13800000001",
        管家单位="市工信局",
        备用管家姓名="李四",
        备用管家手机="13800000002",
    ),
    _row(
        企业名称="示例市恒信商贸有限公司",
        统一社会信用代码=CODE_B,
        所属区县="城东区",
        网格="东湖街道第1网格",
        行业="批发和零售业",
        联系电话="0571-88886666",
        管家姓名="张三",
        管家手机="138 0000 0001",
        管家单位="市工信局",
    ),
    _row(
        企业名称="示例市瑞丰物流有限公司", 统一社会信用代码=CODE_C, 所属区县="城西区", 行业="交通运输和仓储业"
    ),
]


def _csv(path: Path, rows: list[dict[str, str]], encoding: str = "utf-8-sig", extra: bool = True) -> Path:
    headers = [*REGISTRY_HEADERS, "备注"] if extra else list(REGISTRY_HEADERS)
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=headers, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "备注": "导入时忽略"} if extra else row)
    return path


def _import(factory: sessionmaker, path: Path) -> registry.ImportReport:
    with transaction(factory) as session:
        return registry.import_registry(session, path)


def _counts(factory: sessionmaker) -> tuple[int, int, int, int]:
    with factory() as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Enterprise, Butler, Assignment, Department)
        )


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_a_good_csv_is_imported_and_butlers_are_matched_by_phone(
    session_factory: sessionmaker, tmp_path: Path, encoding: str
) -> None:
    report = _import(session_factory, _csv(tmp_path / "登记表.csv", GOOD, encoding))
    assert (report.enterprises_created, report.butlers_created, report.departments_created) == (3, 2, 1)
    assert report.without_butler == 1
    assert _counts(session_factory) == (3, 2, 3, 1)
    with session_factory() as session:
        zhang = session.execute(select(Butler).where(Butler.phone == "13800000001")).scalar_one()
        assert (zhang.name, zhang.department.name, zhang.region, zhang.active) == (
            "张三",
            "市工信局",
            "城东区",
            True,
        )
        li = session.execute(select(Butler).where(Butler.phone == "13800000002")).scalar_one()
        assert li.department.name == "市工信局"  # a backup is taken to be the butler's colleague
        first = session.execute(select(Enterprise).where(Enterprise.credit_code == CODE_A)).scalar_one()
        assert (first.assignment.butler.name, first.assignment.backup_butler.name) == ("张三", "李四")
        served = session.execute(select(func.count()).where(Assignment.butler_id == zhang.id)).scalar_one()
        assert served == 2


def test_an_xlsx_with_numeric_phone_cells_is_imported(session_factory: sessionmaker, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["*企业名称", "统一社会信用代码（必填）", "所属区县", "管家姓名", "管家手机", "管家单位"])
    sheet.append(["示例市宏达机械制造有限公司", CODE_A, "城东区", "张三", 13800000001, "市工信局"])
    sheet.append([None, None, None, None, None, None])
    path = tmp_path / "registry.xlsx"
    book.save(path)
    report = _import(session_factory, path)
    assert (report.enterprises_created, report.butlers_created) == (1, 1)


def test_bad_rows_are_all_reported_by_row_and_column_and_nothing_is_written(
    session_factory: sessionmaker, tmp_path: Path
) -> None:
    rows = [
        GOOD[0],
        _row(企业名称="", 统一社会信用代码=WRONG, 所属区县="城东区"),
        _row(企业名称="重复公司", 统一社会信用代码=CODE_A, 所属区县="城东区"),
        _row(
            企业名称="号码错公司",
            统一社会信用代码=CODE_B,
            所属区县="",
            管家姓名="王五",
            管家手机="1380000",
            管家单位="x",
        ),
        _row(
            企业名称="同号不同名公司",
            统一社会信用代码=CODE_C,
            所属区县="城西区",
            管家姓名="赵六",
            管家手机="13800000001",
            管家单位="市工信局",
        ),
        _row(
            企业名称="缺手机公司",
            统一社会信用代码=make_credit_code("91990102MA0000009"),
            所属区县="城西区",
            管家姓名="孙七",
        ),
    ]
    path = _csv(tmp_path / "bad.csv", rows)
    with pytest.raises(RegistryInvalid) as caught:
        _import(session_factory, path)
    errors = [(e.row, e.column) for e in caught.value.errors]
    assert errors == [
        (3, "企业名称"),
        (3, "统一社会信用代码"),
        (4, "统一社会信用代码"),
        (5, "所属区县"),
        (5, "管家手机"),
        (6, "管家姓名"),
        (7, "管家手机"),
    ]
    messages = [str(e) for e in caught.value.errors]
    assert messages[1] == "第3行「统一社会信用代码」：统一社会信用代码校验位不正确，请核对后重新输入"
    assert messages[2] == f"第4行「统一社会信用代码」：{CODE_A} 与第2行重复"
    assert "在第2行登记为「张三」，这里却是「赵六」" in messages[5]
    assert "缺少管家手机" in messages[6]
    assert "有7处错误，未导入任何数据" in str(caught.value)
    assert _counts(session_factory) == (0, 0, 0, 0)


def test_a_file_without_the_required_columns_is_refused(
    session_factory: sessionmaker, tmp_path: Path
) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("公司,代码\n示例公司,123\n", encoding="utf-8")
    with pytest.raises(RegistryInvalid) as caught:
        _import(session_factory, path)
    assert caught.value.errors == [
        RowError(
            1,
            "",
            "缺少必需的列：企业名称、统一社会信用代码、所属区县（模板可用 butler registry template 生成）",
        )
    ]


def test_unreadable_files_get_a_chinese_message(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(InvalidInput, match="不支持的文件类型"):
        read_table(tmp_path / "a.txt")
    (tmp_path / "b.xlsx").write_bytes(b"not a zip")
    with pytest.raises(InvalidInput, match="无法打开 Excel 文件"):
        read_table(tmp_path / "b.xlsx")
    with pytest.raises(InvalidInput, match="找不到文件"):
        read_table(tmp_path / "missing.csv")


def test_reimporting_a_corrected_file_updates_instead_of_duplicating(
    session_factory: sessionmaker, tmp_path: Path
) -> None:
    _import(session_factory, _csv(tmp_path / "v1.csv", GOOD))
    changed = [
        dict(
            GOOD[0],
            企业名称="示例市宏达机械股份有限公司",
            管家姓名="李四",
            管家手机="13800000002",
            备用管家姓名="",
            备用管家手机="",
        )
    ]
    changed[0]["管家状态"] = "停用"
    path = tmp_path / "v2.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[*REGISTRY_HEADERS, "管家状态"])
        writer.writeheader()
        writer.writerows(changed)
    report = _import(session_factory, path)
    assert (report.enterprises_created, report.enterprises_updated, report.butlers_updated) == (0, 1, 1)
    assert _counts(session_factory) == (3, 2, 3, 1)
    with session_factory() as session:
        ent = session.execute(select(Enterprise).where(Enterprise.credit_code == CODE_A)).scalar_one()
        assert ent.name == "示例市宏达机械股份有限公司"
        assert ent.assignment.butler.name == "李四" and ent.assignment.backup_butler is None
        assert ent.assignment.butler.active is False


@pytest.mark.parametrize("name", ["模板.xlsx", "模板.csv"])
def test_the_template_has_exactly_the_expected_headers(tmp_path: Path, name: str) -> None:
    registry.write_registry_template(tmp_path / name)
    table = read_table(tmp_path / name)
    assert tuple(table.headers) == REGISTRY_HEADERS
    assert table.rows == []


def test_the_demo_registry_imports_cleanly_and_exercises_every_rule(session_factory: sessionmaker) -> None:
    with transaction(session_factory) as session:
        registry.import_departments(session, registry_demo_dir() / "departments_demo.csv")
        report = registry.import_registry(session, registry_demo_dir() / "registry_demo.csv")
        summary = registry.registry_summary(session)
    assert report.enterprises_created == 300 and report.butlers_created == 36
    assert summary["duty_queues"] == 5
    assert 0 < summary["enterprises_without_butler"] < 60
    assert 0 < summary["butlers"] - summary["butlers_active"] < 10


def test_the_demo_file_is_what_the_generator_writes() -> None:
    rows, _ = generate_registry.build()
    with (registry_demo_dir() / "registry_demo.csv").open(encoding="utf-8-sig", newline="") as handle:
        shipped = list(csv.DictReader(handle))
    assert shipped == rows
    assert all(r["管家手机"].startswith("1380000") for r in shipped if r["管家手机"])


def test_departments_file_sets_heads_and_duty_queues(session_factory: sessionmaker, tmp_path: Path) -> None:
    path = tmp_path / "departments.csv"
    path.write_text(
        "单位名称,所属区县,负责人,负责人手机,值班队列\n市工信局,,林磊,13700000002,否\n城东区营商环境办,城东区,郭娜,13700000004,是\n",
        encoding="utf-8",
    )
    with transaction(session_factory) as session:
        assert registry.import_departments(session, path) == 2
    with session_factory() as session:
        duty = session.execute(select(Department).where(Department.is_duty_queue.is_(True))).scalar_one()
    assert (duty.name, duty.region, duty.head_name) == ("城东区营商环境办", "城东区", "郭娜")
    bad = tmp_path / "bad_departments.csv"
    bad.write_text("单位名称,负责人手机,值班队列\n市工信局,12345,也许\n", encoding="utf-8")
    with pytest.raises(RegistryInvalid) as caught, transaction(session_factory) as session:
        registry.import_departments(session, bad)
    assert [(e.row, e.column) for e in caught.value.errors] == [(2, "负责人手机")]


def registry_demo_dir() -> Path:
    return Path(generate_registry.__file__).resolve().parent


def test_reimporting_the_same_file_changes_nothing(session_factory: sessionmaker) -> None:
    demo = Path(registry.__file__).parent / "demo" / "registry_demo.csv"
    first = _import(session_factory, demo)
    assert first.enterprises_created == 300 and first.enterprises_updated == 0
    again = _import(session_factory, demo)
    assert (again.enterprises_created, again.enterprises_updated, again.enterprises_unchanged) == (0, 0, 300)
    assert (again.butlers_created, again.butlers_updated) == (0, 0)
    assert again.butlers_unchanged == first.butlers_created
    assert "未变300家" in again.summary()
