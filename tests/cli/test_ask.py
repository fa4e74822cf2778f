"""`butler ask --jsonl`: the trained NLU model and the chat's answering code, no servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import MODEL

BUTLER = str(Path(sys.executable).with_name("butler"))


def ask(lines: list[str], database_url: str, *extra: str) -> list[dict]:  # type: ignore[type-arg]
    assert MODEL.exists(), "train the model first (make train)"
    done = subprocess.run(
        [BUTLER, "ask", "--jsonl", "--model", str(MODEL), *extra],
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": database_url},
        timeout=300,
        check=True,
    )
    out = [line for line in done.stdout.splitlines() if line.strip()]
    return [json.loads(line) for line in out]  # every stdout line is JSON: logs go elsewhere


def test_one_json_object_per_question(demo_kb_url: str) -> None:
    questions = ["食品经营许可证需要准备哪些材料", "公章刻制备案收费吗", "明天天气怎么样", ""]
    answers = ask(questions, demo_kb_url)
    assert [a["question"] for a in answers] == questions
    assert set(answers[0]) == {"question", "kind", "guide_id", "guide_name", "aspect", "confidence", "basis"}
    assert answers[0]["kind"] == "guide" and answers[0]["guide_name"] == "食品经营许可证核发"
    assert answers[0]["basis"] == "words"
    assert answers[0]["aspect"] == "materials"
    assert answers[1]["guide_name"] == "公章刻制备案" and answers[1]["aspect"] == "fee"
    assert answers[2]["kind"] == "no_answer" and answers[3]["kind"] == "no_answer"


def test_conversation_mode_keeps_context(demo_kb_url: str) -> None:
    answers = ask(["食品经营许可证需要准备哪些材料", "那要多久？"], demo_kb_url, "--conversation")
    assert answers[1]["guide_name"] == "食品经营许可证核发" and answers[1]["aspect"] == "time_limit"
    assert answers[1]["basis"] == "context"


def test_missing_model_is_a_clear_error(tmp_path: Path, demo_kb_url: str) -> None:
    done = subprocess.run(
        [BUTLER, "ask", "--jsonl", "--model", str(tmp_path)],
        input="你好\n",
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": demo_kb_url},
        timeout=120,
    )
    assert done.returncode == 2 and "没有找到训练好的模型" in done.stderr and "Traceback" not in done.stderr


LIBRARY_NOISE = ("DEBUG", "INFO", "Warning", "tensorflow", "jieba", "Building prefix dict", "sqlalchemy")


def test_ask_prints_the_answer_and_nothing_else(demo_kb_url: str) -> None:
    question = "公章刻制备案收费吗"
    done = subprocess.run(
        [BUTLER, "ask", "--model", str(MODEL), question],
        capture_output=True,
        text=True,
        # a parent that asked TensorFlow to talk (jax sets 1 when imported) does not make the answer noisy
        env={**os.environ, "DATABASE_URL": demo_kb_url, "TF_CPP_MIN_LOG_LEVEL": "0"},
        timeout=900,
        check=True,
    )
    assert done.stderr == ""
    assert done.stdout.startswith(f"问：{question}\n答：【公章刻制备案】收费标准\n")
    assert not [line for line in done.stdout.splitlines() if any(word in line for word in LIBRARY_NOISE)]


def test_verbose_shows_the_libraries_logs_on_stderr_only(demo_kb_url: str) -> None:
    done = subprocess.run(
        [BUTLER, "-v", "ask", "--jsonl", "--model", str(MODEL), "公章刻制备案收费吗"],
        capture_output=True,
        text=True,
        env={**os.environ, "DATABASE_URL": demo_kb_url},
        timeout=900,
        check=True,
    )
    [answer] = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert answer["guide_name"] == "公章刻制备案"
    assert " DEBUG " in done.stderr and "Warning" in done.stderr
