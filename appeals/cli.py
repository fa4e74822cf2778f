"""``butler registry …``, ``butler tickets …`` and ``butler calendar …`` for butlers and administrators.

Handlers are thin: they parse arguments, open one transaction and call the
service; every ``AppealError`` becomes a one-line ``UserError`` (exit 2), and a
bad registry file prints its row-level report before exiting non-zero.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.orm import sessionmaker

from appeals import deadlines, registry, service
from appeals.errors import AppealError
from appeals.notify import request_rating
from appeals.settings import AppealsSettings, SettingsError, get_settings
from appeals.sweeper import sweep_once
from appeals.views import TicketCreate, TicketPublic, format_time
from cli.main import UserError
from storage.engine import make_engine, make_session_factory
from storage.migrate import upgrade_to_head

DEMO_DIR = Path(__file__).resolve().parent / "demo"
CLI_ACTOR = "管理员（命令行）"
_LIGHTS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}

Handler = Callable[[argparse.Namespace], int]


def _settings() -> AppealsSettings:
    try:
        return get_settings()
    except SettingsError as exc:
        raise UserError(str(exc)) from exc


def _factory(settings: AppealsSettings) -> sessionmaker:
    """Bring the schema up to date (a no-op when it is) and open the database."""
    upgrade_to_head(settings.database_url)
    return make_session_factory(make_engine(settings.database_url))


def _user_errors(handler: Handler) -> Handler:
    """Turn service errors into the CLI's one-line Chinese error."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except registry.RegistryInvalid as exc:
            for error in exc.errors:
                print(str(error), file=sys.stderr)
            raise UserError(str(exc)) from exc
        except AppealError as exc:
            raise UserError(str(exc)) from exc

    return wrapped


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


# -- registry ---------------------------------------------------------------------------


