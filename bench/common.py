"""What the benchmark scripts share: how a result is printed and saved, and how figures are written."""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def emit(result: dict[str, Any], out: Path | None) -> None:
    """Print the result as JSON, and save it where run_all.py reads it back."""
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if out is not None:
        out.write_text(text, encoding="utf-8")


def ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def progress(source: str, message: str) -> None:
    """A line on stderr: benchmark runs are long on a busy machine."""
    print(f"{source}: {message}", file=sys.stderr, flush=True)


HELDOUT_QUESTIONS = ROOT / "bench" / "heldout" / "guide_questions.yaml"
HELDOUT_APPEALS = ROOT / "bench" / "heldout" / "appeals.yaml"
# the sets whose opening questions bench/teach_demo.py taught the demo guides (never bench/heldout)
TEACHING_SETS = {
    "paraphrases": ROOT / "bench" / "tuning" / "paraphrases.yaml",
    "scenarios": ROOT / "bench" / "tuning" / "scenarios.yaml",
    "aspects": ROOT / "bench" / "tuning" / "aspects.yaml",
    "switches": ROOT / "bench" / "tuning" / "switches.yaml",
    "devset": ROOT / "bench" / "devset.yaml",
    "asked_1": ROOT / "bench" / "tuning" / "asked_1.yaml",
    "asked_2": ROOT / "bench" / "tuning" / "asked_2.yaml",
    "asked_3": ROOT / "bench" / "tuning" / "asked_3.yaml",
    "asked_4": ROOT / "bench" / "tuning" / "asked_4.yaml",
    "asked_5": ROOT / "bench" / "tuning" / "asked_5.yaml",
    "asked_6": ROOT / "bench" / "tuning" / "asked_6.yaml",
    "asked_7": ROOT / "bench" / "tuning" / "asked_7.yaml",
    "asked_8": ROOT / "bench" / "tuning" / "asked_8.yaml",
    "asked_9": ROOT / "bench" / "tuning" / "asked_9.yaml",
}
# blind sets written like the held-out set and never taught (docs/nlu-pipeline.md, 2026-12-02): out of
# sample for the next change of the teaching or the second look
UNTAUGHT_SETS = {
    "asked_10": ROOT / "bench" / "tuning" / "asked_10.yaml",
    "asked_11": ROOT / "bench" / "tuning" / "asked_11.yaml",
    "asked_12": ROOT / "bench" / "tuning" / "asked_12.yaml",
}
# complaints written blind to be taught as file_appeal beside the tuning sets' questions (docs/nlu-pipeline.md,
# 2026-12-02), and the ones kept untaught to check that complaints start the appeal flow out of sample
COMPLAINT_SETS = {
    "complaints_a": ROOT / "bench" / "tuning" / "complaints_a.yaml",
    "complaints_b": ROOT / "bench" / "tuning" / "complaints_b.yaml",
    "complaints_c": ROOT / "bench" / "tuning" / "complaints_c.yaml",
}
CHECK_COMPLAINT_SETS = {
    "complaints_d": ROOT / "bench" / "tuning" / "complaints_d.yaml",
}
# citizens' complaints (投诉/求助) and consultations written blind (docs/nlu-pipeline.md, "An aspect classifier
# of its own"): the complaints are only asked (bench/appeal_tuning.py); three in four consultations are taught
# to the aspect classifier, and every fourth is kept untaught to check it
CITIZEN_COMPLAINTS = ROOT / "bench" / "tuning" / "citizen_complaints.yaml"
CITIZEN_QUESTIONS = ROOT / "bench" / "tuning" / "citizen_questions.yaml"
CITIZEN_CHECK_EVERY = 4


def citizen_complaints() -> list[str]:
    """Every citizen complaint of the set."""
    import yaml

    return [
        str(m["text"]).strip()
        for m in yaml.safe_load(CITIZEN_COMPLAINTS.read_text(encoding="utf-8"))["complaints"]
    ]


def citizen_questions(*, taught: bool) -> list[dict[str, str]]:
    """The citizens' consultations (``text``, ``aspect``): the taught ones, or the fourth kept untaught."""
    import yaml

    questions = yaml.safe_load(CITIZEN_QUESTIONS.read_text(encoding="utf-8"))["questions"]
    return [
        q for i, q in enumerate(questions) if (i % CITIZEN_CHECK_EVERY != CITIZEN_CHECK_EVERY - 1) == taught
    ]


# what bench/teach_nlu.py writes: the questions of the sets above, learnt by the aspect classifier only
# (bot/components/aspect_classifier.py), not by DIET
TAUGHT_ASPECTS = ROOT / "bot" / "aspect_examples" / "taught.yml"


def taught_questions(path: Path) -> list[tuple[str, str]]:
    """(question, item name) of each conversation's first turn that names an item and is long enough
    to be matched by its meaning (a shorter line would be a template, "要办啥证", more than a situation),
    and that is not also a question of the held-out set (read only to leave such a question out)."""
    import yaml

    from knowledge.dense import MIN_SITUATION_CHARS
    from knowledge.text import normalize

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    held_out = _held_out_questions()
    pairs = []
    for conversation in data["conversations"]:
        first = conversation["turns"][0]
        question = str(first["q"])
        long_enough = len(normalize(question)) >= MIN_SITUATION_CHARS
        # a blind writer of a tuning set may happen on a held-out question's very words: never taught
        if first.get("guide") and long_enough and normalize(question) not in held_out:
            pairs.append((question, str(first["guide"])))
    return pairs


@lru_cache(maxsize=1)
def _held_out_questions() -> frozenset[str]:
    """The held-out questions, normalised: read once for every set taught_questions is asked about."""
    from knowledge.text import normalize

    return frozenset(normalize(q) for q in set_questions(HELDOUT_QUESTIONS))


def set_questions(path: Path) -> frozenset[str]:
    """Every question of a question set, to strip from the guides before the set is asked."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return frozenset(str(t["q"]) for c in data["conversations"] for t in c["turns"])


def demo_records(*, situations: bool = True, without: frozenset[str] = frozenset()) -> list[Any]:
    """The demo guides; ``situations=False`` drops their 适用情形, to measure what those add;
    ``without``: 适用情形 lines to drop (compared normalised), the questions of the set about to be asked (bench/teach_demo.py
    taught them), so that a set is never asked what the guides were taught from it."""
    import dataclasses

    from knowledge.importers import load_records

    records = load_records([ROOT / "knowledge" / "demo"])
    if not situations:
        return [dataclasses.replace(r, situations=()) for r in records]
    if without:
        from knowledge.text import normalize

        # normalised: a set's question in Traditional characters is the same question (用人單位…收費嗎)
        dropped = {normalize(q) for q in without}
        return [
            dataclasses.replace(r, situations=tuple(s for s in r.situations if normalize(s) not in dropped))
            for r in records
        ]
    return records
