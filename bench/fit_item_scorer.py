"""Fit knowledge/item_scorer.py's coefficients on the tuning sets, and say what the swap does there.

Usage: .venv/bin/python bench/fit_item_scorer.py

Reads bench/tuning/*.yaml and bench/devset.yaml, never bench/heldout; each set is asked of the
demo guides stripped of the questions bench/teach_demo.py taught them from it. Every turn
asked outside a conversation about an item gives one row per candidate item
(label: it is the right item). Prints the coefficients to paste into
knowledge/item_scorer.py, then, leaving one set out at a time, how often the
swap would turn a wrong answer right or a right one wrong at each probability.
The turns are answered without the NLU model and without the second look (the
rows describe the pick the second look is given); a later turn's context is the
item so answered.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.answer_quality import build_knowledge_base, load_devset, training_examples  # noqa: E402
from bench.common import TEACHING_SETS, set_questions  # noqa: E402
from knowledge.answering import Context, Thresholds  # noqa: E402
from knowledge.assistant import GuideAssistant  # noqa: E402
from knowledge.item_scorer import FEATURES, candidates  # noqa: E402
from knowledge.live_index import LiveIndex  # noqa: E402
from knowledge.text import normalize  # noqa: E402
from storage.engine import make_engine, make_session_factory  # noqa: E402

SETS = TEACHING_SETS  # every tuning set and the dev set, never bench/heldout
PROBABILITIES = (0.3, 0.4, 0.5, 0.6)


def collect(database_url: str, set_name: str) -> list[dict]:
    """One record per turn of the set asked outside an item's conversation: its candidates, the answer,
    the truth; asked of guides stripped of the set's own questions (bench/teach_demo.py taught them)."""
    path = SETS[set_name]
    build_knowledge_base(database_url, None, without=set_questions(path))
    factory = make_session_factory(make_engine(database_url))
    live = LiveIndex(factory)
    snapshot = live.current()
    assistant = GuideAssistant(factory, live, Thresholds(second_look=2.0))  # no second look
    training = training_examples(ROOT / "bot" / "data" / "nlu")
    guides = snapshot.guides

    def name_of(guide_id: str) -> str | None:
        guide = guides.get(guide_id)
        return str(guide.name) if guide is not None else None

    records = []
    for turns in load_devset(path, training)[0]:
        context = Context()
        for turn in turns:
            reply = assistant.reply(turn.question, context=context, record_unanswered=False)
            if context.guide_id is None and snapshot.dense is not None:
                text = normalize(turn.question)
                result = snapshot.index.search(text)
                ranking = snapshot.dense.meaning(text, top_k=len(snapshot.dense))
                answered = reply.kind == "guide" and reply.custom.get("has_guide")
                records.append(
                    {
                        "set": set_name,
                        "truth": turn.guide,
                        "answered": reply.guide_name if answered else None,
                        "by_pick": reply.basis in ("words", "meaning", "overrule"),
                        # as in answering: an item whose full name is typed keeps its answer
                        "typed": bool(answered and normalize(str(reply.guide_name)) in text),
                        "candidates": candidates(result, ranking, name_of) if not result.is_empty else [],
                    }
                )
            if reply.kind == "guide":
                context = Context(reply.guide_id, reply.aspect)
    return records


def rows(records: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Every candidate's features, and whether it is the turn's item."""
    x = [c.features for r in records for c in r["candidates"]]
    y = [int(c.name == r["truth"]) for r in records for c in r["candidates"]]
    return np.array(x, dtype=float), np.array(y)


def fit(records: list[dict]):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    x, y = rows(records)
    return LogisticRegression(C=1.0, max_iter=3000).fit(x, y)


def swaps(model, records: list[dict], probability: float) -> Counter:  # type: ignore[no-untyped-def]
    """What the swap does to the answers the words or the meaning picked."""
    counts: Counter = Counter()
    for r in records:
        if not (r["answered"] and r["by_pick"] and r["candidates"]) or r["typed"]:
            continue
        p = model.predict_proba(np.array([c.features for c in r["candidates"]]))[:, 1]
        best = int(np.argmax(p))
        name = r["candidates"][best].name
        if p[best] < probability or name == r["answered"]:
            continue
        before = "right" if r["answered"] == r["truth"] else ("unanswerable" if not r["truth"] else "wrong")
        after = "right" if name == r["truth"] else ("unanswerable" if not r["truth"] else "wrong")
        counts[f"{before} -> {after}"] += 1
    return counts


def main() -> int:
    records = []
    for set_name in SETS:
        with tempfile.TemporaryDirectory() as tmp:
            records += collect(f"sqlite:///{tmp}/fit.db", set_name)
    model = fit(records)
    print(f"# {len(records)} turns, {sum(len(r['candidates']) for r in records)} candidates")
    print(f"INTERCEPT = {model.intercept_[0]:.4f}")
    coefficients = ", ".join(f"{c:.4f}" for c in model.coef_[0])
    print(f"COEFFICIENTS: tuple[float, ...] = ({coefficients})")
    for name, c in zip(FEATURES, model.coef_[0], strict=True):
        print(f"#   {c:+.3f}  {name}")
    print("\nLeaving one set out (fitted on the others):")
    for probability in PROBABILITIES:
        for held in SETS:
            others = fit([r for r in records if r["set"] != held])
            counts = swaps(others, [r for r in records if r["set"] == held], probability)
            print(f"  {probability:.1f} {held:12s} {dict(sorted(counts.items()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
