"""Read and write the spreadsheets departments exchange: CSV (UTF-8, BOM or GBK) and XLSX.

Departments send whatever their office software saves: Excel files, CSV from
WPS in GBK, CSV from other tools in UTF-8 with or without BOM. Every cell comes
back as a stripped string, with the row number a person sees in the file, so
error reports can point at the cell to fix.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

from appeals.errors import InvalidInput

_HEADER_NOISE = re.compile(r"[\s\u3000*＊]|[（(]必填[)）]")


@dataclass
class Table:
    """Header names and data rows; ``rows`` holds (row number in the file, cells by header)."""

    headers: list[str]
    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)


def normalize_header(text: str) -> str:
    """ "* 企业名称（必填）" → "企业名称": templates mark required columns in many ways."""
    return _HEADER_NOISE.sub("", text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # phone numbers typed into numeric cells
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u3000", " ").strip()


def _build(raw_rows: Sequence[tuple[int, Sequence[Any]]], name: str) -> Table:
    header_at = next((i for i, (_, cells) in enumerate(raw_rows) if any(_cell(c) for c in cells)), None)
    if header_at is None:
        raise InvalidInput(f"文件「{name}」是空的，没有表头")
    headers = [normalize_header(_cell(c)) for c in raw_rows[header_at][1]]
    table = Table(headers=headers)
    for number, cells in raw_rows[header_at + 1 :]:
        values = [_cell(c) for c in cells]
        if not any(values):
            continue
        row = {header: (values[i] if i < len(values) else "") for i, header in enumerate(headers) if header}
        table.rows.append((number, row))
    return table


def _decode(data: bytes, name: str) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(
        f"文件「{name}」的编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV，或 Excel（.xlsx）文件"
    )


def read_table(path: Path) -> Table:
    """Read a .csv or .xlsx file; unreadable files raise ``InvalidInput`` in Chinese."""
    name = path.name
    if not path.is_file():
        raise InvalidInput(f"找不到文件「{path}」")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = _decode(path.read_bytes(), name)
        reader = csv.reader(io.StringIO(text))
        return _build([(i, row) for i, row in enumerate(reader, start=1)], name)
    if suffix in (".xlsx", ".xlsm"):
        return _build(_xlsx_rows(path), name)
    raise InvalidInput(f"不支持的文件类型「{suffix or name}」，请使用 .xlsx 或 .csv 文件")


def _xlsx_rows(path: Path) -> list[tuple[int, Sequence[Any]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as exc:
        raise InvalidInput(f"无法打开 Excel 文件「{path.name}」，文件可能已损坏或不是 .xlsx 格式") from exc
    try:
        sheet = workbook.worksheets[0]
        return [(i, row) for i, row in enumerate(sheet.iter_rows(values_only=True), start=1)]
    finally:
        workbook.close()


def write_template(path: Path, headers: Sequence[str], notes: Sequence[str] = ()) -> None:
    """An empty sheet with ``headers``; .xlsx gets a second sheet with ``notes`` on how to fill it."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerow(headers)
        return
    if suffix != ".xlsx":
        raise InvalidInput(f"模板只能保存为 .xlsx 或 .csv，不支持「{suffix or path.name}」")
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "登记表"
    sheet.append(list(headers))
    for index, header in enumerate(headers, start=1):
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = max(
            12, len(header) * 3
        )
        # keep phone numbers and codes as text so Excel does not turn them into 1.38E+10
        for row in range(2, 1002):
            sheet.cell(row=row, column=index).number_format = "@"
    sheet.freeze_panes = "A2"
    if notes:
        help_sheet = workbook.create_sheet("填写说明")
        for line in notes:
            help_sheet.append([line])
        help_sheet.column_dimensions["A"].width = 100
    workbook.save(path)
