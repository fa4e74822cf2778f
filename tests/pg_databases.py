"""Throwaway PostgreSQL databases on the test server (``DATABASE_URL_PG``), for the suites that run on both engines."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.engine import make_engine

PG_ENV = "DATABASE_URL_PG"


def server_url() -> str:
    """The test server's URL; a missing one fails the run, since REQUIRE_POSTGRES asked for it."""
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.fail(f"REQUIRE_POSTGRES=1 but {PG_ENV} is unset: start one with scripts/postgres.sh var/pg")
    return base


@contextmanager
def throwaway_database(prefix: str, template: str | None = None) -> Iterator[tuple[str, str]]:
    """A new database (a copy of ``template`` when given), dropped on exit; yields its name and URL."""
    base = server_url()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base, isolation_level="AUTOCOMMIT")
    copy = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield name, make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
