"""``butler ask``: questions in, answers out, through the trained NLU model and the chat's answering code.

No server is started: the model is loaded in-process with Rasa's ``Agent`` and
only its NLU part is used, then the same ``GuideAssistant`` as the chat action
answers. With ``--jsonl`` each stdin line is one question and each stdout line
one JSON object (question, kind, guide_id, guide_name, aspect, confidence).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from cli import output
from cli.main import UserError
from storage.settings import PROJECT_ROOT

DEFAULT_MODEL_DIR = PROJECT_ROOT / "models"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("ask", help="用训练好的模型回答办事问题（不启动服务）")
    parser.add_argument("question", nargs="*", help="问题；省略时从标准输入逐行读取")
    parser.add_argument("--jsonl", action="store_true", help="每行输出一个 JSON 对象")
    parser.add_argument("--model", type=Path, default=None, help="模型文件或目录（默认 models/ 下最新的）")
    parser.add_argument(
        "--conversation", action="store_true", help="把各行当作同一段对话（追问沿用上一题的事项和方面）"
    )
    parser.set_defaults(handler=_ask)


def latest_model(path: Path | None) -> Path:
    """The model file to load: the given file, or the newest archive in the given (or default) directory."""
    path = path or DEFAULT_MODEL_DIR
    if path.is_file():
        return path
    archives = sorted(path.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime) if path.is_dir() else []
    if not archives:
        raise UserError(f"没有找到训练好的模型（{path}）。请先运行 make train。")
    return archives[-1]


class NluParser:
    """The NLU half of a trained Rasa model, loaded once."""

    def __init__(self, model_path: Path) -> None:
        import logging

        from rasa.core.agent import Agent
        from rasa.utils.log_utils import configure_structlog

        # Rasa's structlog writes to stdout, which carries the answers: warnings only with -v
        configure_structlog(logging.WARNING if output.is_verbose() else logging.ERROR)
        self._agent = Agent.load(str(model_path))

    async def parse(self, text: str) -> dict[str, Any]:
        return dict(await self._agent.parse_message(text))


def _ask(args: argparse.Namespace) -> int:
    from bot.actions.services import get_services
    from knowledge.answering import Context

    questions = args.question or [line.rstrip("\n") for line in sys.stdin]
    parser = NluParser(latest_model(args.model))
    assistant = get_services().guides
    context = Context()

    async def run() -> None:
        nonlocal context
        for question in questions:
            parsed = await parser.parse(question) if question.strip() else {"intent": {}}
            intent = parsed.get("intent") or {}
            reply = assistant.reply(
                question,
                intent=intent.get("name"),
                intent_confidence=float(intent.get("confidence") or 0.0),
                context=context if args.conversation else Context(),
                sender_id="cli",
            )
            if reply.kind == "guide":
                context = Context(reply.guide_id, reply.aspect)
            if args.jsonl:
                print(json.dumps(reply.to_json(question), ensure_ascii=False), flush=True)
            else:
                print(f"问：{question}\n答：{reply.text}\n", flush=True)

    asyncio.run(run())
    return 0
