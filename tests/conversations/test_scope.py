"""Who sees which conversation: a butler their enterprises, a head their department, an admin all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import sessionmaker

from conversations import (
    ConversationNotFound,
    ConversationScope,
    add_note,
    canned_replies,
    get_conversation,
    get_or_open,
    hand_back,
    inbox,
    record_enterprise_message,
    record_reply,
    request_handoff,
    scope_for,
    take_over,
    transcript,
    transfer,
    transfer_targets,
)
from storage.transaction import transaction
from tests.conversations.conftest import NOW
from tests.conversations.world import People


@pytest.fixture
def convs(factory: sessionmaker, people: People) -> dict[str, int]:
    """腾飞 (何杰's) waiting, 东升 (刘晓东's) waiting a little longer, an unbound visitor waiting."""
    ids: dict[str, int] = {}
    with transaction(factory) as session:
        for sender, enterprise, waited in (
            ("tengfei", people.tengfei_id, 5),
            ("dongsheng", people.dongsheng_id, 30),
            ("visitor", None, 10),
        ):
            ids[sender] = get_or_open(session, sender, "web", enterprise, now=NOW).id
            record_enterprise_message(session, sender, f"{sender}-1", "转人工", now=NOW)
            request_handoff(session, sender, "企业请求人工服务", NOW - timedelta(minutes=waited))
    return ids


def _ids(factory: sessionmaker, scope: ConversationScope, state: str | None = None) -> set[int]:
    with factory() as session:
        return {c.id for c in inbox(session, scope, state)}


def test_a_butler_sees_their_enterprise_and_the_duty_queue_not_a_colleagues(
    factory: sessionmaker, people: People, convs: dict[str, int]
) -> None:
    hejie = scope_for(people.hejie)
    assert _ids(factory, hejie) == {convs["tengfei"], convs["visitor"]}
    assert _ids(factory, scope_for(people.liu)) == {convs["dongsheng"], convs["visitor"]}
    # the backup butler of 腾飞 sees it too
    assert convs["tengfei"] in _ids(factory, scope_for(people.wu))
    with factory() as session:
        with pytest.raises(ConversationNotFound) as caught:
            transcript(session, convs["dongsheng"], hejie)
        assert str(caught.value) == "会话不存在或您无权查看"  # the same words as for a missing one
        with pytest.raises(ConversationNotFound):
            get_conversation(session, 999_999, hejie)
    for act in (
        lambda s: take_over(s, convs["dongsheng"], people.hejie, NOW),
        lambda s: hand_back(s, convs["dongsheng"], people.hejie, NOW),
        lambda s: add_note(s, convs["dongsheng"], people.hejie, "偷看", NOW),
        lambda s: transfer(s, convs["dongsheng"], people.hejie, people.hejie.butler_id, NOW),
    ):
        with pytest.raises(ConversationNotFound), transaction(factory) as session:
            act(session)
    with factory() as session:
        assert get_conversation(session, convs["dongsheng"], scope_for(people.liu)).state == "waiting"


def test_the_duty_queue_leaves_the_others_inbox_once_taken(
    factory: sessionmaker, people: People, convs: dict[str, int]
) -> None:
    with transaction(factory) as session:
        take_over(session, convs["visitor"], people.hejie, NOW)
    assert convs["visitor"] in _ids(factory, scope_for(people.hejie))
    assert convs["visitor"] in _ids(factory, scope_for(people.hejie), "mine")
    assert convs["visitor"] not in _ids(factory, scope_for(people.liu))
    # handed back, the last holder still finds it; the colleague does not
    with transaction(factory) as session:
        hand_back(session, convs["visitor"], people.hejie, NOW)
    assert convs["visitor"] in _ids(factory, scope_for(people.hejie), "bot")
    assert convs["visitor"] not in _ids(factory, scope_for(people.liu), "all")


def test_heads_see_their_department_and_nothing_of_another(
    factory: sessionmaker, people: People, convs: dict[str, int]
) -> None:
    with transaction(factory) as session:
        take_over(session, convs["visitor"], people.hejie, NOW)
    commerce = scope_for(people.commerce_head)
    assert _ids(factory, commerce) == {convs["tengfei"], convs["visitor"]}
    east = scope_for(people.east_head)
    assert _ids(factory, east, "all") == set()  # 城东区 has none of these, and the visitor is taken
    with factory() as session, pytest.raises(ConversationNotFound):
        transcript(session, convs["visitor"], east)
    # the industry head sees 东升 (its butler) and, after a transfer, what its butler holds
    industry = ConversationScope(department_id=people.industry_id)
    assert _ids(factory, industry) == {convs["dongsheng"]}
    with transaction(factory) as session:
        transfer(session, convs["visitor"], people.hejie, people.liu.butler_id, NOW)  # type: ignore[arg-type]
    assert _ids(factory, industry) == {convs["dongsheng"], convs["visitor"]}


def test_an_admin_sees_everything_and_an_empty_scope_nothing(
    factory: sessionmaker, people: People, convs: dict[str, int]
) -> None:
    assert _ids(factory, scope_for(people.admin)) == set(convs.values())
    assert _ids(factory, ConversationScope(), "all") == set()


def test_the_inbox_lists_the_longest_wait_first_with_names_and_last_turns(
    factory: sessionmaker, people: People, convs: dict[str, int]
) -> None:
    with transaction(factory) as session:
        take_over(session, convs["tengfei"], people.hejie, NOW)
        for n in range(4):
            record_reply(session, "tengfei", "system", f"第{n}条")
    with factory() as session:
        listed = inbox(session, scope_for(people.admin))
    assert [c.id for c in listed] == [convs["dongsheng"], convs["visitor"], convs["tengfei"]]
    assert [c.state for c in listed] == ["waiting", "waiting", "butler"]
    assert listed[0].enterprise_name == "示例市东升制药有限公司" and listed[1].enterprise_name == ""
    assert listed[0].handoff_reason == "企业请求人工服务"
    assert [m.text for m in listed[2].last_messages] == ["第1条", "第2条", "第3条"]
    assert [m.text for m in listed[0].last_messages] == ["转人工"]
    with factory() as session:
        waiting = inbox(session, scope_for(people.admin), "waiting")
    assert [c.id for c in waiting] == [convs["dongsheng"], convs["visitor"]]


def test_the_transcript_holds_every_turn_including_notes(
    factory: sessionmaker, people: People, convs: dict[str, int]
) -> None:
    with transaction(factory) as session:
        take_over(session, convs["tengfei"], people.hejie, NOW)
        add_note(session, convs["tengfei"], people.hejie, "<script>alert(1)</script> 内部备注", NOW)
        record_reply(session, "tengfei", "bot", "好的")
    with factory() as session:
        turns = transcript(session, convs["tengfei"], scope_for(people.commerce_head))
    assert [(t.role, t.text) for t in turns] == [
        ("enterprise", "转人工"),
        ("note", "<script>alert(1)</script> 内部备注"),  # stored as typed; the page shows it as text
        ("bot", "好的"),
    ]


def test_the_inbox_refuses_an_unknown_filter(factory: sessionmaker, people: People) -> None:
    from conversations import InvalidInput

    with factory() as session, pytest.raises(InvalidInput) as caught:
        inbox(session, scope_for(people.admin), "closed")
    assert "筛选" in str(caught.value)


def test_canned_replies_and_transfer_targets_are_ready_on_a_fresh_install(factory: sessionmaker) -> None:
    with factory() as session:
        replies = canned_replies(session)
        targets = transfer_targets(session)
    assert len(replies) >= 5
    assert replies[0].text.startswith("您好，我是您的企业管家")
    assert any("转交" in r.text for r in replies)
    names = {t.name for t in targets}
    assert {"何杰", "刘晓东"} <= names
    assert next(t for t in targets if t.name == "何杰").department == "市商务局"


def test_a_late_click_on_a_taken_duty_queue_conversation_says_who_took_it(
    factory: sessionmaker, people: People, convs: dict[str, int]
) -> None:
    with transaction(factory) as session:
        take_over(session, convs["visitor"], people.hejie, NOW)
    from conversations import AlreadyTaken

    with pytest.raises(AlreadyTaken) as caught, transaction(factory) as session:
        take_over(session, convs["visitor"], people.liu, NOW)
    assert str(caught.value) == "该会话已由管家何杰接管"
    # an enterprise's conversation outside the scope stays invisible, held or not
    with transaction(factory) as session:
        take_over(session, convs["tengfei"], people.hejie, NOW)
    with pytest.raises(ConversationNotFound), transaction(factory) as session:
        take_over(session, convs["tengfei"], people.liu, NOW)
