"""The appeal decisions on the tuning messages (bench/tuning/appeals_*.yaml, complaints_*.yaml), through the real dialogue.

Usage: .venv/bin/python bench/appeal_tuning.py [--model models/butler.tar.gz] [--out FILE]

The same measures as the held-out appeals (bench/heldout_eval.py): complaints should start the
appeal flow, plain questions should not, and a message that both asks and complains should get
the right guide card and an offer to file an appeal. These sets were written blind, like the
held-out one, but the router's patterns may be fitted to them (never to bench.common.CHECK_COMPLAINT_SETS,
kept out of sample); the held-out figure is the one quoted.
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

from bench.common import CHECK_COMPLAINT_SETS, COMPLAINT_SETS, emit  # noqa: E402
from bench.heldout_eval import demo_guide_names, dialogue_appeals, load_appeals  # noqa: E402

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
    return results


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
