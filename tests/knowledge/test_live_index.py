"""The live index: a knowledge-base change is built in the background while questions are answered from the old one."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from knowledge.assistant import GuideAssistant
from knowledge.live_index import LiveIndex, Snapshot, load_snapshot
from knowledge.records import GuideRecord
from knowledge.service import get_guide, import_records
from knowledge.settings import Settings
from knowledge.synonyms import DEFAULT_SYNONYMS_PATH, SynonymTable
from tests.conftest import build_demo_kb

LEXICAL_ONLY = Settings(
    database_url="", demo_dir=Path("."), catalogue_path=None, dense=False, embedding_cache=None
)


class SlowBuilder:
    """The real snapshot builder, held at a gate after the first build so a test can look inside the rebuild."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.builds = 0
        self.running = 0
        self.most_at_once = 0
        self.fail_next = False
        self._lock = threading.Lock()

    def __call__(self, session: Session) -> Snapshot:
        with self._lock:
            self.builds += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            first = self.builds == 1
        try:
            if not first:
                self.started.set()
                assert self.gate.wait(30), "the test never opened the gate"
                if self.fail_next:
                    raise RuntimeError("index build failed")
            return load_snapshot(session, SynonymTable.load(DEFAULT_SYNONYMS_PATH))
        finally:
            with self._lock:
                self.running -= 1


def edit_phone(factory: sessionmaker, name: str, phone: str) -> None:
    with factory.begin() as session:
        live = LiveIndex(factory, settings=LEXICAL_ONLY).current()
        guide_id = next(g.id for g in live.guides.values() if g.name == name)
        guide = get_guide(session=session, guide_id=guide_id)
        assert guide is not None
        changed = dataclasses.replace(GuideRecord.from_item(guide), phone=phone)
        import_records(session=session, records=[changed], source="admin edit")


@pytest.fixture
def kb(tmp_path: Path) -> sessionmaker:
    return build_demo_kb(f"sqlite:///{tmp_path / 'kb.db'}")


def phone_reply(live: LiveIndex, factory: sessionmaker) -> str:
    assistant = GuideAssistant(factory, live)
    return assistant.reply("公章刻制备案咨询电话", intent="ask_contact", intent_confidence=0.99).text


def test_questions_are_answered_from_the_old_index_while_the_new_one_builds(kb: sessionmaker) -> None:
    builder = SlowBuilder()
    live = LiveIndex(kb, check_interval=0, settings=LEXICAL_ONLY, builder=builder)
    first = live.current()
    assert "0000-99990000" not in phone_reply(live, kb)

    edit_phone(kb, "公章刻制备案", "0000-99990000")
    live.current()  # notices the change and starts the rebuild
    assert builder.started.wait(10)
    for _ in range(5):  # the build is held at the gate: readers neither wait nor see a half-built index
        started = time.perf_counter()
        snapshot = live.current()
        assert time.perf_counter() - started < 0.5
        assert snapshot is first
    assert live.building
    assert "0000-99990000" not in phone_reply(live, kb)

    builder.gate.set()
    fresh = live.wait_until_current(timeout=30)
    assert fresh.revision > first.revision
    assert "0000-99990000" in phone_reply(live, kb)
    assert builder.most_at_once == 1


def test_only_one_rebuild_runs_however_many_readers_notice_the_change(kb: sessionmaker) -> None:
    builder = SlowBuilder()
    live = LiveIndex(kb, check_interval=0, settings=LEXICAL_ONLY, builder=builder)
    live.current()
    edit_phone(kb, "公章刻制备案", "0000-11112222")
    readers = [threading.Thread(target=live.current) for _ in range(8)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join(10)
    assert builder.started.wait(10)
    assert builder.builds == 2  # the first snapshot and one rebuild
    builder.gate.set()
    live.wait_until_current(timeout=30)
    assert builder.most_at_once == 1 and builder.builds == 2


def test_a_failed_build_keeps_the_old_index_and_the_next_check_retries(
    kb: sessionmaker, caplog: pytest.LogCaptureFixture
) -> None:
    builder = SlowBuilder()
    live = LiveIndex(kb, check_interval=0, settings=LEXICAL_ONLY, builder=builder)
    first = live.current()
    edit_phone(kb, "公章刻制备案", "0000-33334444")
    builder.fail_next = True
    builder.gate.set()
    live.current()
    deadline = time.monotonic() + 30
    while (builder.builds < 2 or live.building) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert "knowledge.index.rebuild_failed" in caplog.text
    assert live.current() is first  # still answering, from the old snapshot (each retry fails too)
    assert "0000-33334444" not in phone_reply(live, kb)

    builder.fail_next = False
    fresh = live.wait_until_current(timeout=30)
    assert fresh.revision > first.revision
    assert "0000-33334444" in phone_reply(live, kb)


def test_the_first_snapshot_is_built_before_the_first_answer(kb: sessionmaker) -> None:
    calls: list[int] = []

    def counting(session: Session) -> Snapshot:
        calls.append(1)
        return load_snapshot(session, SynonymTable.load(DEFAULT_SYNONYMS_PATH))

    builder: Callable[[Session], Any] = counting
    live = LiveIndex(kb, settings=LEXICAL_ONLY, builder=builder)
    assert len(live.current().guides) == 60 and live.current().dense is None
    assert calls == [1]
