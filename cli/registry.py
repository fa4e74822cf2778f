"""``butler registry …`` and ``butler calendar …``: the enterprise-butler registry and the work calendar.

Handlers are thin: they parse arguments, open one transaction and call
``appeals``; a bad registry file prints its row-level report before exiting non-zero.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from appeals import deadlines, registry, service
from appeals.tablefile import read_table, write_template
from cli.main import UserError
from cli.support import add_command, appeals_settings, json_flag, open_database, print_json
from storage.transaction import transaction

DEMO_DIR = Path(registry.__file__).resolve().parent / "demo"


def _registry_import(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        report = registry.import_registry(session, Path(args.file))
    if args.json:
        print_json(report.to_dict())
    else:
        print(report.summary())
    return 0


def _registry_departments(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        count = registry.import_departments(session, Path(args.file))
    print(f"已导入{count}个单位。")
    return 0


def _registry_template(args: argparse.Namespace) -> int:
    path = Path(args.output)
    if path.exists() and not args.force:
        raise UserError(f"文件「{path}」已存在；如需覆盖请加 --force")
    if args.departments:
        registry.write_departments_template(path)
    else:
        registry.write_registry_template(path)
    print(f"模板已写入 {path}")
    return 0


def _registry_demo(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        registry.import_departments(session, DEMO_DIR / "departments_demo.csv")
        report = registry.import_registry(session, DEMO_DIR / "registry_demo.csv")
    print("示例数据（虚构企业与管家，手机号均为示例号码）" + report.summary())
    return 0


def _registry_show(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        if not args.query:
            summary = registry.registry_summary(session)
            if args.json:
                print_json(summary)
            else:
                print(
                    f"企业 {summary['enterprises']} 家（未配管家 {summary['enterprises_without_butler']} 家）；"
                    f"管家 {summary['butlers']} 名（在岗 {summary['butlers_active']} 名）；"
                    f"单位 {summary['departments']} 个（值班队列 {summary['duty_queues']} 个）；"
                    f"在办工单 {summary['open_tickets']} 件"
                )
            return 0
        found = service.find_enterprise(session, args.query)
    if found is None:
        raise UserError(f"名录中没有找到「{args.query}」")
    if args.json:
        print_json(found.to_dict())
        return 0
    print(f"{found.name}（{found.credit_code}）")
    print(f"所属：{found.region} {found.grid}　行业：{found.industry}　规模：{found.scale}")
    print(f"管家：{found.butler_name or '未配置'} {found.butler_phone}")
    print(f"备用管家：{found.backup_butler_name or '未配置'} {found.backup_butler_phone}")
    return 0


def _calendar_import(args: argparse.Namespace) -> int:
    rows, errors = deadlines.parse_holidays(read_table(Path(args.file)))
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        raise UserError(f"文件有{len(errors)}处错误，未导入任何日期")
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        count = deadlines.save_holidays(session, rows)
    print(f"已导入{count}个日期；新工单的时限按新日历计算。")
    return 0


def _calendar_list(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        rows = deadlines.list_holidays(session, args.year)
    if args.json:
        print_json(
            [{"date": r.day.isoformat(), "is_working_day": r.is_working_day, "name": r.name} for r in rows]
        )
        return 0
    if not rows:
        print("没有调整的日期；按国家法定节假日安排计算。")
    for row in rows:
        print(f"{row.day.isoformat()}  {'上班' if row.is_working_day else '休息'}  {row.name}")
    return 0


def _calendar_template(args: argparse.Namespace) -> int:
    write_template(
        Path(args.output), deadlines.CALENDAR_HEADERS, ("是否工作日填“是”（调休上班）或“否”（放假）。",)
    )
    print(f"模板已写入 {args.output}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``registry`` and ``calendar`` to the ``butler`` command."""
    reg = subparsers.add_parser("registry", help="企业与管家名录").add_subparsers(
        dest="registry_command", metavar="ACTION"
    )
    reg.required = True
    p = add_command(
        reg,
        "import",
        "从 Excel/CSV 导入企业、管家与分配关系（整份文件全部成功或全部不导入）",
        _registry_import,
    )
    p.add_argument("file")
    json_flag(p)
    p = add_command(reg, "departments", "导入单位负责人与值班队列", _registry_departments)
    p.add_argument("file")
    p = add_command(reg, "template", "生成空白登记表模板（.xlsx 或 .csv）", _registry_template)
    p.add_argument("output", nargs="?", default="企业管家登记表.xlsx")
    p.add_argument("--departments", action="store_true", help="生成单位表模板")
    p.add_argument("--force", action="store_true", help="覆盖已有文件")
    add_command(reg, "demo", "导入示例名录（虚构数据）", _registry_demo)
    p = add_command(reg, "show", "名录概况，或按名称/信用代码查企业", _registry_show)
    p.add_argument("query", nargs="?", default="")
    json_flag(p)

    cal = subparsers.add_parser("calendar", help="工作日历（节假日与调休）").add_subparsers(
        dest="calendar_command", metavar="ACTION"
    )
    cal.required = True
    p = add_command(cal, "import", "导入节假日/调休表（日期、是否工作日、名称）", _calendar_import)
    p.add_argument("file")
    p = add_command(cal, "list", "列出已调整的日期", _calendar_list)
    p.add_argument("--year", type=int)
    json_flag(p)
    p = add_command(cal, "template", "生成日历模板", _calendar_template)
    p.add_argument("output", nargs="?", default="工作日历.xlsx")
