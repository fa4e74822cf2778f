"""Record a real conversation with the assistant into docs/conversation.md.

Starts the same servers as `make run` (on free ports), talks to the REST webhook
as the mini-program would, and writes what was said and answered, cards included.
Run after `make setup`: .venv/bin/python scripts/record_conversation.py
"""

from __future__ import annotations

import json
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.processes import running_assistant  # noqa: E402

SENDER = "demo-enterprise-openid"
# a demo enterprise the mini-program has bound to this WeChat user
METADATA = {"credit_code": ""}
TURNS = [
    "你好",
    "开个小饭馆要准备哪些材料？",
    "那要多久？",
    "收费吗",
    "那排污许可呢？",
    "消防怎么办",
    "我们厂停电三天了一直没人来处理，影响生产",
]


def first_credit_code() -> str:
    import csv

    with (ROOT / "appeals" / "demo" / "registry_demo.csv").open(encoding="utf-8-sig") as handle:
        return next(csv.DictReader(handle))["统一社会信用代码"]


def say(url: str, text: str) -> list[dict[str, Any]]:
    body = json.dumps({"sender": SENDER, "message": text, "metadata": METADATA}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return list(json.loads(response.read()))


def render(replies: list[dict[str, Any]]) -> list[str]:
    lines = []
    for reply in replies:
        if "text" in reply:
            lines.append("助手：" + reply["text"].replace("\n", "\n      "))
        if reply.get("buttons"):
            lines.append("      按钮：" + " | ".join(b["title"] for b in reply["buttons"]))
        if "custom" in reply:
            lines.append("      custom: " + json.dumps(reply["custom"], ensure_ascii=False))
    return lines


def main() -> int:
    METADATA["credit_code"] = first_credit_code()
    out = [
        "# A recorded conversation",
        "",
        "Produced by `scripts/record_conversation.py` against the REST webhook.",
        "",
    ]
    out += [
        f"Message metadata sent by the mini-program: `{json.dumps(METADATA, ensure_ascii=False)}`",
        "",
        "```text",
    ]
    with running_assistant(ROOT / "models" / "butler.tar.gz", Path(tempfile.mkdtemp())) as running:
        for text in [*TURNS, *sys.argv[1:]]:
            out.append(f"企业：{text}")
            out += render(say(running.webhook, text))
    out += ["```", ""]
    (ROOT / "docs" / "conversation.md").write_text("\n".join(out), encoding="utf-8")
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
