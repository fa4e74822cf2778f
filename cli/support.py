"""What the appeals commands share: settings, the database, error handling and argparse wiring."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import sessionmaker

from appeals import registry
from appeals.errors import AppealError
from appeals.settings import AppealsSettings, SettingsError, get_settings
from cli.main import UserError
from storage.engine import make_engine, make_session_factory
from storage.errors import StorageError
from storage.migrate import upgrade_to_head

CLI_ACTOR = "管理员（命令行）"

Handler = Callable[[argparse.Namespace], int]


def appeals_settings() -> AppealsSettings:
    """The appeals settings, or a one-line error naming the bad variable."""
    try:
        return get_settings()
    except SettingsError as exc:
        raise UserError(str(exc)) from exc


def open_database(settings: AppealsSettings) -> sessionmaker:
    """Bring the schema up to date (a no-op when it is) and open the database."""
    upgrade_to_head(settings.database_url)
    return make_session_factory(make_engine(settings.database_url))


def user_errors(handler: Handler) -> Handler:
    """Turn service and storage errors into the CLI's one-line Chinese error."""

    def wrapped(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except registry.RegistryInvalid as exc:
            for error in exc.errors:
                print(str(error), file=sys.stderr)
            raise UserError(str(exc)) from exc
        except (AppealError, StorageError) as exc:
            raise UserError(str(exc)) from exc

    return wrapped


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def add_command(sub: Any, name: str, help_text: str, handler: Handler) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
    parser.set_defaults(handler=user_errors(handler))
    return parser


def json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="以 JSON 输出")


def actor_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", default=CLI_ACTOR, help="记入工单历史的操作人")
