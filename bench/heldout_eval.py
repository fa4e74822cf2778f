"""The held-out test set (bench/heldout/): the figure that counts, since nothing was tuned on it.

Guide questions (guide_questions.yaml) go through the same answer path as the
dev set (bench/answer_quality.py: the trained NLU model + retrieval +
conversation context, as the chat action calls it), overall and per tag, beside
the plain char-BM25 baseline. Then every guide turn and every message of
appeals.yaml goes through the real dialogue (bench/dialogue.py: Rasa's Agent with
the in-process actions), which shows whether the appeal flow started:
complaints should start it, questions should not, and a message that both asks
and complains should get the right guide card and an offer to file an appeal.

The held-out files are read, never written; the loader checks every guide name
against knowledge/demo and every aspect and category against the code's lists,
so a typo in the set fails loudly instead of counting as a miss.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.answer_quality import (  # noqa: E402
    Outcome,
    PlainBM25,
    Scores,
    Turn,
    answer_turns,
    baseline_turns,
    training_examples,
)
from bench.common import emit, pct, ratio  # noqa: E402
from knowledge.text import normalize  # noqa: E402

HELDOUT = ROOT / "bench" / "heldout"
ASPECTS = frozenset(
    {"overview", "materials", "process", "time_limit", "fee", "location", "contact", "online", "conditions"}
)
TAG_ORDER = (
    "no_name",
    "names_item",
    "long",
    "typo",
    "traditional",
    "followup",
    "colloquial",
    "mixed_topic",
    "unanswerable",
)


class HeldoutInvalid(ValueError):
    """The held-out files name an item, aspect or category that does not exist."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class AppealCase:
    text: str
    category: str | None = None
    guide: str | None = None
    aspect: str | None = None


@dataclass(frozen=True)
class AppealSet:
    complaints: list[AppealCase]
    mixed: list[AppealCase]
    questions: list[AppealCase]


def demo_guide_names() -> frozenset[str]:
    """The names of the 60 demo items, the only items the held-out set may name."""
    from bench.common import demo_records

    return frozenset(record.name for record in demo_records())


def _check(problems: list[str], where: str, guide: Any, aspect: Any, names: frozenset[str]) -> None:
    if guide is not None and guide not in names:
        problems.append(f"{where}: guide {guide!r} is not a demo item")
    if guide is None and aspect is not None:
        problems.append(f"{where}: aspect {aspect!r} without a guide")
    if guide is not None and aspect not in ASPECTS:
        problems.append(f"{where}: aspect {aspect!r} is not one of {sorted(ASPECTS)}")


