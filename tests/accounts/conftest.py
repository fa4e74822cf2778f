"""A fresh demo-registry database per test (the registry's butlers are whom accounts link to)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from storage.engine import make_engine, make_session_factory
from tests.conversations.world import build_registry_template, copy_database

NOW = datetime(2025, 3, 3, 2, 0)  # naive UTC, like the database
PASSWORD = "correct horse 9"


@pytest.fixture(scope="session")
def registry_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_registry_template(tmp_path_factory.mktemp("accounts-template") / "template.db")


@pytest.fixture
def db_url(tmp_path: Path, registry_template: Path) -> str:
    return copy_database(registry_template, tmp_path / "accounts.db")


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()
