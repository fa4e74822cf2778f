"""Answer quality on the dev set: the full pipeline next to a plain BM25 baseline.

The dev set (bench/devset.yaml) holds conversations of questions written apart
from the NLU training data; any question that also appears in the training data
is dropped and counted. Metrics over answerable turns: item top-1 accuracy and
aspect accuracy; over the turns a system declines: no-answer precision (and the
recall over the truly unanswerable turns).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import set_questions  # noqa: E402
from knowledge.answering import Context, Reply  # noqa: E402
from knowledge.text import char_terms, normalize  # noqa: E402


@dataclass
class Turn:
    conversation: str
    question: str
    guide: str | None
    aspect: str | None
    position: int
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """What one system answered to one turn: the reply's kind, the item named, the aspect."""

    turn: Turn
    kind: str
    guide_name: str | None
    aspect: str | None
    offered: tuple[str, ...] = ()  # the items a "did you mean" reply offered (kind choose_guide)


@dataclass
class Scores:
    answerable: int = 0
    item_correct: int = 0
    aspect_correct: int = 0
    item_and_aspect_correct: int = 0
    declined: int = 0
    declined_correctly: int = 0
    unanswerable: int = 0
    # "did you mean" replies (neither an answer nor a decline): to answerable turns, and how many of
    # those offered the right item; to unanswerable turns
    suggested: int = 0
    suggested_right: int = 0
    suggested_unanswerable: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self, turn: Turn, kind: str, guide_name: str | None, aspect: str | None, offered: tuple[str, ...] = ()
    ) -> None:
        """Score one reply. A pointer to a name-only catalogue item gives no guide content: a decline."""
        if offered:
            if turn.guide is None:
                self.suggested_unanswerable += 1
            else:
                self.suggested += 1
                self.suggested_right += turn.guide in offered
        if turn.guide is None:
            self.unanswerable += 1
        else:
            self.answerable += 1
            item_ok = kind == "guide" and guide_name == turn.guide
            self.item_correct += item_ok
            self.aspect_correct += aspect == turn.aspect
            self.item_and_aspect_correct += item_ok and aspect == turn.aspect
            if not item_ok or aspect != turn.aspect:
                self.errors.append(
                    {"q": turn.question, "want": [turn.guide, turn.aspect], "got": [kind, guide_name, aspect]}
                )
        if kind == "no_answer":
            self.declined += 1
            self.declined_correctly += turn.guide is None
        elif turn.guide is None:
            self.errors.append({"q": turn.question, "want": [None, None], "got": [kind, guide_name, aspect]})

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Scores:
        scores = cls()
        for o in outcomes:
            scores.add(o.turn, o.kind, o.guide_name, o.aspect, o.offered)
        return scores

    def summary(self) -> dict[str, Any]:
        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        return {
            "answerable_turns": self.answerable,
            "unanswerable_turns": self.unanswerable,
            "item_top1": ratio(self.item_correct, self.answerable),
            "aspect_accuracy": ratio(self.aspect_correct, self.answerable),
            "item_and_aspect": ratio(self.item_and_aspect_correct, self.answerable),
            "no_answer_precision": ratio(self.declined_correctly, self.declined),
            "no_answer_recall": ratio(self.declined_correctly, self.unanswerable),
            "declined": self.declined,
            "suggested": self.suggested,
            "suggested_right": self.suggested_right,
            "suggested_unanswerable": self.suggested_unanswerable,
        }


