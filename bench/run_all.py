"""`make bench`: every benchmark in one run, written to docs/benchmarks.md.

Benchmarks are not tests: the figures depend on the machine and its load, so they
are measured side by side in one run and recorded with the machine they ran on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import CHECK_COMPLAINT_SETS  # noqa: E402

CATALOGUE = ROOT / "knowledge" / "catalogues" / "guangan" / "guang_an_items.derived.json"
PY = sys.executable
# the benchmarks whose script saves its figures (--out) in var/bench/, by file
REUSABLE = {"heldout": "heldout.json", "msgabench": "msgabench.json", "city": "city-scale.json"}
QUALITY_FILES = {"demo_only": "quality-demo.json", "with_catalogue": "quality-catalogue.json"}


def run_json(args: list[str], out: Path) -> Any:
    subprocess.run([PY, *args, "--out", str(out)], check=True, cwd=ROOT)
    return json.loads(out.read_text(encoding="utf-8"))


def quality(out_dir: Path) -> dict[str, Any]:
    results = {"demo_only": run_json(["bench/answer_quality.py"], out_dir / QUALITY_FILES["demo_only"])}
    if CATALOGUE.exists():
        results["with_catalogue"] = run_json(
            ["bench/answer_quality.py", "--catalogue", str(CATALOGUE)],
            out_dir / QUALITY_FILES["with_catalogue"],
        )
    return results


def latency(database_url: str) -> dict[str, Any]:
    from bench.latency import run

    return run(database_url)


def gateway() -> tuple[dict[str, Any] | None, str]:
    """The gateway hop and capacity (bench/gateway.py); on failure, why, so the other figures still land."""
    try:
        from bench.gateway import run

        return run(), ""
    except Exception as exc:  # a benchmark that could not run is reported, not hidden
        print(f"Gateway benchmarks failed: {exc!r}", file=sys.stderr)
        return None, f"{type(exc).__name__}: {str(exc)[:300]}"


def gateway_section(results: dict[str, Any] | None, failure: str) -> list[str]:
    if not results:
        return [f"Not measured: {failure}"]
    from bench.gateway import report_lines

    return report_lines(results)


def appeals(out_dir: Path) -> list[dict[str, Any]]:
    """Ticket throughput and routing latency, on SQLite and (when it can be started) PostgreSQL."""
    started = subprocess.run(
        ["scripts/postgres.sh", "var/pg"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if started.returncode == 0:
        os.environ["DATABASE_URL_PG"] = started.stdout.strip().splitlines()[-1]
    else:
        print(f"PostgreSQL not measured: {started.stderr.strip()[-300:]}", file=sys.stderr)
    try:
        return run_json([str(ROOT / "bench" / "bench_appeals.py")], out_dir / "appeals.json")
    finally:
        if started.returncode == 0:
            subprocess.run(
                ["scripts/postgres.sh", "stop", "var/pg"], cwd=ROOT, capture_output=True, check=False
            )


APPEAL_TUNING_INTRO = [
    "bench/tuning/appeals_*.yaml: complaints, mixed messages and plain questions written blind like the "
    "held-out appeals.yaml, through the same dialogue; the router's guide-question patterns may be fitted to "
    "them, so the held-out figures above are the ones to quote.",
    "",
]


def appeal_tuning_table(result: dict[str, Any]) -> list[str]:
    """One row per tuning file: complaints that start the appeal flow, mixed messages answered with
    an offer, plain questions that start it."""
    lines = [
        "| Set | Complaints that start the appeal flow | Mixed: right guide card and an offer | "
        "Mixed that start it instead | Questions that start it |",
        "|---|---|---|---|---|",
    ]
    for name, figures in result.items():
        c, m, q = figures["complaints"], figures["mixed"], figures["questions"]
        mixed = (
            [f"{m['right_item_and_offer']} of {m['messages']}", str(m["started_appeal"])]
            if m["messages"]
            else ["—", "—"]
        )
        questions = f"{q['appeal_started']} of {q['messages']}" if q["messages"] else "—"
        label = f"{name} (kept out of sample)" if name in CHECK_COMPLAINT_SETS else name
        cells = [label, f"{c['appeal_started']} of {c['messages']}", *mixed, questions]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


HELDOUT_INTRO = [
    "bench/heldout/ was written blind before any tuning and is never tuned on (its README): these are the "
    "figures to quote. Guide questions go through the same answer path as the dev set below (the trained NLU "
    "model + retrieval + conversation context); the baseline is the same plain char-BM25. A turn counts under "
    "every tag it carries.",
    "",
]
QUALITY_INTRO = [
    "The tuning set: synonyms and examples may be fitted to it, so these figures flatter the assistant; the "
    "held-out figures above are the ones that count. "
    "The full pipeline is the trained NLU model + retrieval + conversation context, exactly as in the chat. "
    "The baseline is BM25 over character uni+bigrams of item names and aliases with a top-1/top-2 margin gate "
    "of 0.2, and the intent of the nearest NLU training example; it has no synonyms, no stop words and no "
    "context. A reply pointing to a name-only catalogue item (no guide content) counts as declining.",
    "",
]
MSGABENCH_INTRO = [
    "Beijing 首都之窗 data (github.com/cmTCEC/MSGABench), read at run time from ../shared/data/msgabench and "
    "never copied into the repository (no licence stated: evaluation only); skipped when absent. "
    "The method is in bench/msgabench.py's docstring.",
    "",
]
CITY_INTRO = [
    "Generated at run time from the shipped Guang'an list (knowledge/catalogues/guangan) with Anshan's "
    "published counts per level; the method is in bench/city_scale.py's docstring. All figures in one process.",
    "",
]
LATENCY_INTRO = [
    "Each server in turn on this machine: N conversations at once, each sending 20 messages in sequence "
    "(at 1 conversation, five conversations one after another, 100 messages). "
    "The minimal bot has one intent and one response (bench/minimal_bot).",
    "",
]


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, {platform.system()} {platform.release()}"


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def quality_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| Knowledge base | System | Item top-1 | Item + aspect | Aspect | No-answer precision | No-answer recall |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, key in (("60 demo guides", "demo_only"), ("demo + 1,135 catalogue items", "with_catalogue")):
        if key not in results:
            continue
        for system, name in (("full pipeline", "full_pipeline"), ("plain BM25 baseline", "plain_bm25")):
            s = results[key][name]
            lines.append(
                f"| {label} | {system} | {pct(s['item_top1'])} | {pct(s.get('item_and_aspect'))} | "
                f"{pct(s['aspect_accuracy'])} | "
                f"{pct(s['no_answer_precision'])} | {pct(s['no_answer_recall'])} |"
            )
    demo = results["demo_only"]
    lines.append("")
    lines.append(
        f"Dev set: {demo['devset_turns']} turns ({demo['full_pipeline']['answerable_turns']} answerable, "
        f"{demo['full_pipeline']['unanswerable_turns']} unanswerable); "
        f"{demo['dropped_as_training_examples']} questions that also occur in the NLU training data were dropped."
    )
    return lines


def latency_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| Bot | Custom actions | Tracker store | Concurrent conversations | p50 ms | p95 ms | messages/s |",
        "|---|---|---|---|---|---|---|",
    ]
    setups = {key: result for key, result in results.items() if key != "alternating"}
    for result in setups.values():
        for level in result["levels"]:
            lines.append(
                f"| {result['bot']} | {result['actions']} | {result['tracker_store'].split('.')[-1]} | "
                f"{level['concurrency']} | {level['p50_ms']} | {level['p95_ms']} | {level['messages_per_s']} |"
            )
    ours, minimal = results["assistant"]["levels"], results["minimal_bot"]["levels"]
    alt = results["alternating"]
    lines += [
        "",
        "p50 ratio, assistant as `make run` serves it / minimal bot, each server in turn: "
        + ", ".join(
            f"{a['p50_ms'] / m['p50_ms']:.2f}× at {a['concurrency']} conversation{'s' if a['concurrency'] > 1 else ''}"
            for a, m in zip(ours, minimal, strict=True)
        )
        + ".",
        "",
        "Side by side (both servers up, one conversation at a time, one message to each in turn, "
        f"{alt['assistant']['messages']} messages each): assistant p50 {alt['assistant']['p50_ms']} ms "
        f"(p95 {alt['assistant']['p95_ms']}), minimal bot p50 {alt['minimal_bot']['p50_ms']} ms "
        f"(p95 {alt['minimal_bot']['p95_ms']}): "
        f"**{alt['assistant']['p50_ms'] / alt['minimal_bot']['p50_ms']:.2f}×** (target ≤ 1.5×).",
        "",
        "| Bot | Custom actions | Tracker store | Rasa server RSS MB | one 200-message conversation: p50 of first 30 → last 30 (ms) |",
        "|---|---|---|---|---|",
    ]
    for result in setups.values():
        grown = result["long_conversation"]
        lines.append(
            f"| {result['bot']} | {result['actions']} | {result['tracker_store'].split('.')[-1]} | "
            f"{result['rss_mb']} | {grown['first_30_p50_ms']} → {grown['last_30_p50_ms']} |"
        )
    return lines


def appeals_table(results: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| Database | Enterprises | Butlers | Tickets/s, 1 thread | Tickets/s, 8 threads | Routing p50 ms | Routing p95 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['enterprises']:,} | {r['butlers']:,} | {r['tickets_per_s_1_thread']} | "
            f"{r['tickets_per_s_8_threads']} | {r['p50_ms']} | {r['p95_ms']} |"
        )
    lines += ["", "Routing latency by rule (p50 / p95 ms):", ""]
    lines += [
        "| Database | " + " | ".join(results[0]["rules"]) + " |",
        "|---" * (len(results[0]["rules"]) + 1) + "|",
    ]
    for r in results:
        cells = [f"{v['p50_ms']} / {v['p95_ms']} ({v['count']})" for v in r["rules"].values()]
        lines.append(f"| {r['backend']} | " + " | ".join(cells) + " |")
    return lines


SECTIONS = ("heldout", "appeal_tuning", "quality", "msgabench", "city", "latency", "gateway", "appeals")
NOT_MEASURED = "Not measured (skipped or failed, and no earlier figures)."
KEPT_NOTE = (
    "_Not re-measured in the last run (skipped or failed): these figures are from an earlier `make bench`._"
)


def previous_sections(path: Path) -> dict[str, list[str]]:
    """The sections of the current docs/benchmarks.md by the script named in their title, to keep skipped ones."""
    if not path.exists():
        return {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            words = [w.strip("(),:") for w in line.split()]
            script = next((w for w in words if w.startswith("bench/") and w.endswith(".py")), line)
            current = sections.setdefault(script, [])
        if current is not None:
            current.append(line)
    return {key: lines[1:] for key, lines in sections.items() if NOT_MEASURED not in lines}


def section(
    title: str, script: str, lines: list[str] | None, kept: dict[str, list[str]], intro: Sequence[str] = ()
) -> list[str]:
    """One section: its figures when they were measured now, else the previous run's, marked as kept."""
    head = [f"## {title} ({script})", ""]
    if lines is not None:
        return [
            *head,
            *intro,
            *lines,
            "",
            f"Command: `.venv/bin/python {script}` (alone) or `make bench`.",
            "",
        ]
    old = kept.get(script)
    if not old:
        return [*head, NOT_MEASURED, ""]
    old = [line for line in old if line != KEPT_NOTE]
    while old and not old[0].strip():
        old = old[1:]
    return [*head, KEPT_NOTE, "", *old]


