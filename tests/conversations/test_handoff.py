"""The hand-off state machine: bot → waiting → butler → bot, and every move it refuses."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from conversations import (
    SYSTEM_ACTOR,
    AlreadyTaken,
    ConversationPublic,
    InvalidInput,
    InvalidState,
    NotHolder,
    cancel_handoff,
    conversation_for_sender,
    get_or_open,
    hand_back,
    idle_butler_conversations,
    messages_after,
    request_handoff,
    send_butler_message,
    take_over,
    transfer,
)
from storage.transaction import transaction
from tests.conversations.conftest import NOW
from tests.conversations.world import People

LATER = NOW + timedelta(minutes=5)


def _state(factory: sessionmaker, sender: str = "ent-1") -> ConversationPublic:
    with factory() as session:
        found = conversation_for_sender(session, sender)
    assert found is not None
    return found


@pytest.fixture
def conv_id(factory: sessionmaker, people: People) -> int:
    """腾飞's conversation, bound to the enterprise 何杰 serves."""
    with transaction(factory) as session:
        return get_or_open(session, "ent-1", "web", people.tengfei_id, now=NOW).id


def test_the_whole_cycle_bot_waiting_butler_bot(factory: sessionmaker, people: People, conv_id: int) -> None:
    start = _state(factory)
    assert start.state == "bot"
    with transaction(factory) as session:
        waiting = request_handoff(session, "ent-1", "企业请求人工服务", NOW)
    assert (waiting.state, waiting.waiting_since, waiting.handoff_reason) == (
        "waiting",
        NOW,
        "企业请求人工服务",
    )
    assert waiting.wait_seconds(NOW + timedelta(seconds=90)) == 90
    with transaction(factory) as session:
        held = take_over(session, conv_id, people.hejie, LATER)
    assert (held.state, held.butler_id, held.butler_name) == ("butler", people.hejie.butler_id, "何杰")
    assert held.waiting_since is None and held.last_butler_activity_at == LATER
    assert held.updated_at == LATER and held.version > waiting.version > start.version
    with transaction(factory) as session:
        back = hand_back(session, conv_id, people.hejie, LATER + timedelta(minutes=1))
    assert back.state == "bot" and back.updated_at == LATER + timedelta(minutes=1)
    assert back.version > held.version