def training_examples(nlu_dir: Path) -> dict[str, str]:
    """Every NLU training example (normalised) with its intent."""
    examples: dict[str, str] = {}
    for path in sorted(nlu_dir.glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    examples[normalize(line[2:])] = str(block.get("intent"))
    return examples


def load_devset(path: Path, training: dict[str, str]) -> tuple[list[list[Turn]], int]:
    """Conversations of the dev set, minus any question that is also a training example."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    conversations: list[list[Turn]] = []
    dropped = 0
    for conv in data["conversations"]:
        turns = []
        for position, t in enumerate(conv["turns"]):
            turn = Turn(conv["id"], str(t["q"]), t.get("guide"), t.get("aspect"), position)
            if normalize(turn.question) in training:
                dropped += 1
                continue
            turns.append(turn)
        conversations.append(turns)
    return conversations, dropped


Parse = Callable[[str], Awaitable[dict[str, Any]]]


async def run_pipeline(conversations: list[list[Turn]], assistant: Any, parse: Parse) -> Scores:
    """The full assistant: NLU intent + retrieval + conversation context, as in the chat."""
    return Scores.of(await answer_turns(conversations, assistant, parse))


async def answer_turns(conversations: list[list[Turn]], assistant: Any, parse: Parse) -> list[Outcome]:
    """Each turn's reply from the full assistant, each conversation with its own context."""
    outcomes: list[Outcome] = []
    for turns in conversations:
        context = Context()
        for turn in turns:
            parsed = await parse(turn.question)
            intent = parsed.get("intent") or {}
            reply: Reply = assistant.reply(
                turn.question,
                intent=intent.get("name"),
                intent_confidence=float(intent.get("confidence") or 0.0),
                context=context,
                record_unanswered=False,
            )
            if reply.kind == "guide":
                context = Context(reply.guide_id, reply.aspect)
            kind = "no_answer" if reply.kind == "guide" and not reply.custom.get("has_guide") else reply.kind
            guide_name = reply.guide_name if kind == "guide" else None
            outcomes.append(Outcome(turn, kind, guide_name, reply.aspect, reply.offered))
    return outcomes


class PlainBM25:
    """The baseline: BM25 over character uni+bigrams of names and aliases, margin-gated abstain.

    The aspect is the intent of the nearest NLU training example by the same BM25.
    No synonyms, no stop words, no context.
    """

    def __init__(self, guides: dict[str, Any], training: dict[str, str], margin_gate: float = 0.2) -> None:
        import bm25s

        self._names = []
        corpus = []
        for guide in guides.values():
            for form in {guide.name, *(guide.aliases or [])}:
                self._names.append(guide.name)
                corpus.append(char_terms(normalize(form)))
        self._items = bm25s.BM25()
        self._items.index(corpus, show_progress=False)
        self._examples = list(training.items())
        self._intents = bm25s.BM25()
        self._intents.index([char_terms(q) for q, _ in self._examples], show_progress=False)
        self._gate = margin_gate

    def answer(self, question: str) -> tuple[str, str | None, str | None]:
        terms = char_terms(normalize(question))
        scores = self._items.get_scores(terms)
        best: dict[str, float] = {}
        for name, score in zip(self._names, scores, strict=True):
            best[name] = max(best.get(name, 0.0), float(score))
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        intent_scores = self._intents.get_scores(terms)
        intent = self._examples[int(intent_scores.argmax())][1] if intent_scores.max() > 0 else ""
        aspect = intent[4:] if intent.startswith("ask_") else None
        s1 = ranked[0][1] if ranked else 0.0
        s2 = ranked[1][1] if len(ranked) > 1 else 0.0
        if s1 <= 0 or (s1 - s2) / s1 < self._gate:
            return "no_answer", None, None
        return "guide", ranked[0][0], aspect or "overview"


def run_baseline(conversations: list[list[Turn]], baseline: PlainBM25) -> Scores:
    return Scores.of(baseline_turns(conversations, baseline))


def baseline_turns(conversations: list[list[Turn]], baseline: PlainBM25) -> list[Outcome]:
    return [Outcome(turn, *baseline.answer(turn.question)) for turns in conversations for turn in turns]


def build_knowledge_base(
    database_url: str,
    with_catalogue: Path | None,
    *,
    situations: bool = True,
    without: frozenset[str] = frozenset(),
) -> None:
    """The demo guides (less the 适用情形 lines in ``without``), optionally with the catalogue's names."""
    from bench.common import demo_records
    from knowledge.importers import load_records
    from knowledge.service import import_records
    from storage.engine import make_engine, make_session_factory
    from storage.migrate import upgrade_to_head

    upgrade_to_head(database_url)
    factory = make_session_factory(make_engine(database_url))
    with factory.begin() as session:
        import_records(
            session=session, records=demo_records(situations=situations, without=without), source="demo"
        )
    if with_catalogue is not None:
        with factory.begin() as session:
            import_records(
                session=session,
                records=load_records([with_catalogue], catalogue=True),
                source="catalogue",
                has_guide=False,
            )


async def keyword_only(_text: str) -> dict[str, Any]:
    return {"intent": {}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--devset", type=Path, default=ROOT / "bench" / "devset.yaml")
    parser.add_argument("--model", type=Path, default=None, help="Rasa model; omit with --no-nlu")
    parser.add_argument(
        "--no-nlu", action="store_true", help="keywords instead of the NLU model (quick tuning)"
    )
    parser.add_argument("--catalogue", type=Path, default=None, help="also load the Guang'an catalogue")
    parser.add_argument("--errors", type=int, default=0, help="print this many errors")
    parser.add_argument(
        "--without-situations", action="store_true", help="drop the guides' 适用情形 (to measure them)"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()

    from knowledge.assistant import GuideAssistant
    from knowledge.live_index import LiveIndex
    from storage.engine import make_engine, make_session_factory

    training = training_examples(ROOT / "bot" / "data" / "nlu")
    conversations, dropped = load_devset(args.devset, training)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        # the guides were taught this set's opening questions (bench/teach_demo.py): strip them first
        build_knowledge_base(
            url, args.catalogue, situations=not args.without_situations, without=set_questions(args.devset)
        )
        factory = make_session_factory(make_engine(url))
        live = LiveIndex(factory)
        assistant = GuideAssistant(factory, live)
        parse: Parse
        if args.no_nlu:
            parse = keyword_only
        else:
            from cli.ask import NluParser, latest_model

            parse = NluParser(latest_model(args.model)).parse
        full = asyncio.run(run_pipeline(conversations, assistant, parse))
        baseline = run_baseline(conversations, PlainBM25(dict(live.current().guides), training))
    result = {
        "devset_turns": sum(len(t) for t in conversations),
        "dropped_as_training_examples": dropped,
        "catalogue_loaded": args.catalogue is not None,
        "situations": not args.without_situations,
        "full_pipeline": full.summary(),
        "plain_bm25": baseline.summary(),
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    for error in full.errors[: args.errors]:
        print(json.dumps(error, ensure_ascii=False))
    if args.out:
        args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