def guarded(name: str, run: Callable[[], Any]) -> Any:
    """Run one benchmark; a failure is printed and that section keeps its earlier figures."""
    try:
        return run()
    except Exception as exc:  # one benchmark that could not run must not lose the others
        print(f"{name} benchmark failed: {exc!r}", file=sys.stderr)
        return None


def reused(out_dir: Path, name: str) -> Any:
    """Figures a benchmark saved in var/bench/ on an earlier run."""
    if name == "quality":
        saved = {key: out_dir / file for key, file in QUALITY_FILES.items()}
        return {
            key: json.loads(path.read_text(encoding="utf-8")) for key, path in saved.items() if path.exists()
        }
    return json.loads((out_dir / REUSABLE[name]).read_text(encoding="utf-8"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=SECTIONS,
        help="leave this benchmark out (repeatable); its section keeps the figures already in the document",
    )
    parser.add_argument(
        "--reuse",
        action="append",
        default=[],
        choices=[*REUSABLE, "quality"],
        help="read this benchmark's figures from var/bench/ (its script's --out) instead of running it again",
    )
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-gateway", action="store_true")
    args = parser.parse_args()
    skip = set(args.skip)
    if args.skip_latency:
        skip.add("latency")
    if args.skip_gateway:
        skip.add("gateway")
    out_dir = ROOT / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    database_url = os.environ.get("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'butler.db'}")
    doc_path = ROOT / "docs" / "benchmarks.md"
    kept = previous_sections(doc_path)

    def measured(name: str, run: Callable[[], Any]) -> Any:
        if name in args.reuse:
            return reused(out_dir, name)
        return None if name in skip else guarded(name, run)

    held = measured("heldout", lambda: run_json(["bench/heldout_eval.py"], out_dir / REUSABLE["heldout"]))
    tuned = measured(
        "appeal_tuning", lambda: run_json(["bench/appeal_tuning.py"], out_dir / "appeal-tuning.json")
    )
    q = measured("quality", lambda: quality(out_dir))
    msga = measured("msgabench", lambda: run_json(["bench/msgabench.py"], out_dir / REUSABLE["msgabench"]))
    city = measured("city", lambda: run_json(["bench/city_scale.py"], out_dir / REUSABLE["city"]))
    lat = measured("latency", lambda: latency(database_url))
    gw, gw_failure = (None, "skipped") if "gateway" in skip else gateway()
    app = measured("appeals", lambda: appeals(out_dir))
    everything = {
        "heldout": held,
        "appeal_tuning": tuned,
        "quality": q,
        "msgabench": msga,
        "city_scale": city,
        "latency": lat,
        "gateway": gw,
        "appeals": app,
    }
    (out_dir / "all.json").write_text(json.dumps(everything, ensure_ascii=False, indent=2))

    from bench import city_scale, heldout_eval, msgabench

    doc = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`.venv/bin/python bench/run_all.py`) on {dt.date.today().isoformat()}, "
        f"on {machine()}.",
        "Machines are shared and noisy: compare figures measured in the same run, not across runs. "
        "`bench/run_all.py --skip NAME` leaves a benchmark out and keeps its section as it was.",
        *(
            [
                "Figures of "
                + ", ".join(args.reuse)
                + " were read from each script's own run saved in var/bench/ (`--reuse`), the same day."
            ]
            if args.reuse
            else []
        ),
        "",
        *section(
            "Answer quality on the held-out test set: the figure that counts",
            "bench/heldout_eval.py",
            heldout_eval.report_lines(held) if held else None,
            kept,
            HELDOUT_INTRO,
        ),
        *section(
            "Appeal decisions on the tuning messages",
            "bench/appeal_tuning.py",
            appeal_tuning_table(tuned) if tuned else None,
            kept,
            APPEAL_TUNING_INTRO,
        ),
        *section(
            "Answer quality on the tuning set (dev set bench/devset.yaml)",
            "bench/answer_quality.py",
            quality_table(q) if q else None,
            kept,
            QUALITY_INTRO,
        ),
        *section(
            "MSGABench: real public questions and messages",
            "bench/msgabench.py",
            msgabench.report_lines(msga) if msga else None,
            kept,
            MSGABENCH_INTRO,
        ),
        *section(
            "City scale: a whole city's catalogue",
            "bench/city_scale.py",
            city_scale.report_lines(city) if city else None,
            kept,
            CITY_INTRO,
        ),
        *section(
            "REST webhook latency",
            "bench/latency.py",
            latency_table(lat) if lat else None,
            kept,
            LATENCY_INTRO,
        ),
        *section(
            "Gateway: the hop and open conversations",
            "bench/gateway.py",
            gateway_section(gw, gw_failure) if gw else None,
            kept,
        ),
        *section("Appeal tickets", "bench/bench_appeals.py", appeals_table(app) if app else None, kept),
    ]
    doc_path.write_text("\n".join(doc).rstrip("\n") + "\n", encoding="utf-8")
    print("\n".join(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
