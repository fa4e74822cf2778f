"""``butler`` entry point.

Each command group lives in its own module here with a ``register(subparsers)``
function; this module only wires them together, so a reader finds ``butler kb …`` in
``cli/kb.py`` and ``butler tickets …`` in ``cli/tickets.py``. The domain packages never
import ``cli``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from cli import output

# package modules that contribute subcommands, in help order
COMMAND_MODULES = ("cli.kb", "cli.registry", "cli.tickets", "cli.users", "cli.ask", "cli.db")


class UserError(Exception):
    """A problem the user can fix; printed as one Chinese line, never as a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="butler", description="企业管家助手 管理命令")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="同时输出各组件的日志和警告（默认只输出结果）"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and (module_name + ".").startswith(exc.name + "."):  # package not present
                continue
            raise
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    output.configure(args.verbose)
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("已中断。", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
