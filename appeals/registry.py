"""The enterprise-butler registry as departments report it: one spreadsheet row per enterprise.

An import is all-or-nothing: every row is checked first and any problem is
reported by row and column with nothing written; only a clean file is applied,
in the caller's transaction. Enterprises are matched by credit code and butlers
by mobile phone, so re-importing a corrected file updates instead of
duplicating. Departments (heads and duty queues) come from a second, smaller
file, because departments maintain those themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appeals.credit_code import InvalidCreditCode, validate_credit_code
from appeals.errors import InvalidInput
from appeals.models import Assignment, Butler, Department, Enterprise, Ticket
from appeals.phones import validate_contact_phone, validate_mobile
from appeals.states import OPEN_STATUSES
from appeals.tablefile import Table, read_table, write_template

REGISTRY_HEADERS: tuple[str, ...] = (
    "企业名称",
    "统一社会信用代码",
    "所属区县",
    "网格",
    "行业",
    "企业规模",
    "联系人",
    "联系电话",
    "管家姓名",
    "管家手机",
    "管家单位",
    "备用管家姓名",
    "备用管家手机",
)
REQUIRED_HEADERS: tuple[str, ...] = ("企业名称", "统一社会信用代码", "所属区县")
STATUS_HEADER = "管家状态"  # optional: 在岗 (default) or 停用
DEPARTMENT_HEADERS: tuple[str, ...] = ("单位名称", "所属区县", "负责人", "负责人手机", "值班队列")

_ACTIVE = {"", "在岗", "正常", "是", "启用"}
_INACTIVE = {"停用", "离岗", "离职", "调离", "否"}
_YES = {"是", "y", "yes", "1", "true"}
_NO = {"", "否", "n", "no", "0", "false"}

TEMPLATE_NOTES: tuple[str, ...] = (
    "每行一家企业；表头必须保留，可以增加其他列（导入时忽略）。",
    "必填：企业名称、统一社会信用代码（18位，按 GB 32100-2015 校验）、所属区县。",
    "管家以“管家手机”识别：同一手机号在各行的管家姓名必须一致；填写管家手机时须同时填写管家姓名和管家单位。",
    "备用管家可不填；填写时须同时填写备用管家姓名和备用管家手机，且不能与管家相同。",
    "可选列“管家状态”：在岗（默认）或停用；停用的管家不再接收新工单，由备用管家或网格内其他管家受理。",
    "文件任何一行有错误时整份文件都不会导入，请按错误报告逐行修改后重新导入。",
)


@dataclass(frozen=True)
class RowError:
    """One problem, located the way a person finds it in the spreadsheet."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"第{self.row}行" + (f"「{self.column}」" if self.column else "")
        return f"{where}：{self.message}"


class RegistryInvalid(InvalidInput):
    """The file has errors; nothing was imported. ``errors`` lists them all."""

    def __init__(self, errors: list[RowError], name: str) -> None:
        self.errors = errors
        super().__init__(f"文件「{name}」有{len(errors)}处错误，未导入任何数据")


@dataclass
class _ButlerRow:
    phone: str
    name: str
    department: str = ""
    active: bool | None = None
    first_row: int = 0
    serves: list[tuple[str, str]] = field(default_factory=list)  # (region, grid) of primary enterprises


@dataclass(frozen=True)
class _EnterpriseRow:
    row: int
    name: str
    credit_code: str
    region: str
    grid: str
    industry: str
    scale: str
    contact_name: str
    contact_phone: str
    butler_phone: str
    backup_phone: str


@dataclass
class RegistryPlan:
    """A validated file, ready to apply; ``errors`` non-empty means it must not be."""

    enterprises: list[_EnterpriseRow] = field(default_factory=list)
    butlers: dict[str, _ButlerRow] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


