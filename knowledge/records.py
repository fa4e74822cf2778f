"""A guide item as plain data, and the one validator every import format goes through.

YAML, CSV, Excel and the catalogue all end up as mappings handed to ``parse_record``, so
the rules (required fields, enums, integers, dates, list shapes) live in one place and
every problem is reported in the administrator's own terms: the Chinese column header for
spreadsheets, the YAML key for YAML.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge.models import ITEM_TYPES, LEVELS, MATERIAL_FORMS, MATERIAL_REQUIREMENTS, TIME_UNITS

# Spreadsheet header of every field, in the order of docs/knowledge-format.md.
FIELD_COLUMNS: dict[str, str] = {
    "id": "事项编码",
    "name": "事项名称",
    "aliases": "别名",
    "item_type": "事项类型",
    "department": "实施机关",
    "level": "层级",
    "region": "区域",
    "legal_basis": "设定依据",
    "conditions": "受理条件",
    "situations": "适用情形",
    "materials": "申请材料",
    "steps": "办理流程",
    "legal_time_limit": "法定时限",
    "legal_time_unit": "法定时限单位",
    "promised_time_limit": "承诺时限",
    "promised_time_unit": "承诺时限单位",
    "fee": "收费标准",
    "location": "办理地点",
    "hours": "办理时间",
    "phone": "咨询电话",
    "online_url": "在线办理地址",
    "fully_online": "全程网办",
    "visits": "跑动次数",
    "faqs": "常见问题",
    "bundled_items": "关联事项",
    "note": "备注",
    "updated": "更新日期",
}
COLUMN_FIELDS: dict[str, str] = {column: name for name, column in FIELD_COLUMNS.items()}
# Keys a YAML item may carry: every spreadsheet field plus its provenance.
YAML_KEYS: tuple[str, ...] = (*FIELD_COLUMNS, "source")

LIST_SEPARATOR = "；"  # between aliases / bundled ids inside one cell
PART_SEPARATOR = "｜"  # between the parts of one material / step / FAQ line
_LIST_SPLIT = re.compile(r"[；;\n]")
_PART_SPLIT = re.compile(r"[｜|]")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # Excel cannot store these
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_TRUE = {"是", "true", "yes", "y", "1", "√"}
_FALSE = {"否", "false", "no", "n", "0", "×"}
# Database column widths; longer values would be cut or refused by PostgreSQL.
_MAX_LENGTH = {
    "id": 64,
    "name": 200,
    "department": 100,
    "region": 100,
    "phone": 100,
    "online_url": 500,
    "source": 200,
}
_MAX_INT = 2_147_483_647  # INTEGER columns in PostgreSQL
_MATERIAL_KEYS = ("name", "form", "copies", "requirement", "notes")
_STEP_KEYS = ("name", "description")
_FAQ_KEYS = ("q", "a")
_PART_LABELS = {
    "name": "名称",
    "form": "形式",
    "copies": "份数",
    "requirement": "要求",
    "notes": "备注",
    "description": "说明",
    "q": "问",
    "a": "答",
}
_PART_REQUIRED = {"materials": ("name",), "steps": ("name",), "faqs": ("q", "a")}


@dataclass(frozen=True)
class Material:
    name: str
    form: str
    copies: int
    requirement: str
    notes: str = ""


@dataclass(frozen=True)
class Step:
    name: str
    description: str = ""


@dataclass(frozen=True)
class Faq:
    q: str
    a: str


@dataclass(frozen=True)
class GuideRecord:
    """The content of one guide item, independent of the database row that stores it."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    item_type: str = "公共服务"
    department: str = ""
    level: str = "市"
    region: str = ""
    legal_basis: str = ""
    conditions: str = ""
    situations: tuple[str, ...] = ()  # 适用情形, in the words enterprises use
    materials: tuple[Material, ...] = ()
    steps: tuple[Step, ...] = ()
    legal_time_limit: int | None = None
    legal_time_unit: str | None = None
    promised_time_limit: int | None = None
    promised_time_unit: str | None = None
    fee: str = ""
    location: str = ""
    hours: str = ""
    phone: str = ""
    online_url: str = ""
    fully_online: bool = False
    visits: int | None = None
    faqs: tuple[Faq, ...] = ()
    bundled_items: tuple[str, ...] = ()
    note: str = ""
    source: str = ""
    updated: dt.date | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, the shape of the guide_item columns (lists of dicts, ISO date)."""
        data: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in ("aliases", "situations", "bundled_items"):
                value = list(value)
            elif f.name in ("materials", "steps", "faqs"):
                value = [dataclasses.asdict(part) for part in value]
            elif f.name == "updated":
                value = value.isoformat() if value else None
            data[f.name] = value
        return data

    def content_hash(self) -> str:
        """sha256 of the canonical content; ``source`` is provenance, not content, so it is left out
        (re-importing the same guide from an exported file must not count as a change)."""
        content = {k: v for k, v in self.to_dict().items() if k != "source"}
        if not content["situations"]:
            del content["situations"]  # added later: a guide without them keeps the hash it always had
        canonical = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GuideRecord:
        """Inverse of ``to_dict`` for data that is already valid (database rows, revisions)."""
        updated = data.get("updated")
        if isinstance(updated, str):
            updated = dt.date.fromisoformat(updated)
        return cls(
            id=data["id"],
            name=data["name"],
            aliases=tuple(data.get("aliases") or ()),
            item_type=data.get("item_type") or "公共服务",
            department=data.get("department") or "",
            level=data.get("level") or "市",
            region=data.get("region") or "",
            legal_basis=data.get("legal_basis") or "",
            conditions=data.get("conditions") or "",
            situations=tuple(data.get("situations") or ()),
            materials=tuple(Material(**m) for m in data.get("materials") or ()),
            steps=tuple(Step(**s) for s in data.get("steps") or ()),
            legal_time_limit=data.get("legal_time_limit"),
            legal_time_unit=data.get("legal_time_unit"),
            promised_time_limit=data.get("promised_time_limit"),
            promised_time_unit=data.get("promised_time_unit"),
            fee=data.get("fee") or "",
            location=data.get("location") or "",
            hours=data.get("hours") or "",
            phone=data.get("phone") or "",
            online_url=data.get("online_url") or "",
            fully_online=bool(data.get("fully_online")),
            visits=data.get("visits"),
            faqs=tuple(Faq(**q) for q in data.get("faqs") or ()),
            bundled_items=tuple(data.get("bundled_items") or ()),
            note=data.get("note") or "",
            source=data.get("source") or "",
            updated=updated,
        )

    @classmethod
    def from_item(cls, item: Any) -> GuideRecord:
        """Read the content columns of a ``GuideItem`` row."""
        return cls.from_dict({f.name: getattr(item, f.name) for f in dataclasses.fields(cls)})


@dataclass(frozen=True)
class ValidationProblem:
    """One thing wrong with one field of one row, located the way the administrator sees the file."""

    row: int | None
    column: str
    message: str
    source: str = ""
    item_id: str = ""
    unit: str = "行"  # "行" for a spreadsheet row or a YAML line, "条" for the n-th YAML item

    def describe(self) -> str:
        parts = [f"{self.source}:"] if self.source else []
        if self.row is not None:
            where = f"第{self.row}{self.unit}"
            if self.unit == "条":
                where += f"（{self.item_id or '无编码'}）"
            parts.append(where)
        if self.column:
            parts.append(f"[{self.column}]")
        parts.append(self.message)
        return " ".join(parts)


class ImportValidationError(Exception):
    """The input has problems; nothing may be written. Carries every problem found, not just the first."""

    def __init__(self, problems: Sequence[ValidationProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(p.describe() for p in self.problems))


@dataclass(frozen=True)
class RawRecord:
    """One item as read from a file, before validation; ``row`` is what the problem report shows."""

    data: Mapping[str, Any]
    row: int | None
    source: str


@dataclass
class _Checker:
    """Collects the problems of one record while converting its fields."""

    row: int | None
    source: str
    tabular: bool
    item_id: str = ""
    problems: list[ValidationProblem] = field(default_factory=list)

    def column(self, name: str) -> str:
        return FIELD_COLUMNS.get(name, name) if self.tabular else name

    def problem(self, name: str, message: str) -> None:
        self.problems.append(
            ValidationProblem(
                row=self.row,
                column=self.column(name),
                message=message,
                source=self.source,
                item_id=self.item_id,
                unit="行" if self.tabular else "条",
            )
        )

    def text(self, name: str, value: Any, *, required: bool = False) -> str:
        result = _as_text(value)
        if result is None:
            self.problem(name, f"应为文本，实际为{_show(value)}")
            return ""
        if required and not result:
            self.problem(name, "必填，不能为空")
        if _CONTROL.search(result):
            self.problem(name, "包含不可见的控制字符，请删除后重试")
        limit = _MAX_LENGTH.get(name)
        if limit and len(result) > limit:
            self.problem(name, f"过长：最多 {limit} 个字，实际 {len(result)} 个字")
        return result

    def enum(self, name: str, value: Any, allowed: Sequence[str], default: str | None) -> str | None:
        result = _as_text(value)
        if not result:
            return default
        if result not in allowed:
            self.problem(name, f"应为 {'/'.join(allowed)} 之一，实际为{_show(value)}")
        return result

    def integer(self, name: str, value: Any) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        number = _as_int(value)
        if number is None:
            self.problem(name, f"应为非负整数，实际为{_show(value)}")
        elif number < 0:
            self.problem(name, f"不能为负数，实际为 {number}")
        elif number > _MAX_INT:
            self.problem(name, f"数值过大，实际为 {number}")
        return number

    def boolean(self, name: str, value: Any) -> bool:
        if value is None or isinstance(value, bool):
            return bool(value)
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        text = _as_text(value)
        if text is not None and text.lower() in _TRUE:
            return True
        if text is not None and (not text or text.lower() in _FALSE):
            return False
        self.problem(name, f"应为 是 或 否，实际为{_show(value)}")
        return False

    def date(self, name: str, value: Any) -> dt.date | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, dt.datetime):  # Excel date cells
            return value.date()
        if isinstance(value, dt.date):  # e.g. from yaml.safe_load
            return value
        if isinstance(value, str) and _DATE.match(value.strip()):
            try:
                return dt.date.fromisoformat(value.strip())
            except ValueError:
                pass
        self.problem(name, f"日期应为 YYYY-MM-DD 格式的有效日期，实际为{_show(value)}")
        return None

    def url(self, name: str, value: Any) -> str:
        result = self.text(name, value)
        if result and not _URL.match(result):
            self.problem(name, f"应以 http:// 或 https:// 开头，实际为{_show(result)}")
        return result

    def words(self, name: str, value: Any) -> tuple[str, ...]:
        """A list of short strings: a YAML list, or one cell separated by ``；``."""
        if value is None:
            return ()
        if not isinstance(value, list):
            text = _as_text(value)
            if text is None:
                self.problem(name, f"应为列表，实际为{_show(value)}")
                return ()
            return tuple(part.strip() for part in _LIST_SPLIT.split(text) if part.strip())
        result = []
        for index, element in enumerate(value, start=1):
            text = _as_text(element)
            if not text:
                self.problem(name, f"第{index}项应为非空文本，实际为{_show(element)}")
            elif _LIST_SPLIT.search(text):
                self.problem(name, f"第{index}项不能包含“；”或换行（表格中用它分隔各项）")
            else:
                result.append(text)
        return tuple(result)

    def parts(self, name: str, value: Any, keys: Sequence[str], example: str) -> list[dict[str, Any]]:
        """A list of small mappings: YAML mappings, or one line per element inside a cell."""
        if self.tabular and not isinstance(value, str) and _as_text(value) is not None:
            value = _as_text(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            return []
        elements: list[tuple[str, dict[str, Any]]] = []
        if isinstance(value, str):
            lines = [line.strip() for line in value.splitlines() if line.strip()]
            for index, line in enumerate(lines, start=1):
                pieces = [p.strip() for p in _PART_SPLIT.split(line, maxsplit=len(keys) - 1)]
                if name == "materials" and len(pieces) < 4:
                    self.problem(name, f"第{index}条格式应为“{example}”，实际为“{line}”")
                    continue
                elements.append((f"第{index}条", dict(zip(keys, pieces, strict=False))))
        elif isinstance(value, list) and not self.tabular:
            for index, element in enumerate(value, start=1):
                label = f"第{index}项"
                if not isinstance(element, Mapping):
                    self.problem(name, f"{label}应为包含 {'、'.join(keys)} 的映射，实际为{_show(element)}")
                    continue
                unknown = [str(k) for k in element if k not in keys]
                if unknown:
                    self.problem(name, f"{label}有未知字段 {'、'.join(unknown)}（可用：{'、'.join(keys)}）")
                elements.append((label, dict(element)))
        else:
            self.problem(name, f"应为列表，实际为{_show(value)}")
        return [self._part(name, label, element, keys) for label, element in elements]

    def _part(self, name: str, label: str, element: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for position, key in enumerate(keys):
            raw = element.get(key)
            what = f"{label}的{_PART_LABELS[key]}" if self.tabular else f"{label}的“{key}”"
            if key == "copies":
                raw = raw.strip().removesuffix("份") if isinstance(raw, str) else raw
                copies = 1 if raw is None or raw == "" else _as_int(raw)
                if copies is None or copies < 0:
                    self.problem(name, f"{what}应为非负整数，实际为{_show(element.get(key))}")
                result[key] = copies if copies is not None and copies >= 0 else 0
                continue
            text = _as_text(raw)
            if text is None:
                self.problem(name, f"{what}应为文本，实际为{_show(raw)}")
                text = ""
            text = re.sub(r"\s*\n\s*", " ", text)  # a cell holds one element per line
            if _CONTROL.search(text):
                self.problem(name, f"{what}包含不可见的控制字符，请删除后重试")
            if position < len(keys) - 1 and _PART_SPLIT.search(text):
                self.problem(name, f"{what}不能包含“｜”（表格中用它分隔各部分）")
            result[key] = text
        if name == "materials":
            for key, allowed in (("form", MATERIAL_FORMS), ("requirement", MATERIAL_REQUIREMENTS)):
                if result[key] not in allowed:
                    what = f"{label}的{_PART_LABELS[key]}" if self.tabular else f"{label}的“{key}”"
                    self.problem(name, f"{what}应为 {'/'.join(allowed)} 之一，实际为{_show(result[key])}")
        for key in _PART_REQUIRED[name]:
            if not result[key]:
                what = _PART_LABELS[key] if self.tabular else key
                self.problem(name, f"{label}缺少{what}")
        return result


def _as_text(value: Any) -> str | None:
    """Cell or YAML scalar as stripped text; None when it is not a scalar text can come from."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    return None


