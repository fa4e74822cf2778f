"""Fixtures shared across packages: the demo knowledge base in a throwaway SQLite database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from knowledge.assistant import GuideAssistant
from knowledge.importers import load_records
from knowledge.live_index import LiveIndex
from knowledge.service import import_records
from storage.engine import make_engine, make_session_factory
from storage.migrate import upgrade_to_head

REPO_ROOT = Path(__file__).resolve().parents[1]
DEMO_GUIDES = REPO_ROOT / "knowledge" / "demo"
CATALOGUE = REPO_ROOT / "knowledge" / "catalogues" / "guangan" / "guang_an_items.derived.json"
MODEL = REPO_ROOT / "models" / "butler.tar.gz"


def build_demo_kb(url: str, with_catalogue: bool = False) -> sessionmaker:
    upgrade_to_head(url)
    factory = make_session_factory(make_engine(url))
    with factory.begin() as session:
        import_records(session=session, records=load_records([DEMO_GUIDES]), source="demo")
    if with_catalogue:
        assert CATALOGUE.exists(), f"the Guang'an catalogue is expected at {CATALOGUE}"
        with factory.begin() as session:
            import_records(
                session=session,
                records=load_records([CATALOGUE], catalogue=True),
                source="catalogue",
                has_guide=False,
            )
    return factory


def build_demo_world(url: str) -> sessionmaker:
    """The demo knowledge base and the demo registry of enterprises and butlers in one database."""
    from appeals import registry
    from storage.transaction import transaction

    demo = REPO_ROOT / "appeals" / "demo"
    factory = build_demo_kb(url)
    with transaction(factory) as session:
        registry.import_departments(session, demo / "departments_demo.csv")
        registry.import_registry(session, demo / "registry_demo.csv")
    return factory


@pytest.fixture(scope="session")
def demo_kb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('demo-kb') / 'kb.db'}"
    build_demo_kb(url)
    return url


@pytest.fixture(scope="session")
def demo_kb(demo_kb_url: str) -> sessionmaker:
    return make_session_factory(make_engine(demo_kb_url))


@pytest.fixture(scope="session")
def demo_live_index(demo_kb: sessionmaker) -> LiveIndex:
    return LiveIndex(demo_kb)


@pytest.fixture(scope="session")
def catalogue_live_index(tmp_path_factory: pytest.TempPathFactory) -> LiveIndex:
    url = f"sqlite:///{tmp_path_factory.mktemp('catalogue-kb') / 'kb.db'}"
    return LiveIndex(build_demo_kb(url, with_catalogue=True))


@pytest.fixture
def guide_assistant(demo_kb: sessionmaker, demo_live_index: LiveIndex) -> Iterator[GuideAssistant]:
    yield GuideAssistant(demo_kb, demo_live_index)
