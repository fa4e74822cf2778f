"""Teach the demo guides the questions enterprises asked in the tuning sets, as 适用情形 lines.

Usage: .venv/bin/python bench/teach_demo.py [--check]

A butler who sees a question answered wrongly tells the knowledge base which item
it meant; the way to teach it is one more 适用情形 line (`butler kb teach`). This
script does that for the demo: the first turn of every conversation in
bench/tuning/*.yaml and bench/devset.yaml that names an item and is at least
MIN_SITUATION_CHARS long is appended, under a comment, to that item's
``situations`` in knowledge/demo/*.yaml. It reads bench/heldout only to leave out a question a tuning set
happens to share with it (one, by coincidence, among 1,135).
A later turn is left out: "有没有电话" means its item only in its conversation.

Those lines are then in the knowledge base the tuning sets are asked of, so the
benchmarks strip a set's own questions before they ask it
(``bench.common.demo_records(without=...)``); their figures stay out of sample.
Running it again adds nothing; ``--check`` exits 1 when a line is missing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import TEACHING_SETS, taught_questions  # noqa: E402

DEMO = ROOT / "knowledge" / "demo"
MARK = "      # 企业问过的说法（bench/teach_demo.py 从调参集写入）"
_NAME = re.compile(r"^    name: (.+)$")


def _scalar(text: str) -> str:
    """One YAML list element, quoted only when the text needs it."""
    dumped = yaml.safe_dump([text], allow_unicode=True, width=10_000).strip()
    return dumped[2:] if dumped.startswith("- ") else dumped


def teach_file(path: Path, questions: dict[str, list[str]]) -> int:
    """Append the missing questions of each item in ``path`` to its situations; how many lines were added."""
    items = {str(i["name"]): i for i in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]}
    out: list[str] = []
    added = 0
    name = ""
    in_situations = False
    for line in path.read_text(encoding="utf-8").split("\n"):
        if in_situations and not (line.startswith("      - ") or line.startswith("      #")):
            known = {str(s) for s in items[name].get("situations") or ()}
            new = list(dict.fromkeys(q for q in questions.get(name, []) if q not in known))
            if new:
                if MARK not in out[-len(known) - 2 :]:
                    out.append(MARK)
                out.extend(f"      - {_scalar(q)}" for q in new)
                added += len(new)
            in_situations = False
        match = _NAME.match(line)
        if match:
            name = str(yaml.safe_load(match.group(1)))
        if line.startswith("    situations:"):
            in_situations = True
        out.append(line)
    if added:
        path.write_text("\n".join(out), encoding="utf-8")
    return added


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="only say whether every question is taught")
    args = parser.parse_args()
    questions: dict[str, list[str]] = {}
    for path in TEACHING_SETS.values():
        for question, item in taught_questions(path):
            questions.setdefault(item, []).append(question)
    if args.check:
        taught = {
            str(s)
            for path in sorted(DEMO.glob("*.yaml"))
            for item in yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
            for s in item.get("situations") or ()
        }
        missing = sum(1 for qs in questions.values() for q in qs if q not in taught)
        print(f"{missing} 条问法尚未写入示例指南")
        return 1 if missing else 0
    total = sum(teach_file(path, questions) for path in sorted(DEMO.glob("*.yaml")))
    print(f"写入 {total} 条问法")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
