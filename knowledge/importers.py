"""Read guide files (YAML, CSV, Excel) and the Guang'an catalogue into raw rows for validation.

Readers only turn bytes into mappings with row numbers; ``records.parse_records`` decides
what is valid. A file that cannot be opened at all raises ``ImportReadError``; a file that
opens but is shaped wrongly (YAML syntax, missing header) yields validation problems so the
administrator sees the problems of every file in one run.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import yaml

from knowledge.records import (
    COLUMN_FIELDS,
    FIELD_COLUMNS,
    GuideRecord,
    ImportValidationError,
    RawRecord,
    ValidationProblem,
    parse_records,
)

YAML_SUFFIXES = (".yaml", ".yml")
CSV_SUFFIXES = (".csv",)
XLSX_SUFFIXES = (".xlsx", ".xlsm")
REQUIRED_COLUMNS = (FIELD_COLUMNS["id"], FIELD_COLUMNS["name"])

CATALOGUE_SOURCE = "v-luobo/zwfw bszl-data.js (Apache-2.0)"
CATALOGUE_LEVEL = "县区"
CATALOGUE_REGION = "广安市广安区"
# taskType of the Sichuan portal (四川政务服务网) follows the national 事项类型 codes. The names and
# the type letter inside each itemCode agree: 1/A 许可, 5/G 给付 (补贴发放、扶助金), 7/F 确认
# (称号授予、户口恢复), 8/H 奖励, 9/E 裁决, 10/Z 其他, 20 公共服务. Types without a counterpart
# in ITEM_TYPES (处罚 2, 强制 3, 检查 6) and unknown codes become 其他行政权力.
CATALOGUE_TASK_TYPES = {
    "1": "行政许可",
    "4": "行政征收",
    "5": "行政给付",
    "7": "行政确认",
    "8": "行政奖励",
    "9": "行政裁决",
    "10": "其他行政权力",
    "20": "公共服务",
}
CATALOGUE_DEFAULT_TYPE = "其他行政权力"


class ImportReadError(Exception):
    """A file that cannot be read at all (missing, unknown kind, corrupt); the message is for the user."""


class _YamlLoader(yaml.BaseLoader):
    """Plain scalars stay text, so ``no`` is not False, ``001`` keeps its zeros and ``9:00`` is not 540;
    only an empty value or ``null``/``~`` means "not given". The validator converts the rest."""


_YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_YamlLoader.add_constructor("tag:yaml.org,2002:null", lambda _loader, _node: None)


def _problem(source: str, message: str, row: int | None = None) -> ImportValidationError:
    return ImportValidationError([ValidationProblem(row=row, column="", message=message, source=source)])


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ImportReadError(f"文件不存在：{path}") from None
    except IsADirectoryError:
        raise ImportReadError(f"这是一个目录，不是文件：{path}") from None
    except OSError as exc:
        raise ImportReadError(f"无法读取文件 {path}：{exc.strerror or exc}") from None


def read_yaml(path: Path) -> list[RawRecord]:
    """A YAML file with a top-level ``items:`` list; row = the item's position (1-based)."""
    source = path.name
    try:
        document = yaml.load(_read_bytes(path).decode("utf-8-sig"), Loader=_YamlLoader)  # noqa: S506
    except UnicodeDecodeError:
        raise _problem(source, "YAML 文件必须是 UTF-8 编码") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise _problem(source, f"YAML 语法错误：{reason}", row=line) from None
    if not isinstance(document, dict) or "items" not in document:
        raise _problem(source, "文件顶层应为 items: 列表")
    items = document["items"]
    if items is None:
        return []
    if not isinstance(items, list):
        raise _problem(source, "items: 应为列表（每项以 - 开头）")
    raws: list[RawRecord] = []
    problems: list[ValidationProblem] = []
    for index, item in enumerate(items, start=1):
        if isinstance(item, dict):
            raws.append(RawRecord(data=item, row=index, source=source))
        else:
            problems.append(
                ValidationProblem(
                    row=index,
                    column="",
                    message="每一项应为包含 id、name 等字段的映射",
                    source=source,
                    unit="条",
                )
            )
    if problems:
        raise ImportValidationError(problems)
    return raws


def read_yaml_dir(path: Path) -> list[RawRecord]:
    """Every *.yaml / *.yml file directly in the directory, in name order."""
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in YAML_SUFFIXES)
    if not files:
        raise ImportReadError(f"目录中没有 .yaml 或 .yml 文件：{path}")
    raws: list[RawRecord] = []
    problems: list[ValidationProblem] = []
    for file in files:
        try:
            raws.extend(read_yaml(file))
        except ImportValidationError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ImportValidationError(problems)
    return raws


