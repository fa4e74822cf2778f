"""A fresh demo-registry database per test, on SQLite and (when available) PostgreSQL.

The numbering and duplicate rules use dialect-specific SQL (``ON CONFLICT DO
NOTHING``) and row locks, so every test also runs on the PostgreSQL server in
``DATABASE_URL_PG`` (e.g. from ``scripts/postgres.sh var/pg``). Without it those
runs are deselected and the summary says so, unless ``REQUIRE_POSTGRES=1``,
where they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from storage.engine import make_engine, make_session_factory
from tests.conversations.world import (
    People,
    build_registry_template,
    copy_database,
    import_demo_registry,
    load_people,
)
from tests.pg_databases import PG_ENV, throwaway_database

# Monday 3 March 2025, 02:00 UTC (10:00 office time), as naive UTC like the database
NOW = datetime(2025, 3, 3, 2, 0)

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
    with throwaway_database("conv_tpl") as (name, url):
        import_demo_registry(url)
        yield name


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, registry_template: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield copy_database(registry_template, tmp_path / "conversations.db")
        return
    with throwaway_database("conv_t", request.getfixturevalue("pg_template")) as (_, url):
        yield url


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def people(factory: sessionmaker) -> People:
    return load_people(factory)
