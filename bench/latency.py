"""REST webhook latency and throughput: the assistant next to a minimal Rasa bot, in one run.

Both bots run on the same machine, the same Rasa server, REST channel and SQL
(SQLite) tracker store; the assistant also with its actions behind Rasa's separate
action server and with Rasa's stock SQL tracker store, to show what each choice costs. Each concurrency level runs N conversations at once, each
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
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.processes import RASA, RunningAssistant, running_assistant  # noqa: E402

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


async def send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> float:
    """One message to the webhook; seconds until the whole reply has arrived."""
    started = time.perf_counter()
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"webhook answered {response.status}")
    return time.perf_counter() - started


async def conversation(
    session: aiohttp.ClientSession, url: str, sender: str, messages: list[str]
) -> list[float]:
    return [await send(session, url, sender, text) for text in messages]


async def load(
    url: str, concurrency: int, per_conversation: int, messages: list[str], tag: str, rounds: int = 1
) -> dict[str, float]:
    """`rounds` times, `concurrency` new conversations at once, each sending `per_conversation` messages."""
    timeout = aiohttp.ClientTimeout(total=600)
    latencies: list[float] = []
    elapsed = 0.0
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for round_ in range(rounds):
            started = time.perf_counter()
            results = await asyncio.gather(
                *[
                    conversation(
                        session,
                        url,
                        f"{tag}-c{concurrency}-r{round_}-{i}",
                        (messages * per_conversation)[:per_conversation],
                    )
                    for i in range(concurrency)
                ]
            )
            elapsed += time.perf_counter() - started
            latencies += [x for r in results for x in r]
    return {
        "concurrency": concurrency,
        "messages": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "messages_per_s": round(len(latencies) / elapsed, 1),
    }


async def alternate(
    bots: dict[str, tuple[str, list[str]]], rounds: int, per_conversation: int
) -> dict[str, dict[str, float]]:
    """One message to each bot in turn, so both see the same moment of a shared, noisy machine."""
    latencies: dict[str, list[float]] = {name: [] for name in bots}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
        for round_ in range(rounds):
            for k in range(per_conversation):
                for name, (url, messages) in bots.items():
                    text = messages[k % len(messages)]
                    latencies[name].append(await send(session, url, f"alt-{name}-{round_}", text))
    return {
        name: {
            "messages": len(values),
            "p50_ms": round(percentile(values, 0.5) * 1000, 1),
            "p95_ms": round(percentile(values, 0.95) * 1000, 1),
        }
        for name, values in latencies.items()
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


@dataclass(frozen=True)
class Setup:
    """One server configuration to measure."""

    key: str
    bot: str
    actions: str  # "in-process", "action server" or "none"
    tracker_store: str


SETUPS = [
    Setup("assistant", "assistant", "in-process", BOUNDED_STORE),  # what `make run` serves
    Setup("assistant_action_server", "assistant", "action server", BOUNDED_STORE),
    Setup("assistant_stock_store", "assistant", "in-process", STOCK_STORE),
    Setup("minimal_bot", "minimal bot", "none", STOCK_STORE),
]


def serve(
    model: Path, workdir: Path, setup: Setup, env: dict[str, str]
) -> AbstractContextManager[RunningAssistant]:
    """The servers of one setup, started and stopped by the returned context manager."""
    return running_assistant(
        model,
        workdir,
        env=env,
        with_actions=setup.actions != "none",
        action_server=setup.actions == "action server",
        tracker_store=setup.tracker_store,
    )


def measure(
    model: Path,
    workdir: Path,
    setup: Setup,
    *,
    env: dict[str, str],
    messages: list[str],
    per_conversation: int,
    long_conversation: int,
) -> dict[str, Any]:
    tag = workdir.name
    with serve(model, workdir, setup, env) as running:
        asyncio.run(load(running.webhook, 1, 5, messages, f"{tag}-warmup"))
        # one conversation at a time, five in turn: 100 samples, each conversation as long as at 16
        levels = [
            asyncio.run(load(running.webhook, 1, per_conversation, messages, tag, rounds=5)),
            asyncio.run(load(running.webhook, 16, per_conversation, messages, tag)),
        ]
        grown = asyncio.run(growth(running.webhook, long_conversation))
        return {
            "bot": setup.bot,
            "actions": setup.actions,
            "tracker_store": setup.tracker_store,
            "levels": levels,
            "rss_mb": rss_mb(running.rasa_pid),
            "long_conversation": grown,
        }


def side_by_side(
    assistant_model: Path, minimal_model: Path, workdir: Path, env: dict[str, str], per_conversation: int
) -> dict[str, dict[str, float]]:
    """The assistant as `make run` serves it and the minimal bot, both up, messages alternating."""
    with (
        serve(assistant_model, workdir / "a", SETUPS[0], env) as ours,
        serve(minimal_model, workdir / "m", SETUPS[-1], env) as floor,
    ):
        bots = {"assistant": (ours.webhook, QUESTIONS), "minimal_bot": (floor.webhook, ["你好"])}
        asyncio.run(alternate(bots, 1, 5))  # warm-up
        return asyncio.run(alternate(bots, 10, per_conversation))


def run(database_url: str, per_conversation: int = 20, long_conversation: int = 200) -> dict[str, Any]:
    """Each setup in turn: the assistant as served, with an action server, with Rasa's SQL store; the minimal bot.

    Then the assistant and the minimal bot side by side, one conversation at a time, alternating.
    """
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        minimal = train_minimal(tmp_path / "minimal-model")
        assistant_model = ROOT / "models" / "butler.tar.gz"
        env = {"DATABASE_URL": database_url}
        results: dict[str, Any] = {}
        for setup in SETUPS:
            is_minimal = setup.bot == "minimal bot"
            results[setup.key] = measure(
                minimal if is_minimal else assistant_model,
                tmp_path / setup.key,
                setup,
                env=env,
                messages=["你好"] if is_minimal else QUESTIONS,
                per_conversation=per_conversation,
                long_conversation=long_conversation,
            )
        results["alternating"] = side_by_side(
            assistant_model, minimal, tmp_path / "alternating", env, per_conversation
        )
        return results


if __name__ == "__main__":
    import json

    print(json.dumps(run(f"sqlite:///{ROOT / 'var' / 'butler.db'}"), ensure_ascii=False, indent=2))