def _show(value: Any) -> str:
    """A value quoted for a problem message, short enough for one line."""
    if value is None or value == "":
        return "空值"
    if isinstance(value, bool):
        return f"“{'true' if value else 'false'}”"
    if isinstance(value, list):
        return "列表"
    if isinstance(value, Mapping):
        return "映射"
    text = str(value).replace("\n", " ")
    return f"“{text[:40]}…”" if len(text) > 40 else f"“{text}”"


_ORDER = {name: index for index, name in enumerate((*YAML_KEYS, *FIELD_COLUMNS.values()))}


def _column_order(problem: ValidationProblem) -> int:
    """Problems of one item in the order its fields appear in the file; unknown keys first."""
    return _ORDER[problem.column] % len(YAML_KEYS) if problem.column in _ORDER else -1


def _is_tabular(raw: Mapping[str, Any]) -> bool:
    """Spreadsheet rows are keyed by the Chinese headers, YAML items by field names."""
    return any(isinstance(key, str) and key in COLUMN_FIELDS for key in raw)


def parse_record(raw: Mapping[str, Any], *, row: int | None, source: str) -> GuideRecord:
    """Validate one raw item and build its record, or raise ``ImportValidationError`` with every problem.

    ``raw`` is keyed by Chinese headers (CSV/Excel) or by field names (YAML, catalogue);
    ``source`` names the file in messages and is the record's provenance when the item has none.
    """
    tabular = _is_tabular(raw)
    data: dict[str, Any]
    if tabular:
        data = {COLUMN_FIELDS[k]: v for k, v in raw.items() if isinstance(k, str) and k in COLUMN_FIELDS}
    else:
        data = dict(raw)
    check = _Checker(row=row, source=source, tabular=tabular, item_id=_as_text(data.get("id")) or "")
    if not tabular:
        for key in data:
            if key not in YAML_KEYS:
                check.problem(str(key), f"未知字段（可用字段：{', '.join(YAML_KEYS)}）")

    record_id = check.text("id", data.get("id"), required=True)
    if _LIST_SPLIT.search(record_id) or _PART_SPLIT.search(record_id):
        check.problem("id", "不能包含“；”“｜”或换行")
    limits = {}
    for prefix in ("legal", "promised"):
        limit = check.integer(f"{prefix}_time_limit", data.get(f"{prefix}_time_limit"))
        unit = check.enum(f"{prefix}_time_unit", data.get(f"{prefix}_time_unit"), TIME_UNITS, None)
        if limit is not None and unit is None:
            check.problem(f"{prefix}_time_unit", "填写了时限，但没有填写时限单位")
        limits[prefix] = (limit, unit)
    record = GuideRecord(
        id=record_id,
        name=check.text("name", data.get("name"), required=True),
        aliases=check.words("aliases", data.get("aliases")),
        item_type=check.enum("item_type", data.get("item_type"), ITEM_TYPES, "公共服务") or "公共服务",
        department=check.text("department", data.get("department")),
        level=check.enum("level", data.get("level"), LEVELS, "市") or "市",
        region=check.text("region", data.get("region")),
        legal_basis=check.text("legal_basis", data.get("legal_basis")),
        conditions=check.text("conditions", data.get("conditions")),
        situations=check.words("situations", data.get("situations")),
        materials=tuple(
            Material(**m)
            for m in check.parts(
                "materials", data.get("materials"), _MATERIAL_KEYS, "名称｜原件｜1份｜必需｜备注"
            )
        ),
        steps=tuple(Step(**s) for s in check.parts("steps", data.get("steps"), _STEP_KEYS, "名称｜说明")),
        legal_time_limit=limits["legal"][0],
        legal_time_unit=limits["legal"][1],
        promised_time_limit=limits["promised"][0],
        promised_time_unit=limits["promised"][1],
        fee=check.text("fee", data.get("fee")),
        location=check.text("location", data.get("location")),
        hours=check.text("hours", data.get("hours")),
        phone=check.text("phone", data.get("phone")),
        online_url=check.url("online_url", data.get("online_url")),
        fully_online=check.boolean("fully_online", data.get("fully_online")),
        visits=check.integer("visits", data.get("visits")),
        faqs=tuple(Faq(**q) for q in check.parts("faqs", data.get("faqs"), _FAQ_KEYS, "问｜答")),
        bundled_items=check.words("bundled_items", data.get("bundled_items")),
        note=check.text("note", data.get("note")),
        source=check.text("source", data.get("source")) or source[: _MAX_LENGTH["source"]],
        updated=check.date("updated", data.get("updated")),
    )
    if check.problems:
        raise ImportValidationError(sorted(check.problems, key=_column_order))
    return record


