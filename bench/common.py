"""What the benchmark scripts share: how a result is printed and saved, and how figures are written."""

from __future__ import annotations

import json
import sys
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


def demo_records(*, situations: bool = True) -> list[Any]:
    """The demo guides; ``situations=False`` drops their 适用情形, to measure what those add."""
    import dataclasses

    from knowledge.importers import load_records

    records = load_records([ROOT / "knowledge" / "demo"])
    return records if situations else [dataclasses.replace(r, situations=()) for r in records]
