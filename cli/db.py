"""``butler db upgrade``: create or migrate the database schema."""

from __future__ import annotations

import argparse
from typing import Any

from storage.migrate import upgrade_to_head
from storage.settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="数据库结构管理")
    sub = parser.add_subparsers(dest="db_command", metavar="ACTION")
    sub.required = True
    upgrade = sub.add_parser("upgrade", help="创建或升级数据库结构到最新版本")
    upgrade.set_defaults(handler=_upgrade)


def _upgrade(_args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    upgrade_to_head(settings.database_url)
    print("数据库结构已是最新。")
    return 0
