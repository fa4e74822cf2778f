"""``butler kb …``: import, export and inspect the guide knowledge base.

Imports validate every row of every file before touching the database and then write in
one transaction, so a bad file never leaves the knowledge base half-updated.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cli.main import UserError
from knowledge.exporters import FORMATS, to_csv, to_yaml, write_export
from knowledge.importers import CATALOGUE_SOURCE, ImportReadError, load_records
from knowledge.models import ITEM_TYPES, GuideItem
from knowledge.records import GuideRecord, ImportValidationError
from knowledge.service import (
    get_guide,
    import_records,
    list_guides,
    list_unanswered,
)
from knowledge.settings import Settings
from knowledge.teaching import TeachingError, teach_question
from storage.engine import make_engine, make_session_factory
from storage.errors import StorageError
from storage.migrate import upgrade_to_head
from storage.transaction import transaction

PROGRESS_ALWAYS_ABOVE = 200  # items; smaller imports finish before a progress line would help


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("kb", help="办事指南知识库：导入、导出、查看")
    sub = parser.add_subparsers(dest="kb_command", metavar="ACTION")
    sub.required = True

    importer = sub.add_parser("import", help="从 YAML/CSV/Excel 文件或事项目录导入办事指南")
    importer.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="文件，或包含 YAML 文件的目录")
    importer.add_argument(
        "--catalogue", action="store_true", help="PATH 是广安区事项目录 JSON（只有事项名称）"
    )
    importer.add_argument("--demo", action="store_true", help="导入随程序提供的示例办事指南")
    importer.set_defaults(handler=_import)

    exporter = sub.add_parser("export", help="导出办事指南，格式与导入相同")
    exporter.add_argument("--format", choices=FORMATS, required=True, help="yaml、csv 或 xlsx")
    exporter.add_argument("-o", "--output", type=Path, help="输出文件；yaml/csv 省略时写到标准输出")
    _add_filters(exporter)
    exporter.set_defaults(handler=_export)

    lister = sub.add_parser("list", help="列出事项")
    lister.add_argument("--json", action="store_true", help="以 JSON 输出")
    lister.add_argument("--limit", type=_positive_int, help="最多列出多少条")
    _add_filters(lister)
    lister.set_defaults(handler=_list)

    shower = sub.add_parser("show", help="查看一个事项的完整办事指南")
    shower.add_argument("guide_id", metavar="ID", help="事项编码")
    shower.add_argument("--json", action="store_true", help="以 JSON 输出")
    shower.set_defaults(handler=_show)

    unanswered = sub.add_parser("unanswered", help="列出助手没能回答的问题")
    unanswered.add_argument("--json", action="store_true", help="以 JSON 输出")
    unanswered.add_argument("--limit", type=_positive_int, default=50, help="最多列出多少条（默认 50）")
    unanswered.set_defaults(handler=_unanswered)

    teacher = sub.add_parser("teach", help="把企业的一句问法教给它问的事项（记入适用情形，无需重新训练）")
    teacher.add_argument("question", metavar="QUESTION", help="企业的原话，例如 车间的废水想排到沟里")
    teacher.add_argument("--item", required=True, help="这句话问的事项：完整事项名称或事项编码")
    teacher.set_defaults(handler=_teach)


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only-guides", action="store_true", help="只包括有完整办事指南的事项（不含仅有名称的目录条目）"
    )
    parser.add_argument("--type", dest="item_type", choices=ITEM_TYPES, help="只包括该事项类型")
    parser.add_argument("--department", help="只包括该实施机关")
    parser.add_argument("--search", help="事项名称包含该文字")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"应为正整数：{text}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"应为正整数：{text}")
    return value


@contextlib.contextmanager
def _database(url: str, *, must_exist: bool) -> Iterator[Session]:
    """A session in one transaction: committed when the block succeeds, rolled back on any error."""
    if must_exist and url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:") and not Path(path).exists():
            raise UserError("知识库尚未初始化：请先运行 butler db upgrade 或 butler kb import")
    engine = make_engine(url)
    try:
        if must_exist and not inspect(engine).has_table(GuideItem.__tablename__):
            raise UserError("知识库尚未初始化：请先运行 butler db upgrade 或 butler kb import")
        with transaction(make_session_factory(engine)) as session:
            yield session
    except DBAPIError as exc:  # raised by the inspection above, outside the transaction
        raise UserError(f"数据库操作失败，知识库未做任何修改：{exc.orig}") from None
    except StorageError as exc:
        raise UserError(f"{exc}（知识库未做任何修改）") from None
    finally:
        engine.dispose()


def _print_progress(done: int, total: int) -> None:
    """A progress line on stderr for long imports; redrawn in place on a terminal."""
    tty = sys.stderr.isatty()
    if not tty and total <= PROGRESS_ALWAYS_ABOVE:
        return
    line = f"正在写入：{done}/{total}"
    if tty:
        print(f"\r{line}", end="\n" if done == total else "", file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


def _import(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    paths: list[Path] = list(args.paths)
    if args.demo:
        paths.append(settings.demo_dir)
    if not paths and args.catalogue:
        if settings.catalogue_path is None:
            raise UserError("请指定事项目录 JSON 文件，或设置环境变量 KNOWLEDGE_CATALOGUE")
        paths.append(settings.catalogue_path)
    if not paths:
        raise UserError("请指定要导入的文件或目录（或使用 --demo 导入示例办事指南）")
    if args.catalogue and args.demo:
        raise UserError("--catalogue 与 --demo 不能同时使用")

    try:
        upgrade_to_head(settings.database_url)
    except DBAPIError as exc:
        raise UserError(f"无法升级数据库结构：{exc.orig}") from None
    try:
        records = load_records(paths, catalogue=args.catalogue)
    except ImportReadError as exc:
        raise UserError(str(exc)) from None
    except ImportValidationError as exc:
        for problem in exc.problems:
            print(problem.describe(), file=sys.stderr)
        print(f"导入失败：共 {len(exc.problems)} 个问题，知识库未做任何修改。", file=sys.stderr)
        return 2

    source = CATALOGUE_SOURCE if args.catalogue else "butler kb import"
    with _database(settings.database_url, must_exist=False) as session:
        report = import_records(
            session=session,
            records=records,
            source=source,
            has_guide=not args.catalogue,
            progress=_print_progress,
        )
    print(f"导入完成：新增 {report.created} 条，更新 {report.updated} 条，未变 {report.unchanged} 条。")
    if report.kept:
        print(f"其中 {report.kept} 条已有完整办事指南，未被目录中的名称条目覆盖。")
    return 0


def _selected(session: Session, args: argparse.Namespace, limit: int | None = None) -> list[GuideItem]:
    return list_guides(
        session=session,
        has_guide=True if args.only_guides else None,
        item_type=args.item_type,
        department=args.department,
        name_contains=args.search,
        limit=limit,
    )


def _export(args: argparse.Namespace) -> int:
    if args.format == "xlsx" and args.output is None:
        raise UserError("导出 Excel 需要用 -o 指定输出文件，例如 -o 办事指南.xlsx")
    settings = Settings.from_env()
    with _database(settings.database_url, must_exist=True) as session:
        records = [GuideRecord.from_item(item) for item in _selected(session, args)]
    if args.output is None:
        sys.stdout.write(to_yaml(records) if args.format == "yaml" else to_csv(records))
        return 0
    try:
        write_export(records, args.format, args.output)
    except OSError as exc:
        raise UserError(f"无法写入 {args.output}：{exc.strerror or exc}") from None
    print(f"已导出 {len(records)} 条到 {args.output}", file=sys.stderr)
    return 0


def _summary(item: GuideItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "item_type": item.item_type,
        "department": item.department,
        "level": item.level,
        "region": item.region,
        "has_guide": item.has_guide,
        "version": item.version,
        "modified_at": item.modified_at.isoformat(timespec="seconds"),
    }


def _list(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with _database(settings.database_url, must_exist=True) as session:
        items = [_summary(item) for item in _selected(session, args, limit=args.limit)]
    if args.json:
        print(json.dumps(items, ensure_ascii=False, indent=2))
        return 0
    for item in items:
        kind = "指南" if item["has_guide"] else "仅名称"
        print(
            f"{item['id']}\t{item['name']}\t{item['item_type']}\t{item['department']}\t{kind}\tv{item['version']}"
        )
    print(f"共 {len(items)} 条", file=sys.stderr)
    return 0


def _show(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with _database(settings.database_url, must_exist=True) as session:
        item = get_guide(session=session, guide_id=args.guide_id.strip())
        if item is None:
            raise UserError(f"未找到事项：{args.guide_id}")
        record = GuideRecord.from_item(item)
        meta = {"version": item.version, "has_guide": item.has_guide, "modified_at": item.modified_at}
    if args.json:
        data = {**record.to_dict(), **meta, "modified_at": meta["modified_at"].isoformat(timespec="seconds")}
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(_describe(record, meta))
    return 0


def _describe(record: GuideRecord, meta: dict[str, Any]) -> str:
    """The guide as an administrator reads it on a terminal: one labelled line or block per field."""

    def limit(value: int | None, unit: str | None) -> str:
        if unit == "即办":
            return "即办"
        return f"{value} {unit}" if value is not None else ""

    lines = [
        f"{record.name}（{record.id}）",
        f"版本 {meta['version']}" + ("" if meta["has_guide"] else "，仅有事项名称"),
    ]
    fields = [
        ("别名", "；".join(record.aliases)),
        ("事项类型", record.item_type),
        ("实施机关", record.department),
        ("层级/区域", f"{record.level} {record.region}".strip()),
        ("设定依据", record.legal_basis),
        ("受理条件", record.conditions),
        ("适用情形", "；".join(record.situations)),
        ("法定时限", limit(record.legal_time_limit, record.legal_time_unit)),
        ("承诺时限", limit(record.promised_time_limit, record.promised_time_unit)),
        ("收费标准", record.fee),
        ("办理地点", record.location),
        ("办理时间", record.hours),
        ("咨询电话", record.phone),
        ("在线办理", record.online_url),
        ("全程网办", "是" if record.fully_online else "否"),
        ("跑动次数", "" if record.visits is None else str(record.visits)),
        ("关联事项", "；".join(record.bundled_items)),
        ("备注", record.note),
        ("来源", record.source),
        ("更新日期", record.updated.isoformat() if record.updated else ""),
    ]
    lines += [f"{label}：{value}" for label, value in fields if value]
    if record.materials:
        lines.append("申请材料：")
        for m in record.materials:
            notes = f"（{m.notes}）" if m.notes else ""
            lines.append(f"  - {m.name}｜{m.form}｜{m.copies}份｜{m.requirement}{notes}")
    if record.steps:
        lines.append("办理流程：")
        lines += [
            f"  {n}. {s.name}" + (f"：{s.description}" if s.description else "")
            for n, s in enumerate(record.steps, 1)
        ]
    if record.faqs:
        lines.append("常见问题：")
        for faq in record.faqs:
            lines += [f"  问：{faq.q}", f"  答：{faq.a}"]
    return "\n".join(lines)


def _local(moment: dt.datetime) -> dt.datetime:
    """Stored times are naive UTC; show them in the server's time zone."""
    return moment.replace(tzinfo=dt.timezone.utc).astimezone()


