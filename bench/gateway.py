"""The gateway benchmarks of issue 7 §7: the hop it adds, and how many conversations one process holds.

1. The hop: the same guide questions, one message through the gateway's WebSocket and one
   POSTed to Rasa's REST webhook directly, in turn, both reaching the same Rasa process
   (the trained assistant on the demo knowledge base), so both see the same moment of a
   shared, noisy machine (the alternating method of bench/latency.py).
2. Capacity: one gateway process holds N open enterprise WebSocket conversations (each
   its own session) while M of them send a message about every second; against a fast fake
   Rasa (bench/gateway_fake_rasa.py: the gateway is measured, not NLU), then, shorter,
   against the real assistant. Reported: the gateway's RSS, its open descriptors, whether
   every message got exactly one ack and one reply with gap-free ``seq`` numbers, connection
   errors, and turn latency of the active conversations.

Everything runs on 127.0.0.1, every loop is bounded in count and time, and every server
started here is stopped here. Run alone: ``.venv/bin/python bench/gateway.py`` (prints the
figures; ``--quick`` for a short smoke run). ``make bench`` runs it through bench/run_all.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gateway_client import Audit, ChatConversation, audit, open_conversation  # noqa: E402
from bench.latency import QUESTIONS, percentile, rss_mb, send  # noqa: E402
from bot.processes import free_port, running_assistant, wait_until_up  # noqa: E402
from knowledge.importers import load_records  # noqa: E402
from knowledge.service import import_records  # noqa: E402
from storage.engine import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade_to_head  # noqa: E402
from storage.transaction import transaction  # noqa: E402
from tests.servers import RunningGateway, running_gateway  # noqa: E402

MODEL = ROOT / "models" / "butler.tar.gz"
FAKE_RASA = ROOT / "bench" / "gateway_fake_rasa.py"
TURN_TIMEOUT = 30.0


@dataclass(frozen=True)
class Plan:
    """How much to measure; ``QUICK`` is for trying the code, not for figures."""

    hop_rounds: int = 12  # new conversation each round, on both sides
    hop_per_conversation: int = 20  # the gateway refuses more than 20 messages in 10 s on one socket
    open_conversations: int = 2000
    active_conversations: int = 50
    active_seconds: float = 60.0
    real_active_seconds: float = 20.0
    interval: float = 1.0
    fake_delay_ms: float = 20.0
    open_concurrency: int = 32


FULL = Plan()
QUICK = Plan(
    hop_rounds=2,
    hop_per_conversation=10,
    open_conversations=200,
    active_conversations=10,
    active_seconds=8.0,
    real_active_seconds=5.0,
)


def summary(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"messages": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "messages": len(seconds),
        "p50_ms": round(percentile(seconds, 0.5) * 1000, 1),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
        "max_ms": round(max(seconds) * 1000, 1),
    }


# -- processes ----------------------------------------------------------------------------


def demo_database(workdir: Path) -> str:
    """A fresh SQLite database with the schema and the demo knowledge base, as `make setup` builds it."""
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "butler.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    upgrade_to_head(url)
    engine = make_engine(url)
    try:
        with transaction(make_session_factory(engine)) as session:
            import_records(
                session=session, records=load_records([ROOT / "knowledge" / "demo"]), source="demo"
            )
    finally:
        engine.dispose()
    return url


def raise_open_files(needed: int) -> int:
    """Lift this process's soft descriptor limit to its hard limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        raise RuntimeError(f"open-files hard limit {target} is below the {needed} this benchmark needs")
    return target


def lift_child_limit(pid: int, needed: int) -> int:
    """Make sure the gateway may open ``needed`` descriptors (prlimit on the running process)."""
    soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (min(needed, hard), hard))
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    return int(soft)


def open_descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU the process has used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average() -> float:
    """The one-minute load average: the machine is shared, so the report says how busy it was."""
    return round(os.getloadavg()[0], 2)


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


