"""Write guide records back out as YAML, CSV or Excel, in exactly the format the importers read.

Exporting and importing the result must change nothing, so each format writes what
``records.parse_record`` reads: the same keys, the same Chinese headers, the same cell syntax.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from knowledge.records import FIELD_COLUMNS, LIST_SEPARATOR, PART_SEPARATOR, GuideRecord

FORMATS = ("yaml", "csv", "xlsx")
_ALWAYS_WRITTEN = ("id", "name", "item_type", "level", "fully_online")
_WRAPPED_COLUMNS = ("受理条件", "申请材料", "办理流程", "常见问题")
FIELD_COLUMNS_LIST = list(FIELD_COLUMNS.values())


class _YamlDumper(yaml.SafeDumper):
    """Multi-line text as ``|`` blocks, so conditions read like the portal page."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_YamlDumper.add_representer(str, _represent_str)


def _yaml_item(record: GuideRecord) -> dict[str, Any]:
    """The record as a YAML mapping; empty optional fields are left out to keep files short."""
    data = record.to_dict()
    data["updated"] = record.updated  # an unquoted YAML date, as administrators write it
    for key in ("materials", "steps"):
        data[key] = [{k: v for k, v in part.items() if v != ""} for part in data[key]]
    return {k: v for k, v in data.items() if k in _ALWAYS_WRITTEN or v not in ("", [], None)}


def to_yaml(records: Sequence[GuideRecord]) -> str:
    """A YAML document with a top-level ``items:`` list."""
    return yaml.dump(
        {"items": [_yaml_item(r) for r in records]},
        Dumper=_YamlDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=10_000,
    )


def _cells(record: GuideRecord) -> list[Any]:
    """One spreadsheet row; integers stay integers (Excel shows them as numbers), None means empty."""
    values: dict[str, Any] = {
        "aliases": LIST_SEPARATOR.join(record.aliases),
        "situations": "\n".join(record.situations),
        "materials": "\n".join(
            PART_SEPARATOR.join(
                [m.name, m.form, f"{m.copies}份", m.requirement] + ([m.notes] if m.notes else [])
            )
            for m in record.materials
        ),
        "steps": "\n".join(
            PART_SEPARATOR.join([s.name] + ([s.description] if s.description else [])) for s in record.steps
        ),
        "faqs": "\n".join(PART_SEPARATOR.join([f.q, f.a]) for f in record.faqs),
        "bundled_items": LIST_SEPARATOR.join(record.bundled_items),
        "fully_online": "是" if record.fully_online else "否",
        "updated": record.updated.isoformat() if record.updated else None,
    }
    return [values[name] if name in values else getattr(record, name) for name in FIELD_COLUMNS]


def table(records: Sequence[GuideRecord]) -> list[list[Any]]:
    """Header row of Chinese column names, then one row per record."""
    return [list(FIELD_COLUMNS.values())] + [_cells(r) for r in records]


def to_csv(records: Sequence[GuideRecord]) -> str:
    """CSV text starting with a BOM: without it Excel on Windows reads UTF-8 as GBK and garbles Chinese."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in table(records):
        writer.writerow(["" if cell is None else cell for cell in row])
    return "\ufeff" + buffer.getvalue()


def _write_xlsx_to(records: Sequence[GuideRecord], path: Path) -> None:
    import openpyxl  # slow to import; only Excel exports need it
    from openpyxl.styles import Alignment, Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "办事指南"
    wrap = Alignment(wrap_text=True, vertical="top")
    for row_index, row in enumerate(table(records), start=1):
        for column_index, value in enumerate(row, start=1):
            if value is None or value == "":
                continue
            cell = sheet.cell(row=row_index, column=column_index, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula stays text
            if row_index == 1:
                cell.font = Font(bold=True)
            elif FIELD_COLUMNS_LIST[column_index - 1] in _WRAPPED_COLUMNS:
                cell.alignment = wrap
    sheet.freeze_panes = "C2"
    for column_index, header in enumerate(FIELD_COLUMNS_LIST, start=1):
        letter = openpyxl.utils.get_column_letter(column_index)
        sheet.column_dimensions[letter].width = 40 if header in _WRAPPED_COLUMNS else 16
    workbook.save(path)


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write beside the target and rename, so a failed export never leaves a half-written file."""
    path = path.resolve()
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_export(records: Sequence[GuideRecord], fmt: str, path: Path) -> None:
    """Write ``records`` to ``path`` in ``fmt`` (yaml, csv or xlsx), replacing the file only on success."""
    if fmt == "yaml":
        _atomic_write(path, lambda p: p.write_text(to_yaml(records), encoding="utf-8"))
    elif fmt == "csv":
        _atomic_write(path, lambda p: p.write_bytes(to_csv(records).encode("utf-8")))
    elif fmt == "xlsx":
        _atomic_write(path, lambda p: _write_xlsx_to(records, p))
    else:
        raise ValueError(f"未知的导出格式：{fmt}（可用：{'/'.join(FORMATS)}）")
