"""The bounded tracker store: flat per-message cost, no lost state, every event stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    ConversationPaused,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tracker_store import BoundedSQLTrackerStore

DOMAIN = Domain.load(str(Path(__file__).resolve().parents[2] / "bot" / "domain.yml"))


def store_at(path: Path, max_events: int = 20) -> BoundedSQLTrackerStore:
    return BoundedSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(path), max_events=max_events)


def long_tracker(turns: int) -> DialogueStateTracker:
    tracker = DialogueStateTracker("wx-1", DOMAIN.slots)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(SlotSet("guide_id", "DEMO-013"))
    tracker.update(ConversationPaused())
    for i in range(turns):
        tracker.update(UserUttered(f"问题{i}", {"name": "ask_fee", "confidence": 0.9}))
        tracker.update(ActionExecuted("action_answer_guide"))
        tracker.update(BotUttered(f"回答{i}"))
        tracker.update(ActionExecuted("action_listen"))
    return tracker


def stored_rows(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("select count(*) from events").fetchone()[0])


async def test_long_conversation_is_loaded_bounded_with_its_state(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = store_at(db)
    await store.save(long_tracker(100))
    assert stored_rows(db) == 4 + 400

    fresh = store_at(db)  # a restarted server, or another replica
    tracker = await fresh.retrieve("wx-1")
    assert tracker is not None
    assert len(tracker.events) <= 20 + 2 + 2  # window + session start + carried state
    assert tracker.get_slot("guide_id") == "DEMO-013"
    assert tracker.is_paused()
    assert tracker.latest_message is not None and tracker.latest_message.text == "问题99"


async def test_only_new_events_are_stored_after_a_bounded_load(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = store_at(db)
    await store.save(long_tracker(50))
    tracker = await store.retrieve("wx-1")
    assert tracker is not None
    tracker.update(UserUttered("新问题", {"name": "ask_fee", "confidence": 0.9}))
    tracker.update(SlotSet("aspect", "fee"))
    await store.save(tracker)
    assert stored_rows(db) == 4 + 200 + 2

    again = await store_at(db).retrieve("wx-1")
    assert again is not None and again.get_slot("aspect") == "fee" and again.latest_message.text == "新问题"  # type: ignore[union-attr]


async def test_full_history_is_still_available(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = store_at(db)
    await store.save(long_tracker(30))
    full = await store.retrieve_full_tracker("wx-1")
    assert full is not None and len(full.events) == 4 + 120


async def test_short_conversation_is_unchanged(tmp_path: Path) -> None:
    store = store_at(tmp_path / "tracker.db")
    await store.save(long_tracker(2))
    tracker = await store.retrieve("wx-1")
    assert tracker is not None and len(tracker.events) == 3 + 8  # Rasa loads from session_started on
    assert await store.retrieve("nobody") is None


def summary(tracker: DialogueStateTracker | None) -> tuple:
    assert tracker is not None
    return (
        [(e.type_name, getattr(e, "text", None) or getattr(e, "action_name", None)) for e in tracker.events],
        tracker.current_slot_values(),
        tracker.is_paused(),
    )


async def test_a_conversation_in_memory_is_what_the_database_holds(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = store_at(db)
    await store.save(long_tracker(3))
    for i in range(5):
        tracker = await store.retrieve("wx-1")
        assert summary(tracker) == summary(await store_at(db).retrieve("wx-1"))
        assert tracker is not None
        tracker.update(UserUttered(f"追问{i}", {"name": "ask_fee", "confidence": 0.9}))
        tracker.update(SlotSet("aspect", f"fee-{i}"))
        await store.save(tracker)
    assert stored_rows(db) == 4 + 12 + 10
    reloaded = await store_at(db).retrieve("wx-1")
    assert reloaded is not None and reloaded.get_slot("aspect") == "fee-4"


async def test_what_another_replica_wrote_is_not_hidden_by_memory(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    ours, theirs = store_at(db), store_at(db)
    await ours.save(long_tracker(2))
    assert await ours.retrieve("wx-1") is not None  # now in our memory

    elsewhere = await theirs.retrieve("wx-1")
    assert elsewhere is not None
    elsewhere.update(UserUttered("在另一台服务器上问的", {"name": "ask_fee", "confidence": 0.9}))
    elsewhere.update(SlotSet("guide_id", "DEMO-020"))
    await theirs.save(elsewhere)

    tracker = await ours.retrieve("wx-1")
    assert tracker is not None and tracker.get_slot("guide_id") == "DEMO-020"
    assert tracker.latest_message is not None and tracker.latest_message.text == "在另一台服务器上问的"


async def test_a_failed_write_leaves_memory_no_further_than_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "tracker.db"
    store = store_at(db)
    await store.save(long_tracker(2))
    tracker = await store.retrieve("wx-1")
    assert tracker is not None
    tracker.update(SlotSet("guide_id", "DEMO-030"))

    async def disk_full(self: SQLTrackerStore, tracker: DialogueStateTracker) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(SQLTrackerStore, "save", disk_full)
    with pytest.raises(OSError):
        await store.save(tracker)
    monkeypatch.undo()

    again = await store.retrieve("wx-1")
    assert again is not None and again.get_slot("guide_id") == "DEMO-013"


async def test_a_new_session_is_loaded_from_its_start(tmp_path: Path) -> None:
    db = tmp_path / "tracker.db"
    store = store_at(db)
    tracker = long_tracker(2)
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(UserUttered("新会话", {"name": "greet", "confidence": 0.9}))
    await store.save(tracker)
    assert summary(await store.retrieve("wx-1")) == summary(await store_at(db).retrieve("wx-1"))
    again = await store.retrieve("wx-1")
    assert again is not None and [e.type_name for e in again.events][:2] == ["session_started", "user"]
