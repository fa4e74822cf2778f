"""A fresh demo-registry database per test, on SQLite and (when available) PostgreSQL.

The numbering and duplicate rules use dialect-specific SQL (``ON CONFLICT DO
NOTHING``) and row locks, so every test also runs on the PostgreSQL server in
``DATABASE_URL_PG`` (e.g. from ``scripts/postgres.sh var/pg``). Without it those
runs are deselected and the summary says so, unless ``REQUIRE_POSTGRES=1``,
where they fail instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from storage.engine import make_engine, make_session_factory
from tests.conversations.world import (
    People,
    build_registry_template,
    copy_database,
    import_demo_registry,
    load_people,
)

# Monday 3 March 2025, 02:00 UTC (10:00 office time), as naive UTC like the database
NOW = datetime(2025, 3, 3, 2, 0)
PG_ENV = "DATABASE_URL_PG"
_NOTE = pytest.StashKey[str]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server, drop this package's postgresql runs visibly (or keep them to fail)."""
    if os.environ.get(PG_ENV) or os.environ.get("REQUIRE_POSTGRES") == "1":
        return
    here = str(Path(__file__).parent)
    dropped = [
        item
        for item in items
        if str(item.path).startswith(here)
        and getattr(item, "callspec", None) is not None
        and item.callspec.params.get("db_url") == "postgresql"
    ]
    if not dropped:
        return
    config.hook.pytest_deselected(items=dropped)
    items[:] = [item for item in items if item not in dropped]
    config.stash[_NOTE] = (
        f"conversations: {len(dropped)} PostgreSQL test runs did not run because {PG_ENV} is unset "
        "(start a server with scripts/postgres.sh var/pg; set REQUIRE_POSTGRES=1 to make this an error)"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    note = config.stash.get(_NOTE, None)
    if note:
        terminalreporter.write_sep("=", "PostgreSQL suite not run (conversations)", yellow=True)
        terminalreporter.write_line(note)


@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_registry_template(tmp_path_factory.mktemp("conv-template") / "template.db")


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database with the demo registry; per-test databases are copies of it."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.fail(f"REQUIRE_POSTGRES=1 but {PG_ENV} is unset: start one with scripts/postgres.sh var/pg")
    name = f"conv_tpl_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    import_demo_registry(make_url(base).set(database=name).render_as_string(hide_password=False))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, registry_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield copy_database(registry_template, tmp_path / "conversations.db")
        return
    template = request.getfixturevalue("pg_template")
    base = os.environ[PG_ENV]
    name = f"conv_t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    yield make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def people(factory: sessionmaker) -> People:
    return load_people(factory)