def _unanswered(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    with _database(settings.database_url, must_exist=True) as session:
        questions = [
            {
                "text": q.text,
                "asked_at": _local(q.asked_at).isoformat(timespec="seconds"),
                "sender_id": q.sender_id,
                "best_guess": q.best_guess,
                "confidence": q.confidence,
            }
            for q in list_unanswered(session=session, limit=args.limit)
        ]
    if args.json:
        print(json.dumps(questions, ensure_ascii=False, indent=2))
        return 0
    if not questions:
        print("没有未回答的问题。")
        return 0
    for q in questions:
        guess = (
            f"  最接近：{q['best_guess']}" + (f"（{q['confidence']}）" if q["confidence"] else "")
            if q["best_guess"]
            else ""
        )
        print(f"{q['asked_at'][:16].replace('T', ' ')}  {q['text']}{guess}")
    return 0


def _teach(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    try:
        with _database(settings.database_url, must_exist=True) as session:
            report = teach_question(session=session, question=args.question, item=args.item)
    except TeachingError as exc:
        raise UserError(f"{exc}（知识库未做任何修改）") from None
    names = "、".join(report.items)
    if not report.added:
        print(f"“{names}”的适用情形里已有这句问法，未做修改")
        return 0
    print(
        f"已学习：这句问法记入“{names}”的适用情形（知识库版本 {report.revision}），运行中的助手稍后自动生效"
    )
    if report.words_only:
        print("提示：这句话很短，只用于字词匹配；写成八个字以上、说清楚办什么事的一句话，语义理解才会学到它")
    return 0
