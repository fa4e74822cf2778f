"""Teach the aspect classifier how enterprises and citizens ask, from the tuning sets.

Usage: .venv/bin/python bench/teach_nlu.py [--check]

DIET learnt the aspect intents (ask_materials, ask_time_limit, …) from about 770
sentences written for bot/data/nlu/guide.yml: short, and in this project's own
words. The tuning sets hold some 2,200 more, written blind by others the way
enterprises write, each labelled with its aspect, and the citizens' consultations
(bench/tuning/citizen_questions.yaml) some 135. This script writes them to
bot/aspect_examples/taught.yml, which only the aspect classifier learns
(bot/components/aspect_classifier.py): taught to DIET, they made real citizens'
complaints read as questions (docs/nlu-pipeline.md). Each labelled turn of the
sets in ``bench.common.TEACHING_SETS`` goes in as an example of its
``ask_<aspect>`` intent, whole, and the sentence that asks in it
(``knowledge.aspects.question_sentence``) on its own as well; three in four of the
citizens' consultations go in whole.

It never writes a held-out question (bench/heldout is read only to leave such a
one out), nor a sentence the NLU files already hold, nor one with brackets (Rasa
reads ``[…](…)`` as an entity). The sets in ``UNTAUGHT_SETS`` and the citizens'
fourth kept untaught are left out: they stay out of sample. ``--check`` exits 1
when the file is not what the sets give.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.answer_quality import training_examples  # noqa: E402
from bench.common import (  # noqa: E402
    HELDOUT_APPEALS,
    HELDOUT_QUESTIONS,
    TAUGHT_ASPECTS,
    TEACHING_SETS,
    citizen_questions,
    set_questions,
)
from knowledge.aspects import question_sentence  # noqa: E402
from knowledge.text import normalize  # noqa: E402

_ENTITY_SYNTAX = re.compile(r"[\[\]{}()]")
HEADER = (
    'version: "3.1"\n'
    "\n"
    "# Written by bench/teach_nlu.py from the tuning sets (bench/tuning, the dev set); never by hand, never\n"
    "# from bench/heldout. Learnt by the aspect classifier only (bot/components/aspect_classifier.py), not by\n"
    "# DIET. Run it again after a set changes.\n"
    "\n"
    "nlu:\n"
)


def held_out_texts() -> frozenset[str]:
    """Every held-out question and appeal message, normalised: never taught."""
    appeals = yaml.safe_load(HELDOUT_APPEALS.read_text(encoding="utf-8"))
    texts = {str(case["text"]) for part in appeals.values() if isinstance(part, list) for case in part}
    return frozenset(normalize(text) for text in texts | set(set_questions(HELDOUT_QUESTIONS)))


def _asking_sentence(question: str) -> str:
    return (question_sentence(normalize(question)) or question).strip()


def examples() -> dict[str, list[str]]:
    """intent -> its examples: the tuning sets' questions and their asking sentences, the citizens'."""
    known = set(training_examples(ROOT / "bot" / "data" / "nlu"))
    held_out = held_out_texts()
    by_intent: dict[str, dict[str, None]] = {}

    def add(intent: str, text: str) -> None:
        text = " ".join(text.split())
        key = normalize(text)
        if len(key) < 2 or key in known or key in held_out or _ENTITY_SYNTAX.search(text):
            return
        by_intent.setdefault(intent, {})[text] = None

    labelled = [
        (f"ask_{turn['aspect']}", " ".join(str(turn["q"]).split()))
        for path in TEACHING_SETS.values()
        for conversation in yaml.safe_load(path.read_text(encoding="utf-8"))["conversations"]
        for turn in conversation["turns"]
        if turn.get("guide") and turn.get("aspect")
    ]
    labelled = [(intent, question) for intent, question in labelled if normalize(question) not in held_out]
    for intent, question in labelled:  # the whole question, story and all
        add(intent, question)
    for intent, question in labelled:  # and the sentence that asks, on its own
        add(intent, _asking_sentence(question))
    for case in citizen_questions(taught=True):
        add(f"ask_{case['aspect']}", str(case["text"]))
    # one sentence asked under two aspects ("要多久？" after different stories) teaches neither
    owners: dict[str, set[str]] = {}
    for intent, texts in by_intent.items():
        for text in texts:
            owners.setdefault(normalize(text), set()).add(intent)
    result = {
        intent: [text for text in texts if owners[normalize(text)] == {intent}]
        for intent, texts in sorted(by_intent.items())
    }
    return result


def render(by_intent: dict[str, list[str]]) -> str:
    lines = []
    for intent, texts in by_intent.items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {text}" for text in texts]
    return HEADER + "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is out of date")
    args = parser.parse_args()
    by_intent = examples()
    text = render(by_intent)
    current = TAUGHT_ASPECTS.read_text(encoding="utf-8") if TAUGHT_ASPECTS.exists() else ""
    if args.check:
        if current != text:
            print(
                f"{TAUGHT_ASPECTS.relative_to(ROOT)} 与调优集不一致：请运行 bench/teach_nlu.py",
                file=sys.stderr,
            )
            return 1
        return 0
    TAUGHT_ASPECTS.parent.mkdir(exist_ok=True)
    TAUGHT_ASPECTS.write_text(text, encoding="utf-8")
    counts = {intent: len(texts) for intent, texts in by_intent.items()}
    print(f"写入 {sum(counts.values())} 条：{counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