def load_guide_questions(path: Path, names: frozenset[str]) -> list[list[Turn]]:
    """The conversations of guide_questions.yaml as dev-set turns (with their tags), validated."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    conversations: list[list[Turn]] = []
    seen: set[str] = set()
    for conv in data.get("conversations") or []:
        cid = str(conv.get("id"))
        if cid in seen:
            problems.append(f"{cid}: conversation id used twice")
        seen.add(cid)
        turns = []
        for position, raw in enumerate(conv.get("turns") or []):
            where = f"{cid} turn {position + 1}"
            question = str(raw.get("q") or "").strip()
            if not question:
                problems.append(f"{where}: empty question")
            guide, aspect = raw.get("guide"), raw.get("aspect")
            _check(problems, where, guide, aspect, names)
            tags = tuple(str(t) for t in raw.get("tags") or ())
            turns.append(Turn(cid, question, guide, aspect, position, tags))
        if not turns:
            problems.append(f"{cid}: no turns")
        conversations.append(turns)
    if problems:
        raise HeldoutInvalid(problems)
    return conversations


def load_appeals(path: Path, names: frozenset[str]) -> AppealSet:
    """complaints, mixed and questions of appeals.yaml, validated."""
    from appeals.categories import CATEGORIES

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems: list[str] = []
    parts: dict[str, list[AppealCase]] = {}
    for part in ("complaints", "mixed", "questions"):
        cases = []
        for n, raw in enumerate(data.get(part) or [], start=1):
            where = f"{part} {n}"
            case = AppealCase(
                str(raw.get("text") or "").strip(), raw.get("category"), raw.get("guide"), raw.get("aspect")
            )
            if not case.text:
                problems.append(f"{where}: empty text")
            if part != "questions" and case.category not in CATEGORIES:
                problems.append(f"{where}: category {case.category!r} is not one of {list(CATEGORIES)}")
            if part == "mixed" and case.guide is None:
                problems.append(f"{where}: a mixed message must name its guide")
            _check(problems, where, case.guide, case.aspect, names)
            cases.append(case)
        parts[part] = cases
    if problems:
        raise HeldoutInvalid(problems)
    return AppealSet(**parts)


def guide_items(session_factory: Any) -> dict[str, Any]:
    """Every item of the knowledge base (name and aliases are what the baseline indexes)."""
    from sqlalchemy import select

    from knowledge.models import GuideItem

    with session_factory() as session:
        items = list(session.execute(select(GuideItem)).scalars())
        session.expunge_all()
    return {item.id: item for item in items}


def by_tag(outcomes: Iterable[Outcome]) -> dict[str, dict[str, Any]]:
    """Scores of the turns carrying each tag."""
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        for tag in outcome.turn.tags:
            groups[tag].append(outcome)
    order = [t for t in TAG_ORDER if t in groups] + sorted(set(groups) - set(TAG_ORDER))
    return {tag: {"turns": len(groups[tag]), **Scores.of(groups[tag]).summary()} for tag in order}


async def dialogue_guide_turns(conversations: list[list[Turn]], dialogue: Any) -> dict[str, Any]:
    """Every guide turn through the real dialogue: appeal starts, and the guide card the chat shows."""
    started: list[str] = []
    outcomes: list[Outcome] = []
    for n, turns in enumerate(conversations):
        for turn in turns:
            said = await dialogue.say(f"heldout-guide-{n}", turn.question)
            if said.appeal_started:
                started.append(turn.question)
            kind, card = said.answer_kind, said.guide_card or {}
            outcomes.append(
                Outcome(turn, kind, card.get("guide_name") if kind == "guide" else None, card.get("aspect"))
            )
    total = sum(len(t) for t in conversations)
    return {
        "turns": total,
        "appeal_started": len(started),
        "appeal_started_share": ratio(len(started), total),
        "appeal_started_examples": started[:10],
        "guide_card_scores": Scores.of(outcomes).summary(),
    }


async def dialogue_appeals(appeals: AppealSet, dialogue: Any) -> dict[str, Any]:
    """Each message of appeals.yaml as the first message of its own conversation."""
    complaints = [
        await dialogue.say(f"heldout-complaint-{n}", c.text) for n, c in enumerate(appeals.complaints)
    ]
    mixed = [await dialogue.say(f"heldout-mixed-{n}", c.text) for n, c in enumerate(appeals.mixed)]
    questions = [await dialogue.say(f"heldout-question-{n}", c.text) for n, c in enumerate(appeals.questions)]

    started = [t for t in complaints if t.appeal_started]
    category_right = sum(
        t.category_guess == c.category
        for t, c in zip(complaints, appeals.complaints, strict=True)
        if t.appeal_started
    )
    right_item = [
        (t.guide_card or {}).get("guide_name") == c.guide and bool((t.guide_card or {}).get("has_guide"))
        for t, c in zip(mixed, appeals.mixed, strict=True)
    ]
    offered = [t.offered_appeal or t.appeal_started for t in mixed]
    return {
        "complaints": {
            "messages": len(complaints),
            "appeal_started": len(started),
            "appeal_started_share": ratio(len(started), len(complaints)),
            "category_inferred_right": category_right,
            "category_inferred_right_share": ratio(category_right, len(started)),
            "description_from_message": sum(t.description_from_message for t in started),
            "description_from_message_share": ratio(
                sum(t.description_from_message for t in started), len(started)
            ),
            "not_started_examples": [
                {"text": t.text, "actions": [a for a in t.actions if a != "action_listen"]}
                for t in complaints
                if not t.appeal_started
            ][:10],
        },
        "mixed": {
            "messages": len(mixed),
            "right_item": sum(right_item),
            "offered_appeal": sum(t.offered_appeal for t in mixed),
            "started_appeal": sum(t.appeal_started for t in mixed),
            "right_item_and_offer": sum(a and b for a, b in zip(right_item, offered, strict=True)),
            "right_item_and_offer_share": ratio(
                sum(a and b for a, b in zip(right_item, offered, strict=True)), len(mixed)
            ),
        },
        "questions": {
            "messages": len(questions),
            "appeal_started": sum(t.appeal_started for t in questions),
            "appeal_started_share": ratio(sum(t.appeal_started for t in questions), len(questions)),
            "offered_appeal": sum(t.offered_appeal for t in questions),  # an offer under a plain answer
            "started_examples": [t.text for t in questions if t.appeal_started][:10],
        },
    }


async def evaluate(model: Path, database_url: str, errors: int, *, situations: bool = True) -> dict[str, Any]:
    from bench.common import demo_records
    from bench.dialogue import Dialogue, build_world

    records = demo_records()
    names = frozenset(record.name for record in records)
    conversations = load_guide_questions(HELDOUT / "guide_questions.yaml", names)
    appeals = load_appeals(HELDOUT / "appeals.yaml", names)
    training = training_examples(ROOT / "bot" / "data" / "nlu")
    leaked = [t.question for turns in conversations for t in turns if normalize(t.question) in training]
    leaked += [
        c.text
        for part in (appeals.complaints, appeals.mixed, appeals.questions)
        for c in part
        if normalize(c.text) in training
    ]

    # the guides' 适用情形 were taught the tuning sets' questions (bench/teach_demo.py), never these
    taught = {normalize(line) for record in records for line in record.situations}
    in_guides = [t.question for turns in conversations for t in turns if normalize(t.question) in taught]

    build_world(database_url, situations=situations)
    dialogue = Dialogue(model, database_url)
    from bot.actions.services import get_services

    services = get_services()
    full = await answer_turns(conversations, services.guides, dialogue.parse)
    baseline = baseline_turns(conversations, PlainBM25(guide_items(services.session_factory), training))
    full_scores = Scores.of(full)
    return {
        "turns": sum(len(t) for t in conversations),
        "conversations": len(conversations),
        "situations": situations,
        "questions_found_in_training_data": leaked,
        "questions_found_in_guides": in_guides,
        "full_pipeline": full_scores.summary(),
        "plain_bm25": Scores.of(baseline).summary(),
        "by_tag": {"full_pipeline": by_tag(full), "plain_bm25": by_tag(baseline)},
        "dialogue": {
            "guide_questions": await dialogue_guide_turns(conversations, dialogue),
            **(await dialogue_appeals(appeals, dialogue)),
            "appeal_signal": "action_start_appeal ran in the turn, or appeal_form became the active loop",
            "offer_signal": "a button whose payload or title names 诉求/file_appeal, a reply proposing to "
            "登记/提交 a 诉求, or a custom card whose kind names appeal",
        },
        "errors": full_scores.errors[:errors],
    }


def report_lines(result: dict[str, Any]) -> list[str]:
    """The held-out section of docs/benchmarks.md."""
    full, base = result["full_pipeline"], result["plain_bm25"]
    d = result["dialogue"]
    g, c, m, q = d["guide_questions"], d["complaints"], d["mixed"], d["questions"]
    lines = [
        f"{result['turns']} turns in {result['conversations']} conversations "
        f"({full['answerable_turns']} answerable, {full['unanswerable_turns']} unanswerable); "
        f"held-out questions also found verbatim in the NLU training data: {len(result['questions_found_in_training_data'])}, "
        f"in the guides' 适用情形: {len(result.get('questions_found_in_guides', []))}.",
        "",
        "| System | Item top-1 | Item + aspect | Aspect | No-answer precision | No-answer recall |",
        "|---|---|---|---|---|---|",
    ]
    for label, s in (("**full pipeline**", full), ("plain char-BM25 baseline", base)):
        lines.append(
            f"| {label} | {pct(s['item_top1'])} | {pct(s['item_and_aspect'])} | {pct(s['aspect_accuracy'])} | "
            f"{pct(s['no_answer_precision'])} | {pct(s['no_answer_recall'])} |"
        )
    lines += [
        "",
        "Targets: item top-1 ≥ 95%, item + aspect ≥ 90%, no-answer precision ≥ 95%.",
        "",
        'Declined: the reply says no guide answers. A "did you mean" reply (the meaning leans towards '
        "a guide but not enough to answer: its likeliest guides as buttons, and 转人工) is neither an "
        "answer nor a decline; it counts as a miss in item top-1, and an unanswerable turn that got one "
        "counts against no-answer recall, not precision. "
        f"Full pipeline: {full.get('suggested', 0)} answerable turns got one "
        f"(the right item offered in {full.get('suggested_right', 0)}), "
        f"and {full.get('suggested_unanswerable', 0)} unanswerable turns instead of a decline.",
        "",
        "Per tag (a turn counts under each of its tags; full pipeline / baseline). Declined: turns the "
        "system answered with no guide; the no-answer columns only where the tag has unanswerable turns.",
        "",
        "| Tag | Turns | Item top-1 | Item + aspect | Declined | No-answer precision | No-answer recall |",
        "|---|---|---|---|---|---|---|",
    ]
    tags_full, tags_base = result["by_tag"]["full_pipeline"], result["by_tag"]["plain_bm25"]
    for tag, s in tags_full.items():
        b = tags_base[tag]
        lines.append(
            f"| {tag} | {s['turns']} | {pct(s['item_top1'])} / {pct(b['item_top1'])} | "
            f"{pct(s['item_and_aspect'])} / {pct(b['item_and_aspect'])} | {s['declined']} / {b['declined']} | "
            + (
                f"{pct(s['no_answer_precision'])} / {pct(b['no_answer_precision'])} | "
                f"{pct(s['no_answer_recall'])} / {pct(b['no_answer_recall'])} |"
                if s["unanswerable_turns"]
                else "— | — |"
            )
        )
    gc = g["guide_card_scores"]
    lines += [
        "",
        "Through the real dialogue (Rasa Agent in-process, actions in-process, tracker in memory, each "
        "conversation bound to a demo enterprise by a signed identity as the gateway does). "
        f"Appeal flow started = {d['appeal_signal']}.",
        "",
        "| Messages | Count | Result | Target |",
        "|---|---|---|---|",
        f"| complaints (appeals.yaml) that start the appeal flow | {c['messages']} | "
        f"**{pct(c['appeal_started_share'])}** ({c['appeal_started']}) | ≥ 90% |",
        f"| … of those, category inferred = expected | {c['appeal_started']} | "
        f"{pct(c['category_inferred_right_share'])} ({c['category_inferred_right']}) | |",
        f"| … of those, the message taken as the description | {c['appeal_started']} | "
        f"{pct(c['description_from_message_share'])} ({c['description_from_message']}) | |",
        f"| questions (appeals.yaml) that start it | {q['messages']} | **{pct(q['appeal_started_share'])}** "
        f"({q['appeal_started']}"
        + (f"; offered under the answer: {q['offered_appeal']}" if "offered_appeal" in q else "")
        + ") | < 5% |",
        f"| guide-question turns that start it | {g['turns']} | **{pct(g['appeal_started_share'])}** "
        f"({g['appeal_started']}) | < 5% |",
        f"| mixed: right guide card and an offer to file an appeal | {m['messages']} | "
        f"**{pct(m['right_item_and_offer_share'])}** ({m['right_item_and_offer']}; right card {m['right_item']}, "
        f"offer {m['offered_appeal']}, appeal started {m['started_appeal']}) | |",
        "",
        f"Offer = {d['offer_signal']} (an appeal started also counts as offered). "
        f"Guide cards the dialogue showed for the guide turns: item top-1 {pct(gc['item_top1'])}, "
        f"item + aspect {pct(gc['item_and_aspect'])} (the answer path above calls the same code without "
        "the dialogue's rules).",
    ]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "butler.tar.gz")
    parser.add_argument("--errors", type=int, default=0, help="print this many misses of the full pipeline")
    parser.add_argument(
        "--without-situations", action="store_true", help="drop the guides' 适用情形 (to measure them)"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(
            evaluate(
                args.model,
                f"sqlite:///{tmp}/heldout.db",
                args.errors,
                situations=not args.without_situations,
            )
        )
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