@dataclass
class ImportReport:
    """What an import changed, for the administrator's confirmation."""

    enterprises_created: int = 0
    enterprises_updated: int = 0
    butlers_created: int = 0
    butlers_updated: int = 0
    departments_created: int = 0
    without_butler: int = 0
    enterprises_unchanged: int = 0
    butlers_unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counts."""
        return asdict(self)

    def summary(self) -> str:
        """One Chinese line for the CLI."""
        return (
            f"导入完成：新增企业{self.enterprises_created}家，更新{self.enterprises_updated}家，"
            f"未变{self.enterprises_unchanged}家；新增管家{self.butlers_created}名，更新{self.butlers_updated}名，"
            f"未变{self.butlers_unchanged}名；"
            f"新增单位{self.departments_created}个；未配管家的企业{self.without_butler}家。"
        )


def _person(
    plan: RegistryPlan,
    row: int,
    cells: dict[str, str],
    name_col: str,
    phone_col: str,
) -> str:
    """Validate a (name, phone) pair; returns the phone ('' if none) and records errors."""
    name, raw = cells.get(name_col, ""), cells.get(phone_col, "")
    if not raw:
        if name:
            plan.errors.append(
                RowError(row, phone_col, f"填写了{name_col}「{name}」但缺少{phone_col}（管家以手机号识别）")
            )
        return ""
    try:
        phone = validate_mobile(raw)
    except InvalidInput as exc:
        plan.errors.append(RowError(row, phone_col, str(exc)))
        return ""
    if not name:
        plan.errors.append(RowError(row, name_col, f"填写了{phone_col}但缺少{name_col}"))
        return ""
    if len(name) > 50:
        plan.errors.append(RowError(row, name_col, "姓名过长（最多50字）"))
        return ""
    known = plan.butlers.get(phone)
    if known is None:
        plan.butlers[phone] = _ButlerRow(phone=phone, name=name, first_row=row)
    elif known.name != name:
        plan.errors.append(
            RowError(
                row,
                name_col,
                f"手机号 {phone} 在第{known.first_row}行登记为「{known.name}」，这里却是「{name}」",
            )
        )
        return ""
    return phone


def _status(plan: RegistryPlan, row: int, cells: dict[str, str], phone: str) -> None:
    if STATUS_HEADER not in cells or not phone:
        return
    value = cells[STATUS_HEADER]
    if value not in _ACTIVE | _INACTIVE:
        plan.errors.append(RowError(row, STATUS_HEADER, f"应填“在岗”或“停用”，不能是「{value}」"))
        return
    active = value in _ACTIVE
    butler = plan.butlers[phone]
    if butler.active is not None and butler.active != active:
        plan.errors.append(
            RowError(row, STATUS_HEADER, f"管家{butler.name}的状态与第{butler.first_row}行不一致")
        )
        return
    butler.active = active


def parse_registry(table: Table) -> RegistryPlan:
    """Check every row; the plan carries all errors so one run reports them all."""
    plan = RegistryPlan()
    missing = [h for h in REQUIRED_HEADERS if h not in table.headers]
    if missing:
        plan.errors.append(
            RowError(1, "", f"缺少必需的列：{'、'.join(missing)}（模板可用 butler registry template 生成）")
        )
        return plan
    if not table.rows:
        plan.errors.append(RowError(2, "", "文件没有数据行"))
        return plan
    seen_codes: dict[str, int] = {}
    for row, cells in table.rows:
        before = len(plan.errors)
        name = cells.get("企业名称", "")
        if not name:
            plan.errors.append(RowError(row, "企业名称", "不能为空"))
        elif len(name) > 200:
            plan.errors.append(RowError(row, "企业名称", "过长（最多200字）"))
        code = ""
        try:
            code = validate_credit_code(cells.get("统一社会信用代码", ""))
        except InvalidCreditCode as exc:
            plan.errors.append(RowError(row, "统一社会信用代码", exc.message))
        if code and code in seen_codes:
            plan.errors.append(RowError(row, "统一社会信用代码", f"{code} 与第{seen_codes[code]}行重复"))
        elif code:
            seen_codes[code] = row
        region = cells.get("所属区县", "")
        if not region:
            plan.errors.append(RowError(row, "所属区县", "不能为空"))
        contact_phone = cells.get("联系电话", "")
        if contact_phone:
            try:
                contact_phone = validate_contact_phone(contact_phone)
            except InvalidInput as exc:
                plan.errors.append(RowError(row, "联系电话", str(exc)))
        butler = _person(plan, row, cells, "管家姓名", "管家手机")
        backup = _person(plan, row, cells, "备用管家姓名", "备用管家手机")
        if butler and backup and butler == backup:
            plan.errors.append(RowError(row, "备用管家手机", "备用管家不能与管家是同一人"))
        if butler:
            department = cells.get("管家单位", "")
            known = plan.butlers[butler]
            if not department:
                plan.errors.append(RowError(row, "管家单位", "填写管家时须同时填写管家单位"))
            elif known.department and known.department != department and known.serves:
                plan.errors.append(
                    RowError(
                        row,
                        "管家单位",
                        f"管家{known.name}在第{known.first_row}行的单位是「{known.department}」",
                    )
                )
            else:
                known.department = department
                known.serves.append((region, cells.get("网格", "")))
        if backup and not plan.butlers[backup].department:
            plan.butlers[backup].department = cells.get("管家单位", "")  # a backup is usually a colleague
        _status(plan, row, cells, butler)
        if len(plan.errors) == before:
            plan.enterprises.append(
                _EnterpriseRow(
                    row=row,
                    name=name,
                    credit_code=code,
                    region=region[:50],
                    grid=cells.get("网格", "")[:100],
                    industry=cells.get("行业", "")[:50],
                    scale=cells.get("企业规模", "")[:20],
                    contact_name=cells.get("联系人", "")[:50],
                    contact_phone=contact_phone,
                    butler_phone=butler,
                    backup_phone=backup,
                )
            )
    return plan


def _departments(session: Session, names: Iterable[str], report: ImportReport) -> dict[str, Department]:
    wanted = {n for n in names if n}
    found = {
        d.name: d for d in session.execute(select(Department).where(Department.name.in_(wanted))).scalars()
    }
    for name in sorted(wanted - found.keys()):
        found[name] = Department(name=name)
        session.add(found[name])
        report.departments_created += 1
    session.flush()
    return found


def _home(serves: list[tuple[str, str]]) -> tuple[str, str]:
    """A butler's district and grid: where most of their enterprises are."""
    if not serves:
        return "", ""
    region = Counter(r for r, _ in serves).most_common(1)[0][0]
    grid = Counter(g for r, g in serves if r == region).most_common(1)[0][0]
    return region, grid


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def apply_registry(session: Session, plan: RegistryPlan, source: str) -> ImportReport:
    """Write a clean plan in the caller's transaction (upsert by credit code and phone)."""
    if plan.errors:
        raise RegistryInvalid(plan.errors, source)
    report = ImportReport()
    departments = _departments(session, (b.department for b in plan.butlers.values()), report)
    phones = list(plan.butlers)
    butlers: dict[str, Butler] = {}
    for chunk in _chunks(phones):
        butlers.update(
            {b.phone: b for b in session.execute(select(Butler).where(Butler.phone.in_(chunk))).scalars()}
        )
    changed_butlers: set[str] = set()
    for phone, person in plan.butlers.items():
        region, grid = _home(person.serves)
        department = departments.get(person.department)
        butler = butlers.get(phone)
        if butler is None:
            butler = Butler(phone=phone, name=person.name, active=person.active is not False)
            session.add(butler)
            butlers[phone] = butler
            report.butlers_created += 1
            changed_butlers.add(phone)
        elif _set_changed(butler, name=person.name):
            changed_butlers.add(phone)
        if person.active is not None and _set_changed(butler, active=person.active):
            changed_butlers.add(phone)
        if (
            department is not None
            and (person.serves or butler.department_id is None)
            and _set_changed(butler, department_id=department.id)
        ):
            changed_butlers.add(phone)
        if region and _set_changed(butler, region=region, grid=grid):
            changed_butlers.add(phone)
    existing_butlers = len(plan.butlers) - report.butlers_created
    report.butlers_updated = len(changed_butlers) - report.butlers_created
    report.butlers_unchanged = existing_butlers - report.butlers_updated
    session.flush()

    codes = [e.credit_code for e in plan.enterprises]
    existing: dict[str, Enterprise] = {}
    for chunk in _chunks(codes):
        existing.update(
            {
                e.credit_code: e
                for e in session.execute(
                    select(Enterprise).where(Enterprise.credit_code.in_(chunk))
                ).scalars()
            }
        )
    existing_before = set(existing)
    rows_by_code = {e.credit_code: e for e in plan.enterprises}
    changed_enterprises: set[str] = set()
    for code, row in rows_by_code.items():
        enterprise = existing.get(code)
        if enterprise is None:
            enterprise = Enterprise(credit_code=code)
            session.add(enterprise)
            existing[code] = enterprise
            report.enterprises_created += 1
        if _set_changed(
            enterprise,
            name=row.name,
            region=row.region,
            grid=row.grid,
            industry=row.industry,
            scale=row.scale,
            contact_name=row.contact_name,
            contact_phone=row.contact_phone,
        ):
            changed_enterprises.add(code)
    session.flush()

    ids = [existing[c].id for c in codes]
    assignments: dict[int, Assignment] = {}
    for start in range(0, len(ids), 500):
        chunk_ids = ids[start : start + 500]
        assignments.update(
            {
                a.enterprise_id: a
                for a in session.execute(
                    select(Assignment).where(Assignment.enterprise_id.in_(chunk_ids))
                ).scalars()
            }
        )
    for code, row in rows_by_code.items():
        enterprise = existing[code]
        assignment = assignments.get(enterprise.id)
        if assignment is None:
            assignment = Assignment(enterprise_id=enterprise.id)
            session.add(assignment)
        if _set_changed(
            assignment,
            butler_id=butlers[row.butler_phone].id if row.butler_phone else None,
            backup_butler_id=butlers[row.backup_phone].id if row.backup_phone else None,
        ):
            changed_enterprises.add(code)
            assignment.source = source[:200]
        if not row.butler_phone:
            report.without_butler += 1
    session.flush()
    updated = changed_enterprises - {c for c in rows_by_code if c not in existing_before}
    report.enterprises_updated = len(updated)
    report.enterprises_unchanged = len(rows_by_code) - report.enterprises_created - len(updated)
    return report