def parse_records(raws: Iterable[RawRecord]) -> list[GuideRecord]:
    """Validate a whole batch; duplicate ids anywhere in it are a problem too. All problems or all records."""
    records: list[GuideRecord] = []
    problems: list[ValidationProblem] = []
    first_seen: dict[str, RawRecord] = {}
    for raw in raws:
        try:
            records.append(parse_record(raw.data, row=raw.row, source=raw.source))
        except ImportValidationError as exc:
            problems.extend(exc.problems)
        tabular = _is_tabular(raw.data)
        record_id = _as_text(raw.data.get(FIELD_COLUMNS["id"] if tabular else "id"))
        if not record_id:
            continue
        earlier = first_seen.setdefault(record_id, raw)
        if earlier is raw:
            continue
        where = f" {earlier.source} " if earlier.source != raw.source else ""
        earlier_unit = "行" if _is_tabular(earlier.data) else "条"
        problems.append(
            ValidationProblem(
                row=raw.row,
                column=FIELD_COLUMNS["id"] if tabular else "id",
                message=f"事项编码“{record_id}”重复，已在{where}第{earlier.row}{earlier_unit}出现",
                source=raw.source,
                item_id=record_id,
                unit="行" if tabular else "条",
            )
        )
    if problems:
        raise ImportValidationError(problems)
    return records
