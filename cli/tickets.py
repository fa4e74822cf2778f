"""``butler tickets …``: appeal tickets for butlers and administrators on a terminal.

Handlers are thin: they parse arguments, open one transaction and call
``appeals``; every ``AppealError`` or ``StorageError`` becomes a one-line
``UserError`` (exit 2). What the enterprise must hear (the receipt, a reply, the
request to rate) goes to the outbox and the gateway delivers it in its chat.
"""

from __future__ import annotations

import argparse
from typing import Any

from appeals import service
from appeals.chat import AppealForm, content_appeal_id, submit_appeal
from appeals.sweeper import sweep_once
from appeals.views import TicketPublic, format_time
from cli.main import UserError
from cli.support import (
    actor_flag,
    add_command,
    appeals_settings,
    json_flag,
    open_database,
    print_json,
)
from storage.transaction import transaction

CLI_SENDER = "cli"  # the idempotency sender of every filing made here
_LIGHTS = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}
RATING_VIA_GATEWAY = "企业将在其对话中（经网关推送）收到评价邀请。"


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
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        tickets = service.list_tickets(
            session,
            status=args.status,
            butler_phone=args.butler,
            overdue_only=args.overdue,
            limit=args.limit,
            settings=settings,
        )
    if args.json:
        print_json([t.to_dict() for t in tickets])
        return 0
    if not tickets:
        print("没有符合条件的工单。")
    for ticket in tickets:
        print("\n".join(_ticket_lines(ticket, history=False)))
    return 0


def _tickets_show(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        ticket = service.get_ticket(session, args.number, settings=settings)
    if ticket is None:
        raise UserError(f"没有找到工单 {args.number}")
    if args.json:
        print_json(ticket.to_dict())
    else:
        print("\n".join(_ticket_lines(ticket, history=True)))
    return 0


def _show_result(ticket: TicketPublic, as_json: bool, message: str) -> int:
    if as_json:
        print_json(ticket.to_dict())
    else:
        print(message)
        print("\n".join(_ticket_lines(ticket, history=False)))
    return 0


def _tickets_create(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    factory = open_database(settings)
    with transaction(factory) as session:
        enterprise = service.find_enterprise(session, args.enterprise)
    if enterprise is None:
        raise UserError(f"名录中没有找到企业「{args.enterprise}」")
    category = args.category or service.infer_category(args.description)
    if category is None:
        raise UserError(f"无法从描述判断诉求类别，请用 --category 指定：{'、'.join(service.CATEGORIES)}")
    # the same command run twice (e.g. after a timeout) files one ticket
    appeal_id = args.key or content_appeal_id(
        enterprise.credit_code, category, args.description, args.contact_phone
    )
    ticket = submit_appeal(
        factory,
        AppealForm(
            enterprise_id=enterprise.id,
            category=category,
            description=args.description,
            contact_name=args.contact_name,
            contact_phone=args.contact_phone,
            urgency=args.urgency,
        ),
        sender=CLI_SENDER,
        appeal_id=appeal_id,
        channel="cli",
        settings=settings,
    )
    if args.json:
        print_json(ticket.to_dict())
    else:
        print(service.receipt_text(ticket))
    return 0


def _tickets_assign(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        ticket = service.assign_ticket(
            session, args.number, args.butler, args.actor, args.reason or "", settings=settings
        )
    return _show_result(ticket, args.json, f"工单 {ticket.number} 已改派给 {ticket.butler_name}。")


def _tickets_contact(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        ticket = service.mark_contacted(session, args.number, args.actor, args.note or "", settings=settings)
    return _show_result(ticket, args.json, f"已登记工单 {ticket.number} 的首次联系。")


def _tickets_reply(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        if args.done:
            ticket = service.mark_answered(session, args.number, args.actor, args.text, settings=settings)
            message = f"工单 {ticket.number} 已办结反馈，等待企业评价。{RATING_VIA_GATEWAY}"
        else:
            ticket = service.record_butler_reply(
                session, args.number, args.actor, args.text, settings=settings
            )
            message = f"已记录对工单 {ticket.number} 的答复。"
    return _show_result(ticket, args.json, message)


def _tickets_rate(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        outcome = service.rate_ticket(
            session, args.number, args.score, args.comment or "", args.actor, settings=settings
        )
    return _show_result(outcome.ticket, args.json, outcome.message)


def _tickets_close(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    with transaction(open_database(settings)) as session:
        ticket = service.close_ticket(session, args.number, args.actor, args.reason, settings=settings)
    return _show_result(ticket, args.json, f"工单 {ticket.number} 已关闭。")


def _tickets_sweep(args: argparse.Namespace) -> int:
    settings = appeals_settings()
    report = sweep_once(open_database(settings), settings)
    if args.json:
        print_json(report.to_dict())
        return 0
    print(f"检查超时工单 {report.checked} 件，升级 {len(report.escalations)} 项。")
    for item in report.escalations:
        print(f"  {item.number} {item.note}")
    return 0


def register(subparsers: Any) -> None:
    """Add ``tickets`` to the ``butler`` command."""
    tickets = subparsers.add_parser("tickets", help="诉求工单").add_subparsers(
        dest="tickets_command", metavar="ACTION"
    )
    tickets.required = True
    p = add_command(tickets, "list", "列出工单", _tickets_list)
    p.add_argument("--status", help="open、submitted、contacted、in_progress、answered、closed")
    p.add_argument("--butler", help="管家手机号")
    p.add_argument("--overdue", action="store_true", help="只看已超时的工单")
    p.add_argument("--limit", type=int, default=200)
    json_flag(p)
    p = add_command(tickets, "show", "查看工单详情与历史", _tickets_show)
    p.add_argument("number")
    json_flag(p)
    p = add_command(tickets, "create", "代企业登记诉求（重复执行不会重复建单）", _tickets_create)
    p.add_argument("--enterprise", required=True, help="企业名称或统一社会信用代码")
    p.add_argument("--description", required=True)
    p.add_argument("--contact-name", required=True)
    p.add_argument("--contact-phone", required=True)
    p.add_argument("--category", help="、".join(service.CATEGORIES) + "；不填时按描述推断")
    p.add_argument("--urgency", default="普通", choices=service.URGENCIES)
    p.add_argument("--key", help="幂等键；默认由内容生成")
    json_flag(p)
    p = add_command(tickets, "assign", "改派管家", _tickets_assign)
    p.add_argument("number")
    p.add_argument("--butler", required=True, help="新管家的手机号")
    p.add_argument("--reason")
    actor_flag(p)
    json_flag(p)
    p = add_command(tickets, "contact", "登记首次联系企业", _tickets_contact)
    p.add_argument("number")
    p.add_argument("--note")
    actor_flag(p)
    json_flag(p)
    p = add_command(tickets, "reply", "答复企业；加 --done 表示办结反馈并请企业评价", _tickets_reply)
    p.add_argument("number")
    p.add_argument("text")
    p.add_argument("--done", action="store_true")
    actor_flag(p)
    json_flag(p)
    p = add_command(tickets, "rate", "登记回访评价（满意/基本满意/不满意）", _tickets_rate)
    p.add_argument("number")
    p.add_argument("score", choices=service.SCORES)
    p.add_argument("--comment")
    actor_flag(p)
    json_flag(p)
    p = add_command(tickets, "close", "关闭工单（须说明原因）", _tickets_close)
    p.add_argument("number")
    p.add_argument("--reason", required=True)
    actor_flag(p)
    json_flag(p)
    p = add_command(tickets, "sweep", "检查超时并升级督办", _tickets_sweep)
    json_flag(p)
