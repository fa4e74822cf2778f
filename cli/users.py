"""``butler users …``: console accounts for butlers, department heads and administrators.

Passwords are read from standard input (one line), or asked twice without echo
on a terminal, never from the command line where ``ps`` and the shell history
would keep them. There is no default account: the first administrator is made
with ``butler users add NAME --role admin``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import sessionmaker

from accounts import service
from accounts.errors import AccountError
from accounts.views import ROLE_LABELS, UserPublic
from cli.main import UserError
from storage.engine import make_engine, make_session_factory
from storage.errors import StorageError
from storage.migrate import upgrade_to_head
from storage.settings import Settings
from storage.transaction import transaction

CLI_ACTOR = "管理员（命令行）"

Handler = Callable[[argparse.Namespace], int]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("users", help="管家工作台账号管理（管家、部门负责人、管理员）")
    sub = parser.add_subparsers(dest="users_command", metavar="ACTION")
    sub.required = True

    add = sub.add_parser("add", help="创建账号；密码从标准输入读取（终端中会提示输入两次）")
    add.add_argument("name", help="登录用户名")
    add.add_argument(
        "--role", required=True, help="角色：butler（企业管家）、head（部门负责人）、admin（管理员）"
    )
    add.add_argument("--butler-phone", help="名册中该管家的手机号（butler 角色必填）")
    add.add_argument("--department", help="单位名称（head 角色必填，除非给出 --butler-phone）")
    add.add_argument("--display-name", help="工作台显示的姓名（默认为管家姓名或用户名）")
    add.set_defaults(handler=_user_errors(_add))

    listing = sub.add_parser("list", help="列出全部账号")
    listing.add_argument("--json", action="store_true", help="输出 JSON")
    listing.set_defaults(handler=_user_errors(_list))

    disable = sub.add_parser("disable", help="停用账号，并使其全部登录失效")
    disable.add_argument("name", help="登录用户名")
    disable.set_defaults(handler=_user_errors(_disable))

    enable = sub.add_parser("enable", help="重新启用已停用的账号")
    enable.add_argument("name", help="登录用户名")
    enable.set_defaults(handler=_user_errors(_enable))

    passwd = sub.add_parser("passwd", help="修改密码；新密码从标准输入读取，原有登录全部失效")
    passwd.add_argument("name", help="登录用户名")
    passwd.set_defaults(handler=_user_errors(_passwd))


def _user_errors(handler: Handler) -> Handler:
    """Account and storage errors become the CLI's one-line Chinese error (exit 2)."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except (AccountError, StorageError) as exc:
            raise UserError(str(exc)) from exc

    return wrapped


def _factory() -> sessionmaker:
    """Bring the schema up to date (a no-op when it is) and open the database."""
    url = Settings.from_env().database_url
    upgrade_to_head(url)
    return make_session_factory(make_engine(url))


def read_password(stream: Any = None) -> str:
    """The new password: asked twice without echo on a terminal, else the first line of standard input."""
    source = stream if stream is not None else sys.stdin
    if source.isatty():
        first = getpass.getpass("请输入密码：")
        second = getpass.getpass("请再次输入密码：")
        if first != second:
            raise UserError("两次输入的密码不一致，账号未修改")
        return first
    line = source.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise UserError("没有从标准输入读到密码，例如：printf '%s\\n' \"$PASSWORD\" | butler users add …")
    return password


def _describe(user: UserPublic) -> str:
    return f"「{user.username}」（{ROLE_LABELS.get(user.role, user.role)} {user.display_name}）"


def _add(args: argparse.Namespace) -> int:
    password = read_password()
    with transaction(_factory()) as session:
        user = service.create_user(
            session,
            args.name,
            password,
            args.role,
            butler_phone=args.butler_phone,
            department=args.department,
            display_name=args.display_name,
        )
        service.record_audit(
            session, CLI_ACTOR, "user_created", f"user:{user.username}", f"角色：{user.role}"
        )
    print(f"已创建账号{_describe(user)}，可以登录管家工作台 /console。")
    return 0


def _list(args: argparse.Namespace) -> int:
    with transaction(_factory()) as session:
        users = service.list_users(session)
    if args.json:
        rows = [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role,
                "butler_id": u.butler_id,
                "department_id": u.department_id,
                "active": u.active,
            }
            for u in users
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not users:
        print("还没有任何账号。创建第一个管理员：butler users add admin --role admin（密码从标准输入读取）")
        return 0
    for u in users:
        state = "启用" if u.active else "已停用"
        print(f"{u.username}\t{u.display_name}\t{ROLE_LABELS.get(u.role, u.role)}\t{state}")
    print(f"共{len(users)}个账号。")
    return 0


def _disable(args: argparse.Namespace) -> int:
    with transaction(_factory()) as session:
        user = service.disable_user(session, args.name)
        service.record_audit(session, CLI_ACTOR, "user_disabled", f"user:{user.username}")
    print(f"已停用账号{_describe(user)}，其登录已全部失效。")
    return 0


def _enable(args: argparse.Namespace) -> int:
    with transaction(_factory()) as session:
        user = service.enable_user(session, args.name)
        service.record_audit(session, CLI_ACTOR, "user_enabled", f"user:{user.username}")
    print(f"已启用账号{_describe(user)}。")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    password = read_password()
    with transaction(_factory()) as session:
        user = service.set_password(session, args.name, password)
        service.record_audit(session, CLI_ACTOR, "password_changed", f"user:{user.username}")
    print(f"已修改账号{_describe(user)}的密码，原有登录已全部失效。")
    return 0