def _registry_import(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        report = registry.import_registry(session, Path(args.file))
    if args.json:
        _print_json(report.to_dict())
    else:
        print(report.summary())
    return 0


def _registry_departments(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
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
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        registry.import_departments(session, DEMO_DIR / "departments_demo.csv")
        report = registry.import_registry(session, DEMO_DIR / "registry_demo.csv")
    print("示例数据（虚构企业与管家，手机号均为示例号码）" + report.summary())
    return 0


def _registry_show(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        if not args.query:
            summary = registry.registry_summary(session)
            if args.json:
                _print_json(summary)
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
        _print_json(found.to_dict())
        return 0
    print(f"{found.name}（{found.credit_code}）")
    print(f"所属：{found.region} {found.grid}　行业：{found.industry}　规模：{found.scale}")
    print(f"管家：{found.butler_name or '未配置'} {found.butler_phone}")
    print(f"备用管家：{found.backup_butler_name or '未配置'} {found.backup_butler_phone}")
    return 0


# -- tickets ----------------------------------------------------------------------------


def _ticket_lines(ticket: TicketPublic, history: bool) -> list[str]:
    owner = (
        f"{ticket.butler_name} {ticket.butler_phone}"
        if ticket.butler_name
        else (ticket.department_name or "待分派")
    )
    lines = [
        f"{ticket.number}  {ticket.status_label}  {ticket.category}  {ticket.enterprise_name}（{ticket.credit_code}）",
        f"  负责：{owner}　分派：{ticket.routing_reason}",
    ]
    if ticket.escalation_level:
        lines.append(f"  升级：{ticket.escalation_label}")
    for deadline in ticket.deadlines:
        done = f"，完成于 {format_time(deadline.done_at)}" if deadline.done_at else ""
        lines.append(
            f"  {_LIGHTS[deadline.light]} {deadline.label}：{format_time(deadline.due)}（{deadline.light_label}{done}）"
        )
    if history:
        lines.append(f"  诉求：{ticket.description}")
        lines.append(f"  联系人：{ticket.contact_name} {ticket.contact_phone}")
        for event in ticket.events:
            note = f"：{event.note}" if event.note else ""
            lines.append(f"  {event.at:%Y-%m-%d %H:%M} [{event.actor}] {event.kind_label}{note}")
        for rating in ticket.ratings:
            comment = f"：{rating.comment}" if rating.comment else ""
            lines.append(f"  第{rating.round}轮评价 {rating.score}{comment}")
    return lines


def _tickets_list(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        tickets = service.list_tickets(
            session,
            status=args.status,
            butler_phone=args.butler,
            overdue_only=args.overdue,
            limit=args.limit,
            settings=settings,
        )
    if args.json:
        _print_json([t.to_dict() for t in tickets])
        return 0
    if not tickets:
        print("没有符合条件的工单。")
    for ticket in tickets:
        print("\n".join(_ticket_lines(ticket, history=False)))
    return 0


def _tickets_show(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        ticket = service.get_ticket(session, args.number, settings=settings)
    if ticket is None:
        raise UserError(f"没有找到工单 {args.number}")
    if args.json:
        _print_json(ticket.to_dict())
    else:
        print("\n".join(_ticket_lines(ticket, history=True)))
    return 0


def _show_result(ticket: TicketPublic, as_json: bool, message: str) -> int:
    if as_json:
        _print_json(ticket.to_dict())
    else:
        print(message)
        print("\n".join(_ticket_lines(ticket, history=False)))
    return 0


def _tickets_create(args: argparse.Namespace) -> int:
    settings = _settings()
    factory = _factory(settings)
    with service.transaction(factory) as session:
        enterprise = service.find_enterprise(session, args.enterprise)
    if enterprise is None:
        raise UserError(f"名录中没有找到企业「{args.enterprise}」")
    category = args.category or service.infer_category(args.description)
    if category is None:
        raise UserError(f"无法从描述判断诉求类别，请用 --category 指定：{'、'.join(service.CATEGORIES)}")
    # the same command run twice (e.g. after a timeout) files one ticket
    key = (
        args.key
        or "cli:"
        + hashlib.sha256(
            "|".join([enterprise.credit_code, category, args.description, args.contact_phone]).encode()
        ).hexdigest()[:40]
    )
    ticket = service.create_ticket(
        factory,
        TicketCreate(
            idempotency_key=key,
            enterprise_id=enterprise.id,
            category=category,
            description=args.description,
            contact_name=args.contact_name,
            contact_phone=args.contact_phone,
            urgency=args.urgency,
            channel="cli",
        ),
        settings=settings,
    )
    if args.json:
        _print_json(ticket.to_dict())
    else:
        print(service.receipt_text(ticket))
    return 0


def _tickets_assign(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        ticket = service.assign_ticket(
            session, args.number, args.butler, args.actor, args.reason or "", settings=settings
        )
    return _show_result(ticket, args.json, f"工单 {ticket.number} 已改派给 {ticket.butler_name}。")


def _tickets_contact(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        ticket = service.mark_contacted(session, args.number, args.actor, args.note or "", settings=settings)
    return _show_result(ticket, args.json, f"已登记工单 {ticket.number} 的首次联系。")


def _tickets_reply(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        if args.done:
            ticket = service.mark_answered(session, args.number, args.actor, args.text, settings=settings)
            message = f"工单 {ticket.number} 已办结反馈，等待企业评价。"
        else:
            ticket = service.record_butler_reply(
                session, args.number, args.actor, args.text, settings=settings
            )
            message = f"已记录对工单 {ticket.number} 的答复。"
    if args.done:  # after the commit: the rating question must find the ticket answered
        message += request_rating(ticket, settings)
    return _show_result(ticket, args.json, message)


def _tickets_rate(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        outcome = service.rate_ticket(
            session, args.number, args.score, args.comment or "", args.actor, settings=settings
        )
    return _show_result(outcome.ticket, args.json, outcome.message)


def _tickets_close(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        ticket = service.close_ticket(session, args.number, args.actor, args.reason, settings=settings)
    return _show_result(ticket, args.json, f"工单 {ticket.number} 已关闭。")


def _tickets_sweep(args: argparse.Namespace) -> int:
    settings = _settings()
    report = sweep_once(_factory(settings), settings)
    if args.json:
        _print_json(report.to_dict())
        return 0
    print(f"检查超时工单 {report.checked} 件，升级 {len(report.escalations)} 项。")
    for item in report.escalations:
        print(f"  {item.number} {item.note}")
    return 0


# -- calendar ---------------------------------------------------------------------------


def _calendar_import(args: argparse.Namespace) -> int:
    from appeals.tablefile import read_table

    rows, errors = deadlines.parse_holidays(read_table(Path(args.file)))
    if errors:
        for error in errors:
            print(error, file=sys.stderr)
        raise UserError(f"文件有{len(errors)}处错误，未导入任何日期")
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        count = deadlines.save_holidays(session, rows)
    print(f"已导入{count}个日期；新工单的时限按新日历计算。")
    return 0


def _calendar_list(args: argparse.Namespace) -> int:
    settings = _settings()
    with service.transaction(_factory(settings)) as session:
        rows = deadlines.list_holidays(session, args.year)
    if args.json:
        _print_json(
            [{"date": r.day.isoformat(), "is_working_day": r.is_working_day, "name": r.name} for r in rows]
        )
        return 0
    if not rows:
        print("没有调整的日期；按国家法定节假日安排计算。")
    for row in rows:
        print(f"{row.day.isoformat()}  {'上班' if row.is_working_day else '休息'}  {row.name}")
    return 0


def _calendar_template(args: argparse.Namespace) -> int:
    from appeals.tablefile import write_template

    write_template(
        Path(args.output), deadlines.CALENDAR_HEADERS, ("是否工作日填“是”（调休上班）或“否”（放假）。",)
    )
    print(f"模板已写入 {args.output}")
    return 0


# -- wiring -----------------------------------------------------------------------------


def _add(sub: Any, name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
    parser.set_defaults(handler=_user_errors(handler))
    return parser


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="以 JSON 输出")


def _actor_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", default=CLI_ACTOR, help="记入工单历史的操作人")


def register(subparsers: Any) -> None:
    """Add ``registry``, ``tickets`` and ``calendar`` to the ``butler`` command."""
    reg = subparsers.add_parser("registry", help="企业与管家名录").add_subparsers(
        dest="registry_command", metavar="ACTION"
    )
    reg.required = True
    p = _add(
        reg,
        "import",
        "从 Excel/CSV 导入企业、管家与分配关系（整份文件全部成功或全部不导入）",
        _registry_import,
    )
    p.add_argument("file")
    _json_flag(p)
    p = _add(reg, "departments", "导入单位负责人与值班队列", _registry_departments)
    p.add_argument("file")
    p = _add(reg, "template", "生成空白登记表模板（.xlsx 或 .csv）", _registry_template)
    p.add_argument("output", nargs="?", default="企业管家登记表.xlsx")
    p.add_argument("--departments", action="store_true", help="生成单位表模板")
    p.add_argument("--force", action="store_true", help="覆盖已有文件")
    _add(reg, "demo", "导入示例名录（虚构数据）", _registry_demo)
    p = _add(reg, "show", "名录概况，或按名称/信用代码查企业", _registry_show)
    p.add_argument("query", nargs="?", default="")
    _json_flag(p)

    tickets = subparsers.add_parser("tickets", help="诉求工单").add_subparsers(
        dest="tickets_command", metavar="ACTION"
    )
    tickets.required = True
    p = _add(tickets, "list", "列出工单", _tickets_list)
    p.add_argument("--status", help="open、submitted、contacted、in_progress、answered、closed")
    p.add_argument("--butler", help="管家手机号")
    p.add_argument("--overdue", action="store_true", help="只看已超时的工单")
    p.add_argument("--limit", type=int, default=200)
    _json_flag(p)
    p = _add(tickets, "show", "查看工单详情与历史", _tickets_show)
    p.add_argument("number")
    _json_flag(p)
    p = _add(tickets, "create", "代企业登记诉求（重复执行不会重复建单）", _tickets_create)
    p.add_argument("--enterprise", required=True, help="企业名称或统一社会信用代码")
    p.add_argument("--description", required=True)
    p.add_argument("--contact-name", required=True)
    p.add_argument("--contact-phone", required=True)
    p.add_argument("--category", help="、".join(service.CATEGORIES) + "；不填时按描述推断")
    p.add_argument("--urgency", default="普通", choices=service.URGENCIES)
    p.add_argument("--key", help="幂等键；默认由内容生成")
    _json_flag(p)
    p = _add(tickets, "assign", "改派管家", _tickets_assign)
    p.add_argument("number")
    p.add_argument("--butler", required=True, help="新管家的手机号")
    p.add_argument("--reason")
    _actor_flag(p)
    _json_flag(p)
    p = _add(tickets, "contact", "登记首次联系企业", _tickets_contact)
    p.add_argument("number")
    p.add_argument("--note")
    _actor_flag(p)
    _json_flag(p)
    p = _add(tickets, "reply", "答复企业；加 --done 表示办结反馈并请企业评价", _tickets_reply)
    p.add_argument("number")
    p.add_argument("text")
    p.add_argument("--done", action="store_true")
    _actor_flag(p)
    _json_flag(p)
    p = _add(tickets, "rate", "登记回访评价（满意/基本满意/不满意）", _tickets_rate)
    p.add_argument("number")
    p.add_argument("score", choices=service.SCORES)
    p.add_argument("--comment")
    _actor_flag(p)
    _json_flag(p)
    p = _add(tickets, "close", "关闭工单（须说明原因）", _tickets_close)
    p.add_argument("number")
    p.add_argument("--reason", required=True)
    _actor_flag(p)
    _json_flag(p)
    p = _add(tickets, "sweep", "检查超时并升级督办", _tickets_sweep)
    _json_flag(p)

    cal = subparsers.add_parser("calendar", help="工作日历（节假日与调休）").add_subparsers(
        dest="calendar_command", metavar="ACTION"
    )
    cal.required = True
    p = _add(cal, "import", "导入节假日/调休表（日期、是否工作日、名称）", _calendar_import)
    p.add_argument("file")
    p = _add(cal, "list", "列出已调整的日期", _calendar_list)
    p.add_argument("--year", type=int)
    _json_flag(p)
    p = _add(cal, "template", "生成日历模板", _calendar_template)
    p.add_argument("output", nargs="?", default="工作日历.xlsx")
