"""Actions run against the demo knowledge base, as the action server would, with no servers running."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from sqlalchemy.orm import sessionmaker

from bot.actions.services import get_services
from storage.engine import make_engine, make_session_factory
from tests.actions.appeal_world import SECRET
from tests.conftest import build_demo_world


@pytest.fixture
def action_services(demo_kb_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", demo_kb_url)
    get_services.cache_clear()
    yield
    get_services.cache_clear()


def make_tracker(
    text: str,
    intent: str,
    confidence: float = 0.99,
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    sender_id: str = "wx-openid-1",
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": [{"name": intent, "confidence": confidence}],
    }
    return Tracker(
        sender_id=sender_id,
        slots=slots or {},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture(scope="session")
def demo_world_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo knowledge base and the demo registry, built once."""
    path = tmp_path_factory.mktemp("appeal-world") / "world.db"
    build_demo_world(f"sqlite:///{path}")
    return path


@pytest.fixture
def world(demo_world_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker]:
    """A fresh copy per test, so ticket counts are exact; the actions' services point at it."""
    target = tmp_path / "world.db"
    shutil.copyfile(demo_world_file, target)
    url = f"sqlite:///{target}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("IDENTITY_SECRET", SECRET)
    for name in [name for name in os.environ if name.startswith("APPEALS_")]:
        monkeypatch.delenv(name)
    get_services.cache_clear()
    engine = make_engine(url)
    yield make_session_factory(engine)
    get_services.cache_clear()
    engine.dispose()
