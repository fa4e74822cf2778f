"""A benchmark's log must not show the messages it asks: the held-out set is never read, MSGABench
never copied. Rasa's structlog echoes every parsed text at debug level unless told otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import MODEL

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "我们厂的营业执照地址要变更，得带哪些东西"
SCRIPT = f"""
import asyncio, sys, tempfile
from pathlib import Path
sys.path.insert(0, {str(ROOT)!r})
from bench.dialogue import Dialogue, build_world
with tempfile.TemporaryDirectory() as tmp:
    url = f"sqlite:///{{tmp}}/bench.db"
    build_world(url)
    parsed = asyncio.run(Dialogue(Path({str(MODEL)!r}), url).parse({QUESTION!r}))
    print("INTENT", parsed["intent"]["name"])
"""


def test_the_bench_dialogue_parses_without_echoing_the_message() -> None:
    assert MODEL.exists(), "train the model first (make train)"
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=600, cwd=ROOT
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "INTENT ask_" in run.stdout
    assert QUESTION not in run.stdout + run.stderr