def _set_changed(row: Any, **values: Any) -> bool:
    """Set the values on a row; True if any of them was different (a re-import changes nothing)."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


def import_registry(session: Session, path: Path) -> ImportReport:
    """Read, check and apply a registry file; ``RegistryInvalid`` lists every error."""
    plan = parse_registry(read_table(path))
    if plan.errors:
        raise RegistryInvalid(plan.errors, path.name)
    return apply_registry(session, plan, path.name)


def write_registry_template(path: Path) -> None:
    """An empty registry file with the expected headers (and notes, for .xlsx)."""
    write_template(path, REGISTRY_HEADERS, TEMPLATE_NOTES)


# -- departments ------------------------------------------------------------------------


def import_departments(session: Session, path: Path) -> int:
    """Upsert departments (head, duty queue) from 单位名称/所属区县/负责人/负责人手机/值班队列."""
    table = read_table(path)
    errors: list[RowError] = []
    if "单位名称" not in table.headers:
        raise RegistryInvalid(
            [RowError(1, "", f"缺少列：单位名称（表头应为：{'、'.join(DEPARTMENT_HEADERS)}）")], path.name
        )
    parsed: dict[str, tuple[str, str, str, bool]] = {}
    for row, cells in table.rows:
        name = cells.get("单位名称", "")
        if not name:
            errors.append(RowError(row, "单位名称", "不能为空"))
            continue
        phone = cells.get("负责人手机", "")
        if phone:
            try:
                phone = validate_mobile(phone)
            except InvalidInput as exc:
                errors.append(RowError(row, "负责人手机", str(exc)))
                continue
        flag = cells.get("值班队列", "").strip().lower()
        if flag not in _YES | _NO:
            errors.append(RowError(row, "值班队列", f"应填“是”或“否”，不能是「{flag}」"))
            continue
        if name in parsed:
            errors.append(RowError(row, "单位名称", f"「{name}」重复"))
            continue
        parsed[name] = (cells.get("所属区县", "")[:50], cells.get("负责人", "")[:50], phone, flag in _YES)
    if errors:
        raise RegistryInvalid(errors, path.name)
    existing = {
        d.name: d for d in session.execute(select(Department).where(Department.name.in_(parsed))).scalars()
    }
    for name, (region, head, phone, duty) in parsed.items():
        department = existing.get(name) or Department(name=name)
        department.region, department.head_name, department.head_phone = region, head, phone
        department.is_duty_queue = duty
        session.add(department)
    session.flush()
    return len(parsed)


def write_departments_template(path: Path) -> None:
    """An empty departments file."""
    write_template(path, DEPARTMENT_HEADERS, ("值班队列填“是”的单位接收无人可派的工单，优先本区县。",))


# -- overview ---------------------------------------------------------------------------


def registry_summary(session: Session) -> dict[str, int]:
    """Counts an administrator checks after an import."""

    def count(query: Any) -> int:
        return int(session.execute(query).scalar_one())

    return {
        "enterprises": count(select(func.count(Enterprise.id))),
        "butlers": count(select(func.count(Butler.id))),
        "butlers_active": count(select(func.count(Butler.id)).where(Butler.active.is_(True))),
        "departments": count(select(func.count(Department.id))),
        "duty_queues": count(select(func.count(Department.id)).where(Department.is_duty_queue.is_(True))),
        "enterprises_without_butler": count(
            select(func.count(Enterprise.id))
            .select_from(Enterprise)
            .outerjoin(Assignment, Assignment.enterprise_id == Enterprise.id)
            .where(Assignment.butler_id.is_(None))
        ),
        "open_tickets": count(select(func.count(Ticket.id)).where(Ticket.status.in_(OPEN_STATUSES))),
    }
