"""The appeal decisions on the tuning messages (bench/tuning/appeals_*.yaml, complaints_*.yaml, citizen_*.yaml), through the real dialogue.

Usage: .venv/bin/python bench/appeal_tuning.py [--model models/butler.tar.gz] [--out FILE]

The same measures as the held-out appeals (bench/heldout_eval.py): complaints should start the
appeal flow, plain questions should not, and a message that both asks and complains should get
the right guide card and an offer to file an appeal. These sets were written blind, like the
held-out one, but the router's patterns may be fitted to them (never to bench.common.CHECK_COMPLAINT_SETS,
kept out of sample); the held-out figure is the one quoted. ``citizens`` asks the citizens' complaints
(never taught) and the fourth of their consultations that bench/teach_nlu.py does not teach.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    CHECK_COMPLAINT_SETS,
    COMPLAINT_SETS,
    citizen_complaints,
    citizen_questions,
    emit,
)
from bench.heldout_eval import (  # noqa: E402
    AppealCase,
    AppealSet,
    demo_guide_names,
    dialogue_appeals,
    load_appeals,
)

# the mixed sets, then the complaint sets: those written to be taught, and the one kept out of sample
SETS = [
    *sorted((ROOT / "bench" / "tuning").glob("appeals_*.yaml")),
    *COMPLAINT_SETS.values(),
    *CHECK_COMPLAINT_SETS.values(),
]


async def evaluate(model: Path, database_url: str) -> dict[str, Any]:
    from bench.dialogue import Dialogue, build_world

    build_world(database_url)
    names = demo_guide_names()
    results = {}
    for path in SETS:  # a fresh dialogue per set: dialogue_appeals names its conversations by position
        results[path.stem] = await dialogue_appeals(load_appeals(path, names), Dialogue(model, database_url))
    results["citizens"] = await dialogue_appeals(citizens(), Dialogue(model, database_url))
    return results


def citizens() -> AppealSet:
    """The citizens' complaints, which should start an appeal, and their consultations kept untaught,
    which should not (they name no demo item, so no card is checked)."""
    return AppealSet(
        complaints=[AppealCase(text) for text in citizen_complaints()],
        mixed=[],
        questions=[AppealCase(str(q["text"]).strip()) for q in citizen_questions(taught=False)],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "butler.tar.gz")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(evaluate(args.model, f"sqlite:///{tmp}/bench.db"))
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