@contextmanager
def fake_rasa(workdir: Path, delay_ms: float) -> Iterator[str]:
    """bench/gateway_fake_rasa.py on a free loopback port; its base URL."""
    port = free_port()
    log = workdir / "fake-rasa.log"
    process = subprocess.Popen(
        [sys.executable, str(FAKE_RASA), "--port", str(port), "--delay-ms", str(delay_ms)],
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/webhooks/rest/", process, 30, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- 1. the hop ---------------------------------------------------------------------------


async def hop(webhook: str, gateway: RunningGateway, rounds: int, per_conversation: int) -> dict[str, Any]:
    """Alternate: one question to the REST webhook, the same one through the gateway, and so on."""
    rest: list[float] = []
    through: list[float] = []
    failures: dict[str, int] = {}
    totals = Audit()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as http:
        for round_ in range(rounds):
            chat = await open_conversation(http, gateway.url, gateway.ws_url)
            sender = f"hop-rest-{round_}-{secrets.token_hex(3)}"
            try:
                for k in range(per_conversation):
                    text = QUESTIONS[k % len(QUESTIONS)]
                    rest.append(await send(http, webhook, sender, text))
                    turn = await chat.ask(f"hop-{round_}-{k}", text, TURN_TIMEOUT)
                    if turn.seconds is None:
                        failures[turn.error or "incomplete"] = failures.get(turn.error or "incomplete", 0) + 1
                    else:
                        through.append(turn.seconds)
                await asyncio.sleep(0.3)  # let any late frame of the last turn arrive
            finally:
                await chat.close()
            totals.add(audit(chat.sent_ids, chat.frames, chat.in_flight))
    result: dict[str, Any] = {"rest": summary(rest), "gateway": summary(through)}
    if rest and through:
        result["ratio_p50"] = round(result["gateway"]["p50_ms"] / result["rest"]["p50_ms"], 2)
        result["ratio_p95"] = round(result["gateway"]["p95_ms"] / result["rest"]["p95_ms"], 2)
    result["failures"] = failures
    result["audit"] = asdict(totals)
    return result


def measure_hop(
    workdir: Path, plan: Plan, database_url: str, secret: str, token: str, rasa: Any
) -> dict[str, Any]:
    with running_gateway(
        database_url,
        rasa.rasa_url,
        workdir / "gateway-hop",
        rasa_token=token,
        identity_secret=secret,
    ) as gateway:
        asyncio.run(hop(rasa.webhook, gateway, 1, 5))  # warm-up: both paths, both caches
        load, cpu = load_average(), cpu_seconds(gateway.pid)
        result = asyncio.run(hop(rasa.webhook, gateway, plan.hop_rounds, plan.hop_per_conversation))
        cpu = cpu_seconds(gateway.pid) - cpu
    messages = result["gateway"]["messages"]
    result["gateway_cpu_ms_per_message"] = round(cpu * 1000 / messages, 1) if messages else None
    result["load_average"] = [load, load_average()]
    return result


# -- 2. capacity --------------------------------------------------------------------------


async def _open_all(
    http: aiohttp.ClientSession, gateway: RunningGateway, count: int, concurrency: int, errors: dict[str, int]
) -> list[ChatConversation]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> ChatConversation | None:
        async with gate:
            try:
                return await open_conversation(http, gateway.url, gateway.ws_url)
            except (aiohttp.ClientError, RuntimeError, asyncio.TimeoutError, KeyError, ValueError) as exc:
                key = f"open: {type(exc).__name__}: {str(exc)[:80]}"
                errors[key] = errors.get(key, 0) + 1
                return None

    opened = await asyncio.gather(*[one() for _ in range(count)])
    return [c for c in opened if c is not None]


async def _drive(
    chat: ChatConversation, texts: list[str], deadline: float, interval: float, start_delay: float, seed: int
) -> tuple[list[float], dict[str, int]]:
    """Send a message about every ``interval`` seconds until ``deadline``; one at a time."""
    jitter = random.Random(seed)
    latencies: list[float] = []
    failures: dict[str, int] = {}
    await asyncio.sleep(start_delay)
    next_at = time.perf_counter()
    k = 0
    while time.perf_counter() < deadline and not chat.closed_by_server:
        turn = await chat.ask(f"m{seed}-{k}", texts[k % len(texts)], TURN_TIMEOUT)
        if turn.seconds is None:
            failures[turn.error or "incomplete"] = failures.get(turn.error or "incomplete", 0) + 1
        else:
            latencies.append(turn.seconds)
        k += 1
        next_at += interval * jitter.uniform(0.8, 1.2)
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    return latencies, failures


async def capacity(
    gateway: RunningGateway, plan: Plan, texts: list[str], active_seconds: float
) -> dict[str, Any]:
    """Open ``plan.open_conversations``, drive ``plan.active_conversations`` of them, audit every frame."""
    pid = gateway.pid
    result: dict[str, Any] = {
        "open_target": plan.open_conversations,
        "active_target": plan.active_conversations,
        "active_seconds": active_seconds,
        "rss_mb_idle": rss_mb(pid),
        "load_average": [load_average()],
    }
    cpu = cpu_seconds(pid)
    errors: dict[str, int] = {}
    connector = aiohttp.TCPConnector(limit=0)  # one connection per WebSocket, no pool cap
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        started = time.perf_counter()
        chats = await _open_all(http, gateway, plan.open_conversations, plan.open_concurrency, errors)
        result["open_seconds"] = round(time.perf_counter() - started, 1)
        await asyncio.sleep(2)
        result["opened"] = len(chats)
        result["gateway_cpu_ms_per_open"] = round((cpu_seconds(pid) - cpu) * 1000 / max(1, len(chats)), 1)
        cpu = cpu_seconds(pid)
        result["rss_mb_open"] = rss_mb(pid)
        result["gateway_fds_open"] = open_descriptors(pid)

        active = chats[: plan.active_conversations]
        deadline = time.perf_counter() + active_seconds
        started = time.perf_counter()
        driven = await asyncio.gather(
            *[
                _drive(chat, texts, deadline, plan.interval, i * plan.interval / max(1, len(active)), i)
                for i, chat in enumerate(active)
            ]
        )
        elapsed = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu
        result["load_average"].append(load_average())
        await asyncio.sleep(2)  # late or duplicated frames would arrive now
        result["rss_mb_end"] = rss_mb(pid)
        result["rss_mb_peak"] = peak_rss_mb(pid)
        result["gateway_fds_end"] = open_descriptors(pid)
        result["still_open_end"] = sum(1 for c in chats if not c.closed_by_server and not c.ws.closed)
        result["closed_by_server"] = sum(1 for c in chats if c.closed_by_server)

        latencies = [x for lat, _ in driven for x in lat]
        failures: dict[str, int] = {}
        for _, fails in driven:
            for key, count in fails.items():
                failures[key] = failures.get(key, 0) + count
        totals = Audit()
        for chat in active:
            totals.add(audit(chat.sent_ids, chat.frames, chat.in_flight))
        idle_frames: dict[str, int] = {}
        for chat in chats[plan.active_conversations :]:
            for frame in chat.frames:
                kind = str(frame.get("type"))
                idle_frames[kind] = idle_frames.get(kind, 0) + 1
        result |= {
            "sent_per_sender": {chat.sender: len(chat.sent_ids) for chat in active},
            "turns": summary(latencies),
            "messages_per_s": round(len(latencies) / elapsed, 1) if elapsed else None,
            "gateway_cpu_ms_per_message": round(cpu * 1000 / len(latencies), 1) if latencies else None,
            "gateway_cpu_share": round(cpu / elapsed, 2) if elapsed else None,
            "turn_failures": failures,
            "audit": asdict(totals),
            "no_drop_no_duplicate": totals.clean and not failures,
            "idle_frames": idle_frames,
            "connection_errors": errors,
        }
        await asyncio.gather(*[asyncio.wait_for(c.close(), 10) for c in chats], return_exceptions=True)
    return result


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode("utf-8")


def measure_capacity_fake(workdir: Path, plan: Plan, database_url: str) -> dict[str, Any]:
    secret, token = secrets.token_hex(32), secrets.token_hex(24)  # hex: a token may not start with "-"
    with (
        fake_rasa(workdir, plan.fake_delay_ms) as url,
        running_gateway(
            database_url,
            url,
            workdir / "gateway-fake",
            rasa_token=token,
            identity_secret=secret,
        ) as gateway,
    ):
        limit = lift_child_limit(gateway.pid, plan.open_conversations + 1024)
        result = asyncio.run(capacity(gateway, plan, ["食品经营许可证需要准备哪些材料"], plan.active_seconds))
        stats = json.loads(_get(f"{url}/_bench/stats"))
    received = stats["messages_per_sender"]
    sent = result.pop("sent_per_sender")
    result["gateway_open_files_limit"] = limit
    result["fake_rasa"] = {
        "delay_ms": plan.fake_delay_ms,
        "webhook_calls": stats["counts"].get("webhook", 0),
        "senders": len(received),
        # conversations whose messages reached Rasa a different number of times than they were sent
        # (None when the gateway names conversations differently towards Rasa)
        "forwarded_not_once": (
            sum(1 for sender, n in sent.items() if received.get(sender, 0) != n)
            if any(sender in received for sender in sent)
            else None
        ),
        "api_calls": {k: v for k, v in stats["counts"].items() if k != "webhook"},
    }
    return result


def measure_capacity_real(
    workdir: Path, plan: Plan, database_url: str, secret: str, token: str, rasa: Any
) -> dict[str, Any]:
    with running_gateway(
        database_url,
        rasa.rasa_url,
        workdir / "gateway-real",
        rasa_token=token,
        identity_secret=secret,
    ) as gateway:
        limit = lift_child_limit(gateway.pid, plan.open_conversations + 1024)
        result = asyncio.run(capacity(gateway, plan, QUESTIONS, plan.real_active_seconds))
    result.pop("sent_per_sender")
    result["gateway_open_files_limit"] = limit
    return result


# -- the whole run ------------------------------------------------------------------------


def run(plan: Plan = FULL, *, real_capacity: bool = True) -> dict[str, Any]:
    """The hop and the real-Rasa capacity run share one Rasa; the fake-Rasa run needs none."""
    raise_open_files(2 * plan.open_conversations + 1024)  # client sockets + the gateway's (inherited)
    workdir = ROOT / "var" / "bench" / "gateway"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    # each gateway starts on a fresh database, the hop first, so no run measures another's rows
    database_url = demo_database(workdir / "real")
    results: dict[str, Any] = {"plan": asdict(plan)}
    secret, token = secrets.token_hex(32), secrets.token_hex(24)  # hex: a token may not start with "-"
    with running_assistant(
        MODEL,
        workdir / "rasa",
        env={"DATABASE_URL": database_url, "IDENTITY_SECRET": secret},
        api_token=token,
    ) as rasa:
        results["hop"] = measure_hop(workdir, plan, database_url, secret, token, rasa)
        if real_capacity:
            results["capacity_real_rasa"] = measure_capacity_real(
                workdir, plan, database_url, secret, token, rasa
            )
            results["capacity_real_rasa"]["rasa_rss_mb"] = rss_mb(rasa.rasa_pid)
    results["capacity_fake_rasa"] = measure_capacity_fake(workdir, plan, demo_database(workdir / "fake"))
    return results


# -- the report ---------------------------------------------------------------------------


def _verdict(met: bool) -> str:
    return "met" if met else "**not met**"


def _capacity_lines(label: str, r: dict[str, Any]) -> list[str]:
    a, t = r["audit"], r["turns"]
    errors = sum(r["connection_errors"].values()) + r["closed_by_server"]
    return [
        f"| {label} | {r['opened']:,} / {r['open_target']:,} ({r['open_seconds']} s) | "
        f"{r['active_target']} × {r['active_seconds']:.0f} s | {r['rss_mb_idle']} → {r['rss_mb_open']} → "
        f"{r['rss_mb_end']} (peak {r['rss_mb_peak']}) | {r['gateway_fds_open']} | {a['messages']:,} | "
        f"{a['acked_once']:,} / {a['replied_once']:,} | "
        f"{a['ack_missing'] + a['reply_missing']} / {a['ack_repeated'] + a['reply_repeated']} / "
        f"{a['seq_missing']} / {a['seq_repeated']} | {errors} | {t['p50_ms']} / {t['p95_ms']} | "
        f"{r['messages_per_s']} | {r['gateway_cpu_ms_per_message']} ({r['gateway_cpu_share']:.0%}) |"
    ]


def report_lines(results: dict[str, Any]) -> list[str]:
    """The gateway section of docs/benchmarks.md."""
    plan = results["plan"]
    hop_ = results["hop"]
    lines = [
        "Run alone with `.venv/bin/python bench/gateway.py` (prints these figures); `make bench` runs it too. "
        "All traffic on 127.0.0.1; the gateway is `python -m gateway` as `make run` starts it "
        "(tests/servers.py), on a fresh SQLite database with the demo knowledge base.",
        "",
        "### The gateway hop",
        "",
        "One Rasa process (the trained assistant, actions in-process) and one gateway in front of it. "
        "The same guide questions (bench/latency.py) go alternately to the REST webhook directly and through "
        f"the gateway's WebSocket, one message to each in turn, {plan['hop_rounds']} fresh conversations on each "
        f"side of {plan['hop_per_conversation']} messages. A REST turn ends when the whole response is read; a "
        "WebSocket turn when both the `ack` of the message and the bot frame carrying `custom` have arrived "
        "(the assistant ends every guide reply with its `custom` card, which the gateway joins to the text "
        "before it; bot frames of a turn arriving after that one are counted below, and there were none "
        "if the count is 0).",
        "",
        "| Path | messages | p50 ms | p95 ms |",
        "|---|---|---|---|",
        f"| REST webhook, direct | {hop_['rest']['messages']} | {hop_['rest']['p50_ms']} | {hop_['rest']['p95_ms']} |",
        f"| through the gateway (WebSocket) | {hop_['gateway']['messages']} | {hop_['gateway']['p50_ms']} | "
        f"{hop_['gateway']['p95_ms']} |",
        "",
    ]
    if "ratio_p50" in hop_:
        lines.append(
            f"Ratio through the gateway / direct: **{hop_['ratio_p50']:.2f}×** at p50 "
            f"({hop_['ratio_p95']:.2f}× at p95); target ≤ 1.1×: {_verdict(hop_['ratio_p50'] <= 1.1)}."
        )
    failures = sum(hop_["failures"].values())
    lines.append(
        f"Turns that failed or timed out through the gateway: {failures}"
        + (f" ({hop_['failures']})" if failures else "")
        + f"; bot frames after the end of a turn: {hop_['audit']['late_frames']}. "
        f"The gateway used {hop_['gateway_cpu_ms_per_message']} ms of CPU per message; one-minute load "
        f"average {hop_['load_average'][0]} → {hop_['load_average'][1]} on {os.cpu_count()} cores."
    )
    lines += [
        "",
        "### Conversations one gateway process holds",
        "",
        f"{plan['open_conversations']:,} enterprise conversations, each its own session "
        "(`POST /api/chat/session`, then the WebSocket), opened "
        f"{plan['open_concurrency']} at a time and kept open; then {plan['active_conversations']} of them send "
        f"a message about every {plan['interval']:g} s (±20 %, one at a time: the next after the reply) while "
        "the others stay open and idle. The client raises its open-files limit and the gateway's (prlimit). "
        f"**Fake Rasa**: bench/gateway_fake_rasa.py answers each webhook call with one short fixed guide reply "
        f"after {plan['fake_delay_ms']:g} ms — this run measures the gateway, not NLU. **Real Rasa**: the "
        "trained assistant, shorter, cycling the guide questions; there the turn time includes Rasa's "
        "queue (see its messages/s at 16 conversations in the REST webhook table above). Each "
        "gateway starts on a fresh database.",
        "",
        "Every message must get exactly one `ack` and exactly one reply, and each conversation's `seq` "
        "numbers must run 1, 2, 3… with no gap and no repeat. RSS is the gateway process's VmRSS: before "
        "the first connection → all open → end of the run.",
        "",
        "| Rasa | open / target (time to open) | active × duration | gateway RSS MB | gateway fds | "
        "messages | exactly one ack / one reply | missing / repeated (ack+reply), seq gaps / repeats | "
        "connection errors | turn p50 / p95 ms | messages/s | gateway CPU ms per message (share of one core) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    fake = results["capacity_fake_rasa"]
    lines += _capacity_lines("fake (fixed reply)", fake)
    real = results.get("capacity_real_rasa")
    if real:
        lines += _capacity_lines("real assistant", real)
    lines.append("")
    met = (
        fake["opened"] >= 2000
        and fake["still_open_end"] >= 2000
        and fake["active_target"] >= 50
        and fake["rss_mb_peak"] < 300
        and fake["no_drop_no_duplicate"]
        and not fake["connection_errors"]
        and not fake["closed_by_server"]
    )
    lines.append(
        "Target (2,000 open, 50 active, gateway RSS < 300 MB, no dropped or duplicated message), "
        f"with the fake Rasa: {_verdict(met)}."
        + (
            f" Real assistant: {_verdict(real['no_drop_no_duplicate'] and real['rss_mb_peak'] < 300)} "
            "for RSS and delivery."
            if real
            else " Real assistant: not run."
        )
    )
    offered = fake["active_target"] / plan["interval"]
    if fake["messages_per_s"] is not None and fake["messages_per_s"] < 0.9 * offered:
        lines.append(
            f"But the {fake['active_target']} active conversations could not send every "
            f"{plan['interval']:g} s: they offered about {offered:.0f} messages/s and the gateway carried "
            f"{fake['messages_per_s']}/s, so turns queued (p50 {fake['turns']['p50_ms']} ms against a "
            f"{plan['fake_delay_ms']:g} ms fake Rasa) while the gateway process used "
            f"{fake['gateway_cpu_share']:.0%} of one core. Nothing was lost; the rate is the limit."
        )
    lines.append(
        "One-minute load average during the runs (start → end of the active phase), on "
        f"{os.cpu_count()} cores shared with the client, Rasa and anything else on the machine: "
        + "; ".join(
            f"{label} {r['load_average'][0]} → {r['load_average'][-1]}"
            for label, r in (("fake", fake), ("real", real))
            if r
        )
        + f". Opening a conversation (session + WebSocket) cost the gateway {fake['gateway_cpu_ms_per_open']} ms "
        "of CPU."
    )
    fr = fake["fake_rasa"]
    lines.append(
        f"The fake Rasa received {fr['webhook_calls']:,} webhook calls for {fake['audit']['messages']:,} "
        f"messages sent, from {fr['senders']} conversations; conversations whose messages did not reach "
        f"Rasa exactly once each: {fr['forwarded_not_once']}"
        + (f", and these API calls: {fr['api_calls']}" if fr["api_calls"] else "")
        + "."
    )
    for label, r in (("fake", fake), ("real", real)):
        if not r:
            continue
        notes = {
            k: v
            for k, v in (
                ("turn failures", r["turn_failures"]),
                ("connection errors", r["connection_errors"]),
                ("error frames", r["audit"]["error_frames"]),
            )
            if v
        }
        if notes:
            lines.append(f"Problems in the {label} run: {notes}.")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run, not for figures")
    parser.add_argument("--skip-real", action="store_true", help="no capacity run against the real Rasa")
    parser.add_argument("--out", type=Path, help="also write the raw results here (JSON)")
    args = parser.parse_args()
    results = run(QUICK if args.quick else FULL, real_capacity=not args.skip_real)
    if args.out:
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False, indent=2))
    print()
    print("\n".join(report_lines(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
