"""REST webhook latency and throughput: the assistant next to a minimal Rasa bot, in one run.

Both bots run on the same machine, the same Rasa server, REST channel and SQL
(SQLite) tracker store. Each concurrency level runs N conversations at once, each
sending its questions one after another; latency is per message, throughput is
messages over wall time. Also: the Rasa server's resident memory, and latency early
and late in one long conversation (the tracker grows within a session).
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.processes import RASA, running_assistant  # noqa: E402

QUESTIONS = [
    "食品经营许可证需要准备哪些材料",
    "那要多久？",
    "收费吗",
    "在哪里办",
    "那排污许可呢",
    "公章刻制备案可以网上办吗",
    "开公司要办什么",
    "高新技术企业认定需要什么条件",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def conversation(
    session: aiohttp.ClientSession, url: str, sender: str, messages: list[str]
) -> list[float]:
    latencies = []
    for text in messages:
        started = time.perf_counter()
        async with session.post(url, json={"sender": sender, "message": text}) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"webhook answered {response.status}")
        latencies.append(time.perf_counter() - started)
    return latencies


async def load(
    url: str, concurrency: int, per_conversation: int, messages: list[str], tag: str
) -> dict[str, float]:
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        started = time.perf_counter()
        results = await asyncio.gather(
            *[
                conversation(
                    session,
                    url,
                    f"{tag}-c{concurrency}-{i}",
                    (messages * per_conversation)[:per_conversation],
                )
                for i in range(concurrency)
            ]
        )
        elapsed = time.perf_counter() - started
    latencies = [x for r in results for x in r]
    return {
        "concurrency": concurrency,
        "messages": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "messages_per_s": round(len(latencies) / elapsed, 1),
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


async def growth(url: str, length: int) -> dict[str, float]:
    """p50 of the first and last 30 messages of one conversation of `length` messages."""
    async with aiohttp.ClientSession() as session:
        latencies = await conversation(session, url, "long-conversation", (QUESTIONS * length)[:length])
    return {
        "messages": length,
        "first_30_p50_ms": round(statistics.median(latencies[:30]) * 1000, 1),
        "last_30_p50_ms": round(statistics.median(latencies[-30:]) * 1000, 1),
    }


def train_minimal(out_dir: Path) -> Path:
    bot = ROOT / "bench" / "minimal_bot"
    subprocess.run(
        [
            RASA,
            "train",
            "--config",
            str(bot / "config.yml"),
            "--domain",
            str(bot / "domain.yml"),
            "--data",
            str(bot / "data"),
            "--out",
            str(out_dir),
            "--fixed-model-name",
            "minimal",
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return out_dir / "minimal.tar.gz"


STOCK_STORE = "SQL"
BOUNDED_STORE = "bot.tracker_store.BoundedSQLTrackerStore"


def measure(
    model: Path,
    workdir: Path,
    *,
    env: dict[str, str],
    with_actions: bool,
    messages: list[str],
    tracker_store: str,
    per_conversation: int,
    long_conversation: int,
) -> dict[str, Any]:
    tag = workdir.name
    with running_assistant(
        model, workdir, env=env, with_actions=with_actions, tracker_store=tracker_store
    ) as running:
        asyncio.run(load(running.webhook, 1, 5, messages, f"{tag}-warmup"))
        levels = [asyncio.run(load(running.webhook, c, per_conversation, messages, tag)) for c in (1, 16)]
        grown = asyncio.run(growth(running.webhook, long_conversation))
        return {
            "tracker_store": tracker_store,
            "levels": levels,
            "rss_mb": rss_mb(running.rasa_pid),
            "long_conversation": grown,
        }


def run(database_url: str, per_conversation: int = 20, long_conversation: int = 200) -> dict[str, Any]:
    """Three servers in turn: the assistant (bounded and stock tracker store) and the minimal bot."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        minimal = train_minimal(tmp_path / "minimal-model")
        common = {
            "env": {"DATABASE_URL": database_url},
            "per_conversation": per_conversation,
            "long_conversation": long_conversation,
        }
        assistant_model = ROOT / "models" / "butler.tar.gz"
        return {
            "assistant": measure(
                assistant_model,
                tmp_path / "assistant",
                with_actions=True,
                messages=QUESTIONS,
                tracker_store=BOUNDED_STORE,
                **common,  # type: ignore[arg-type]
            ),
            "assistant_stock_store": measure(
                assistant_model,
                tmp_path / "assistant-stock",
                with_actions=True,
                messages=QUESTIONS,
                tracker_store=STOCK_STORE,
                **common,  # type: ignore[arg-type]
            ),
            "minimal_bot": measure(
                minimal,
                tmp_path / "minimal",
                with_actions=False,
                messages=["你好"],
                tracker_store=STOCK_STORE,
                **common,  # type: ignore[arg-type]
            ),
        }


if __name__ == "__main__":
    import json

    print(json.dumps(run(f"sqlite:///{ROOT / 'var' / 'butler.db'}"), ensure_ascii=False, indent=2))
