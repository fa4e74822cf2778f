"""Actions run against the demo knowledge base, as the action server would, with no servers running."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker

from bot.actions.services import get_services


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