def _decode_csv(data: bytes, source: str) -> str:
    """UTF-8 (with or without BOM) first; Excel on Chinese Windows saves CSV as GBK, read as GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ImportReadError(f"无法识别 {source} 的编码，请另存为 UTF-8 编码的 CSV")


def _table_rows(rows: Iterable[Sequence[Any]], source: str) -> list[RawRecord]:
    """Header row in Chinese, one item per row; unknown columns and blank rows are ignored."""
    iterator = iter(rows)
    header = next(iterator, None)
    if header is None:
        raise _problem(source, "文件为空，缺少表头行")
    columns: list[str | None] = []
    problems: list[ValidationProblem] = []
    for cell in header:
        name = str(cell).strip().lstrip("\ufeff") if cell is not None else ""
        if name in COLUMN_FIELDS and name in columns:
            problems.append(
                ValidationProblem(row=1, column=name, message="表头中该列重复出现", source=source)
            )
        columns.append(name if name in COLUMN_FIELDS else None)
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        problems.append(
            ValidationProblem(
                row=1, column="", message=f"表头缺少必需的列：{'、'.join(missing)}", source=source
            )
        )
    if problems:
        raise ImportValidationError(problems)
    raws: list[RawRecord] = []
    for number, cells in enumerate(iterator, start=2):
        data = {column: cell for column, cell in zip(columns, cells, strict=False) if column is not None}
        if all(value is None or (isinstance(value, str) and not value.strip()) for value in data.values()):
            continue
        raws.append(RawRecord(data=data, row=number, source=source))
    return raws


def read_csv(path: Path) -> list[RawRecord]:
    """A CSV sheet; row numbers count the header as row 1, as Excel shows them."""
    source = path.name
    text = _decode_csv(_read_bytes(path), source)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _problem(source, f"CSV 格式错误：{exc}") from None
    return _table_rows(rows, source)


def read_xlsx(path: Path) -> list[RawRecord]:
    """The first worksheet of an .xlsx workbook, values (not formulas) as last saved by Excel."""
    import openpyxl  # loaded only for Excel files; it is slow to import

    source = path.name
    _read_bytes(path)  # clear messages for a missing file or a directory
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises zip, XML and key errors for damaged files
        raise ImportReadError(f"无法读取 Excel 文件 {source}：文件已损坏或不是 .xlsx 格式") from None
    try:
        if not workbook.worksheets:
            raise _problem(source, "工作簿中没有工作表")
        rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    finally:
        workbook.close()
    return _table_rows(rows, source)


def read_catalogue(path: Path) -> list[RawRecord]:
    """The Guang'an catalogue (list of {department, main_item, name, itemCode, taskType, link}) as
    name-only items: the portal link is where the full guide lives."""
    source = path.name
    try:
        entries = json.loads(_read_bytes(path).decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportReadError(f"无法读取事项目录 {source}：不是有效的 UTF-8 JSON 文件（{exc}）") from None
    if not isinstance(entries, list):
        raise _problem(source, "事项目录应为 JSON 列表")
    raws: list[RawRecord] = []
    problems: list[ValidationProblem] = []
    for index, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(
                ValidationProblem(row=index, column="", message="应为 JSON 对象", source=source, unit="条")
            )
            continue
        data = {
            "id": entry.get("itemCode"),
            "name": entry.get("name"),
            "item_type": CATALOGUE_TASK_TYPES.get(
                str(entry.get("taskType", "")).strip(), CATALOGUE_DEFAULT_TYPE
            ),
            "department": entry.get("department"),
            "level": CATALOGUE_LEVEL,
            "region": CATALOGUE_REGION,
            "online_url": entry.get("link"),
            "source": CATALOGUE_SOURCE,
        }
        raws.append(RawRecord(data=data, row=index, source=source))
    if problems:
        raise ImportValidationError(problems)
    return raws


def read_path(path: Path, *, catalogue: bool = False) -> list[RawRecord]:
    """Pick the reader by what the path is: catalogue JSON, a YAML directory, or by file extension."""
    if catalogue:
        return read_catalogue(path)
    if path.is_dir():
        return read_yaml_dir(path)
    if not path.exists():
        raise ImportReadError(f"文件不存在：{path}")
    suffix = path.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return read_yaml(path)
    if suffix in CSV_SUFFIXES:
        return read_csv(path)
    if suffix in XLSX_SUFFIXES:
        return read_xlsx(path)
    if suffix == ".xls":
        raise ImportReadError(f"不支持旧版 Excel 文件 {path.name}，请在 Excel 中另存为 .xlsx 后再导入")
    raise ImportReadError(
        f"无法识别文件类型 {path.name}：支持 .yaml/.yml、.csv、.xlsx，或包含 YAML 文件的目录"
    )


def load_records(paths: Sequence[Path], *, catalogue: bool = False) -> list[GuideRecord]:
    """Read and validate every file before anything is written; problems of all files are reported together."""
    raws: list[RawRecord] = []
    problems: list[ValidationProblem] = []
    for path in paths:
        try:
            raws.extend(read_path(path, catalogue=catalogue))
        except ImportValidationError as exc:
            problems.extend(exc.problems)
    try:
        records = parse_records(raws)
    except ImportValidationError as exc:
        problems.extend(exc.problems)
    if problems:
        raise ImportValidationError(problems)
    return records
