"""Benchmark: ticket filing throughput and routing latency at city scale.

The registry matches the published Anshan figures (194,000 enterprises,
7,283 butlers, rounded to 7,300), bulk-inserted into a throw-away database
migrated with the project's Alembic history, so indexes are the real ones.
Measured: tickets filed per second through ``create_ticket`` (one thread, then
8 threads) and the latency of ``route`` over 2,000 enterprises mixing every
routing rule. Runs on SQLite, and on PostgreSQL too when ``DATABASE_URL_PG``
is set (a temporary database on that server, dropped afterwards).

    python bench/bench_appeals.py --out var/bench_appeals.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appeals.credit_code import make_credit_code  # noqa: E402
from appeals.models import Assignment, Butler, Department, Enterprise  # noqa: E402
from appeals.routing import route  # noqa: E402
from appeals.service import create_ticket  # noqa: E402
from appeals.settings import AppealsSettings  # noqa: E402
from appeals.views import TicketCreate  # noqa: E402
from appeals.workcalendar import DEFAULT_TZ  # noqa: E402
from storage.engine import make_engine, make_session_factory  # noqa: E402
from storage.migrate import upgrade_to_head  # noqa: E402

REGIONS = 20
INDUSTRIES = [f"行业{i:02d}" for i in range(12)]
UNSERVED = "未分类"  # no butler serves it anywhere: those enterprises go to a duty queue
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=DEFAULT_TZ)
CHUNK = 10_000


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


def build_registry(
    factory: sessionmaker, enterprises: int, butlers: int, seed: int = 7
) -> dict[str, list[int]]:
    """Bulk-insert the registry; returns enterprise ids by the routing rule they should hit."""
    rng = random.Random(seed)
    regions = [f"区县{r:02d}" for r in range(REGIONS)]
    departments = [
        {
            "id": r + 1,
            "name": f"{region}营商环境办",
            "region": region,
            "head_name": "负责人",
            "head_phone": "",
            "is_duty_queue": True,
            "created_at": datetime(2025, 1, 1),
        }
        for r, region in enumerate(regions)
    ]
    butler_rows = []
    by_region: dict[str, list[int]] = {region: [] for region in regions}
    inactive: set[int] = set()
    for b in range(1, butlers + 1):
        region = regions[b % REGIONS]
        active = rng.random() >= 0.03
        if not active:
            inactive.add(b)
        by_region[region].append(b)
        butler_rows.append(
            {
                "id": b,
                "name": f"管家{b}",
                "phone": f"138{b:08d}",
                "department_id": b % REGIONS + 1,
                "region": region,
                "grid": "",
                "capacity": 1_000,
                "active": active,
                "created_at": datetime(2025, 1, 1),
                "updated_at": datetime(2025, 1, 1),
            }
        )
    ent_rows, assign_rows = [], []
    expected: dict[str, list[int]] = {"assigned": [], "backup": [], "grid": [], "duty_queue": []}
    for e in range(1, enterprises + 1):
        region = regions[e % REGIONS]
        unserved = rng.random() < 0.01
        industry = UNSERVED if unserved else rng.choice(INDUSTRIES)
        ent_rows.append(
            {
                "id": e,
                "name": f"示例市企业{e:06d}有限公司",
                "credit_code": make_credit_code(f"91990100{e:09d}"),
                "region": region,
                "grid": "",
                "industry": industry,
                "scale": "小型",
                "contact_name": "",
                "contact_phone": "",
                "created_at": datetime(2025, 1, 1),
                "updated_at": datetime(2025, 1, 1),
            }
        )
        if unserved:
            expected["duty_queue"].append(e)
            continue
        if rng.random() < 0.10:
            expected["grid"].append(e)
            continue
        primary = rng.choice(by_region[region])
        backup = rng.choice(by_region[region]) if rng.random() < 0.6 else None
        if backup == primary:
            backup = None
        assign_rows.append(
            {
                "enterprise_id": e,
                "butler_id": primary,
                "backup_butler_id": backup,
                "source": "bench",
                "updated_at": datetime(2025, 1, 1),
            }
        )
        if primary not in inactive:
            expected["assigned"].append(e)
        elif backup is not None and backup not in inactive:
            expected["backup"].append(e)
    with factory.begin() as session:
        session.execute(insert(Department.__table__), departments)
        for chunk in _chunks(butler_rows):
            session.execute(insert(Butler.__table__), chunk)
        for chunk in _chunks(ent_rows):
            session.execute(insert(Enterprise.__table__), chunk)
        for chunk in _chunks(assign_rows):
            session.execute(insert(Assignment.__table__), chunk)
    return expected


def _submission(enterprise_id: int, key: str) -> TicketCreate:
    return TicketCreate(
        idempotency_key=key,
        enterprise_id=enterprise_id,
        category="用地",
        description="基准测试诉求",
        contact_name="王经理",
        contact_phone="13900000001",
    )


def bench_filing(
    factory: sessionmaker, ids: list[int], count: int, threads: int, settings: AppealsSettings
) -> float:
    """Tickets per second through ``create_ticket`` with ``threads`` concurrent callers."""
    rng = random.Random(threads)
    work = [(rng.choice(ids), f"bench-{threads}-{i}-{uuid.uuid4().hex[:6]}") for i in range(count)]
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                if not work:
                    return
                enterprise_id, key = work.pop()
            try:
                create_ticket(factory, _submission(enterprise_id, key), now=NOW, settings=settings)
            except BaseException as exc:  # reported after timing; a lost ticket must fail the run
                errors.append(exc)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} submissions failed: {errors[0]!r}")
    return count / elapsed


def bench_routing(factory: sessionmaker, expected: dict[str, list[int]], samples: int) -> dict[str, Any]:
    """p50/p95 latency of ``route`` over a mix of all rules, checking each decision."""
    rng = random.Random(11)
    mix = {"assigned": 0.70, "backup": 0.10, "grid": 0.15, "duty_queue": 0.05}
    plan = [
        (rule, rng.choice(expected[rule])) for rule, share in mix.items() for _ in range(int(samples * share))
    ]
    rng.shuffle(plan)
    latencies: list[float] = []
    by_rule: dict[str, list[float]] = {rule: [] for rule in mix}
    with factory() as session:
        for want, enterprise_id in plan:
            session.expunge_all()
            started = time.perf_counter()
            decision = route(session, session.get(Enterprise, enterprise_id))
            elapsed = (time.perf_counter() - started) * 1000
            if decision.rule != want:
                raise RuntimeError(f"enterprise {enterprise_id}: expected {want}, got {decision.rule}")
            latencies.append(elapsed)
            by_rule[want].append(elapsed)
    return {
        "routings": len(latencies),
        **_percentiles(latencies),
        "rules": {rule: {"count": len(values), **_percentiles(values)} for rule, values in by_rule.items()},
    }


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 3),
    }


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-appeals-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextmanager
def postgres_database(base: str) -> Iterator[str]:
    name = f"bench_appeals_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_backend(label: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    upgrade_to_head(url)
    engine = make_engine(url, **({} if url.startswith("sqlite") else {"pool_size": 10}))
    factory = make_session_factory(engine)
    settings = AppealsSettings(database_url=url)
    started = time.perf_counter()
    expected = build_registry(factory, args.enterprises, args.butlers)
    built = time.perf_counter() - started
    if engine.dialect.name == "postgresql":  # what autovacuum does soon after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    filing_ids = expected["assigned"] + expected["grid"]
    sequential = bench_filing(factory, filing_ids, args.tickets, 1, settings)
    threaded = bench_filing(factory, filing_ids, args.tickets, 8, settings)
    routing = bench_routing(factory, expected, args.routings)
    engine.dispose()
    return {
        "backend": label,
        "enterprises": args.enterprises,
        "butlers": args.butlers,
        "registry_build_s": round(built, 1),
        "tickets_per_s_1_thread": round(sequential, 1),
        "tickets_per_s_8_threads": round(threaded, 1),
        **routing,
    }


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | enterprises | butlers | tickets/s (1 thread) | tickets/s (8 threads) | routing p50 ms | routing p95 ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['backend']} | {r['enterprises']:,} | {r['butlers']:,} | {r['tickets_per_s_1_thread']} | "
            f"{r['tickets_per_s_8_threads']} | {r['p50_ms']} | {r['p95_ms']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--enterprises", type=int, default=194_000)
    parser.add_argument("--butlers", type=int, default=7_300)
    parser.add_argument("--tickets", type=int, default=400, help="tickets filed per measurement")
    parser.add_argument("--routings", type=int, default=2_000)
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    args = parser.parse_args(argv)

    runs: list[tuple[str, Callable[[], Any]]] = [("sqlite", sqlite_database)]
    if os.environ.get("DATABASE_URL_PG"):
        runs.append(("postgresql", lambda: postgres_database(os.environ["DATABASE_URL_PG"])))
    results = []
    for label, database in runs:
        with database() as url:
            print(f"{label}: building registry and measuring…", file=sys.stderr)
            results.append(run_backend(label, url, args))
    print(markdown(results))
    for r in results:
        rules = ", ".join(
            f"{k} {v['count']}× p50 {v['p50_ms']} / p95 {v['p95_ms']} ms" for k, v in r["rules"].items()
        )
        print(f"{r['backend']}: registry built in {r['registry_build_s']} s; {rules}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
