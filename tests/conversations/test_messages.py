"""Turns of a conversation: numbered without gaps, a retried message stored once, notes kept internal."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from conversations import (
    InvalidInput,
    add_note,
    conversation_for_sender,
    get_or_open,
    messages_after,
    record_answer_outcome,
    record_enterprise_message,
    record_reply,
    request_handoff,
    send_butler_message,
    take_over,
)
from conversations.models import ConversationMessage
from storage.transaction import transaction
from tests.conversations.conftest import NOW
from tests.conversations.world import People


def _open(factory: sessionmaker, sender: str = "web-1", enterprise_id: int | None = None) -> int:
    with transaction(factory) as session:
        return get_or_open(session, sender, "web", enterprise_id, now=NOW).id


def test_frames_are_numbered_one_by_one_and_notes_stay_internal(
    factory: sessionmaker, people: People
) -> None:
    conv_id = _open(factory, enterprise_id=people.tengfei_id)
    with transaction(factory) as session:
        first, dup = record_enterprise_message(session, "web-1", "c1", "食品经营许可证要什么材料", now=NOW)
        reply = record_reply(
            session, "web-1", "bot", "【食品经营许可证核发】申请材料", custom={"kind": "guide"}
        )
        request_handoff(session, "web-1", "企业请求人工", NOW)
        take_over(session, conv_id, people.hejie, NOW)
        note = add_note(session, conv_id, people.hejie, "该企业上周已来电咨询", NOW)
        butler = send_butler_message(session, conv_id, people.hejie, "您好，我是何杰", NOW)
    assert not dup
    assert [first.seq, reply.seq, butler.seq] == [1, 2, 3]
    assert note.seq == 2 and note.role == "note"  # shares the number of the frame it follows
    assert reply.custom == {"kind": "guide"}
    with factory() as session:
        frames = messages_after(session, "web-1", 0)
        assert [(m.seq, m.role) for m in frames] == [(1, "enterprise"), (2, "bot"), (3, "butler")]
        assert "该企业上周已来电咨询" not in [m.text for m in frames]
        assert [m.seq for m in messages_after(session, "web-1", 2)] == [3]
        assert messages_after(session, "web-1", 3) == []
        assert messages_after(session, "nobody", 0) == []
        assert frames[2].author == "何杰"


def test_a_retried_client_message_is_stored_once_and_leaves_no_gap(factory: sessionmaker) -> None:
    _open(factory)
    with transaction(factory) as session:
        first, dup1 = record_enterprise_message(session, "web-1", "m-1", "你好", now=NOW)
    with transaction(factory) as session:
        again, dup2 = record_enterprise_message(session, "web-1", "m-1", "你好", now=NOW)
        nxt, dup3 = record_enterprise_message(session, "web-1", "m-2", "营业执照怎么办", now=NOW)
    assert (dup1, dup2, dup3) == (False, True, False)
    assert again.id == first.id and again.seq == 1
    assert nxt.seq == 2
    with factory() as session:
        assert session.execute(select(func.count(ConversationMessage.id))).scalar_one() == 2
        assert conversation_for_sender(session, "web-1").last_seq == 2  # type: ignore[union-attr]


def test_two_threads_sending_the_same_client_message_store_it_once(factory: sessionmaker) -> None:
    _open(factory)
    barrier = threading.Barrier(6)
    results: list[tuple[int, int, bool]] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            barrier.wait()
            with transaction(factory) as session:
                message, duplicate = record_enterprise_message(
                    session, "web-1", "same-id", "停电三天了", now=NOW
                )
            results.append((message.id, message.seq, duplicate))
        except BaseException as exc:  # reported below; a thread must not swallow it
            errors.append(exc)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 6
    assert len({(mid, seq) for mid, seq, _ in results}) == 1
    assert sorted(dup for _, _, dup in results) == [False, True, True, True, True, True]
    with factory() as session:
        rows = session.execute(select(ConversationMessage)).scalars().all()
        assert [(r.seq, r.client_message_id) for r in rows] == [(1, "same-id")]
        assert conversation_for_sender(session, "web-1").last_seq == 1  # type: ignore[union-attr]


def test_concurrent_distinct_messages_get_consecutive_numbers(factory: sessionmaker) -> None:
    _open(factory)
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        try:
            barrier.wait()
            with transaction(factory) as session:
                record_enterprise_message(session, "web-1", f"id-{n}", f"第{n}条", now=NOW)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as session:
        seqs = sorted(m.seq for m in messages_after(session, "web-1", 0))
    assert seqs == list(range(1, 9))


def test_bad_text_is_refused_in_chinese_and_nothing_is_stored(factory: sessionmaker) -> None:
    _open(factory)
    for text in ["", "   ", "字" * 4001]:
        with pytest.raises(InvalidInput) as caught, transaction(factory) as session:
            record_enterprise_message(session, "web-1", None, text, now=NOW)
        assert "消息" in str(caught.value)
    with pytest.raises(InvalidInput), transaction(factory) as session:
        record_reply(session, "web-1", "enterprise", "冒充企业")
    with factory() as session:
        assert messages_after(session, "web-1", 0) == []
        assert conversation_for_sender(session, "web-1").last_seq == 0  # type: ignore[union-attr]


def test_opening_twice_is_one_conversation_and_a_verified_login_binds_it(
    factory: sessionmaker, people: People
) -> None:
    first = _open(factory, "wx-abc")
    second = _open(factory, "wx-abc")
    assert first == second
    with transaction(factory) as session:
        bound = get_or_open(session, "wx-abc", "web", people.tengfei_id, now=NOW + timedelta(minutes=1))
        kept = get_or_open(session, "wx-abc", "web", None, now=NOW + timedelta(minutes=2))
    assert bound.enterprise_name == "示例市腾飞生物医药有限公司"
    assert bound.updated_at == NOW + timedelta(minutes=1)
    assert kept.enterprise_id == people.tengfei_id  # an unverified visit never unbinds


def test_the_unanswered_streak_counts_misses_in_a_row(factory: sessionmaker) -> None:
    _open(factory)
    with transaction(factory) as session:
        assert record_answer_outcome(session, "web-1", answered=False) == 1
        assert record_answer_outcome(session, "web-1", answered=False) == 2
        assert record_answer_outcome(session, "web-1", answered=True) == 0
        assert record_answer_outcome(session, "web-1", answered=False) == 1
    with factory() as session:
        assert conversation_for_sender(session, "web-1").unanswered_streak == 1  # type: ignore[union-attr]