def test_a_butler_may_take_over_straight_from_the_bot(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with transaction(factory) as session:
        held = take_over(session, conv_id, people.hejie, NOW)
    assert held.state == "butler" and held.handoff_reason == "管家主动接管"


def test_a_double_click_on_take_over_changes_nothing(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with transaction(factory) as session:
        first = take_over(session, conv_id, people.hejie, NOW)
    with transaction(factory) as session:
        second = take_over(session, conv_id, people.hejie, LATER)
    assert second == first  # same version, same times: nothing happened


def test_another_butler_cannot_take_a_held_conversation(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with transaction(factory) as session:
        take_over(session, conv_id, people.hejie, NOW)
    # 吴晓东 is 腾飞's backup butler, so he sees the conversation, but 何杰 holds it
    with pytest.raises(AlreadyTaken) as caught, transaction(factory) as session:
        take_over(session, conv_id, people.wu, LATER)
    assert str(caught.value) == "该会话已由管家何杰接管"
    # an administrator does not snatch it either: only through transfer
    with pytest.raises(AlreadyTaken), transaction(factory) as session:
        take_over(session, conv_id, people.admin, LATER)
    assert _state(factory).butler_id == people.hejie.butler_id


def test_two_butlers_clicking_at_once_one_wins_the_other_is_told(
    factory: sessionmaker, people: People
) -> None:
    # an unbound visitor in the public duty queue: both butlers see it
    with transaction(factory) as session:
        conv = get_or_open(session, "web-anon", "web", now=NOW)
        request_handoff(session, "web-anon", "企业请求人工服务", NOW)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def click(actor_key: str) -> None:
        actor = getattr(people, actor_key)
        barrier.wait()
        try:
            with transaction(factory) as session:
                take_over(session, conv.id, actor, LATER)
            outcomes[actor_key] = "won"
        except AlreadyTaken as exc:
            outcomes[actor_key] = str(exc)
        except BaseException as exc:
            outcomes[actor_key] = f"error {exc!r}"

    threads = [threading.Thread(target=click, args=(k,)) for k in ("hejie", "liu")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert list(outcomes.values()).count("won") == 1, outcomes
    winner = next(k for k, v in outcomes.items() if v == "won")
    loser = next(k for k in outcomes if k != winner)
    assert outcomes[loser] == f"该会话已由管家{getattr(people, winner).name}接管"
    assert _state(factory, "web-anon").butler_id == getattr(people, winner).butler_id


def test_only_the_holder_replies_and_hands_back(factory: sessionmaker, people: People, conv_id: int) -> None:
    with pytest.raises(NotHolder), transaction(factory) as session:  # nobody holds it yet
        send_butler_message(session, conv_id, people.hejie, "您好", NOW)
    with transaction(factory) as session:
        take_over(session, conv_id, people.hejie, NOW)
    for actor in (people.wu, people.commerce_head, people.admin):
        with pytest.raises(NotHolder) as caught, transaction(factory) as session:
            send_butler_message(session, conv_id, actor, "我来回复", LATER)
        assert "接管" in str(caught.value)
        with pytest.raises(NotHolder), transaction(factory) as session:
            hand_back(session, conv_id, actor, LATER)
    with factory() as session:
        assert messages_after(session, "ent-1", 0) == []
    assert _state(factory).state == "butler"


def test_a_butler_reply_is_stored_once_and_counts_as_activity(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with transaction(factory) as session:
        take_over(session, conv_id, people.hejie, NOW)
    with transaction(factory) as session:
        sent = send_butler_message(session, conv_id, people.hejie, "请稍等，我正在为您核实", LATER, "b-1")
    with transaction(factory) as session:
        again = send_butler_message(session, conv_id, people.hejie, "请稍等，我正在为您核实", LATER, "b-1")
    assert again.id == sent.id and sent.role == "butler" and sent.author == "何杰"
    assert _state(factory).last_butler_activity_at == LATER
    with factory() as session:
        assert len(messages_after(session, "ent-1", 0)) == 1


def test_transfer_keeps_a_person_on_it_with_the_new_holder(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with transaction(factory) as session:
        take_over(session, conv_id, people.hejie, NOW)
    with transaction(factory) as session:
        moved = transfer(session, conv_id, people.hejie, people.liu.butler_id, LATER)  # type: ignore[arg-type]
    assert (moved.state, moved.butler_id, moved.butler_name) == ("butler", people.liu.butler_id, "刘晓东")
    with pytest.raises(NotHolder), transaction(factory) as session:
        send_butler_message(session, conv_id, people.hejie, "还是我", LATER)
    # the conversation was transferred to 刘晓东: he sees it and replies
    with transaction(factory) as session:
        sent = send_butler_message(session, conv_id, people.liu, "您好，我是刘晓东", LATER)
    assert sent.author == "刘晓东"
    # the head of 何杰's department moves it back; a colleague who does not hold it may not
    with pytest.raises(NotHolder), transaction(factory) as session:
        transfer(session, conv_id, people.wu, people.wu.butler_id, LATER)  # type: ignore[arg-type]
    with transaction(factory) as session:
        back = transfer(session, conv_id, people.admin, people.hejie.butler_id, LATER)  # type: ignore[arg-type]
    assert back.butler_id == people.hejie.butler_id


def test_transfer_refuses_unknown_butlers_and_bot_conversations(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with pytest.raises(InvalidState) as caught, transaction(factory) as session:
        transfer(session, conv_id, people.hejie, people.liu.butler_id, NOW)  # type: ignore[arg-type]
    assert "智能助手" in str(caught.value)
    with transaction(factory) as session:
        take_over(session, conv_id, people.hejie, NOW)
    with pytest.raises(InvalidInput) as unknown, transaction(factory) as session:
        transfer(session, conv_id, people.hejie, 999_999, NOW)
    assert str(unknown.value) == "要转交的管家不存在或已停用"
    assert _state(factory).butler_id == people.hejie.butler_id


def test_the_enterprise_may_cancel_while_waiting_but_not_once_served(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with transaction(factory) as session:
        request_handoff(session, "ent-1", "企业请求人工服务", NOW)
        again = request_handoff(session, "ent-1", "再次请求", LATER)  # asking twice is one request
    assert again.waiting_since == NOW and again.handoff_reason == "企业请求人工服务"
    with transaction(factory) as session:
        cancelled = cancel_handoff(session, "ent-1", LATER)
    assert cancelled.state == "bot" and cancelled.waiting_since is None
    with transaction(factory) as session:
        request_handoff(session, "ent-1", "企业请求人工服务", LATER)
        take_over(session, conv_id, people.hejie, LATER)
    with pytest.raises(InvalidState), transaction(factory) as session:
        cancel_handoff(session, "ent-1", LATER)
    assert _state(factory).state == "butler"


def test_a_waiting_conversation_can_be_handed_back_and_a_second_hand_back_is_harmless(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with transaction(factory) as session:
        request_handoff(session, "ent-1", "助手连续两次未能回答", NOW)
    with transaction(factory) as session:
        first = hand_back(session, conv_id, people.wu, LATER)
    with transaction(factory) as session:
        second = hand_back(session, conv_id, people.wu, LATER + timedelta(minutes=1))
    assert first.state == "bot" and second == first


def test_silent_butlers_are_found_and_the_system_hands_back(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with transaction(factory) as session:
        get_or_open(session, "ent-2", "web", people.dongsheng_id, now=NOW)
        other = conversation_for_sender(session, "ent-2")
        assert other is not None
        take_over(session, conv_id, people.hejie, NOW)
        take_over(session, other.id, people.liu, NOW + timedelta(minutes=20))
    with factory() as session:
        idle = idle_butler_conversations(session, NOW + timedelta(minutes=15))
    assert [c.id for c in idle] == [conv_id]
    with transaction(factory) as session:
        released = hand_back(session, conv_id, SYSTEM_ACTOR, NOW + timedelta(minutes=15))
    assert released.state == "bot"
    with factory() as session:
        assert idle_butler_conversations(session, NOW + timedelta(minutes=15)) == []


def test_an_account_that_is_no_butler_cannot_hold_a_conversation(
    factory: sessionmaker, people: People, conv_id: int
) -> None:
    with pytest.raises(InvalidInput) as caught, transaction(factory) as session:
        take_over(session, conv_id, people.admin, NOW)
    assert str(caught.value) == "您的账号未关联企业管家，不能接管或接待会话"
    assert _state(factory).state == "bot"
