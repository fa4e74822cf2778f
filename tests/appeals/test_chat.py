"""The chat's use cases (``appeals.chat``) on the demo registry, as an enterprise and its butler see them.

The Rasa action tests reach these through a tracker; here each use case is called
directly, the way the console and the command line call them too. The chat turns
(``file_appeal``, ``ticket_status``, ``rate_from_chat``…) verify identities against
the real clock, so their identities are signed "now"; the other functions take ``now=``.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from appeals.access import TicketScope, list_tickets_in_scope
from appeals.chat import (
    AppealForm,
    ChatCaller,
    answer_ticket,
    bind_enterprise,
    chat_region,
    chat_scope,
    enterprise_fixed,
    enterprise_region,
    file_appeal,
    identity_from_metadata,
    next_ticket_to_rate,
    rate_from_chat,
    rating_prompt,
    record_rating,
    start_appeal,
    submit_appeal,
    ticket_status,
    tickets_to_rate,
    visible_tickets,
)
from appeals.errors import NotFound
from appeals.identity import VerifiedIdentity, sign_identity
from appeals.lifecycle import mark_contacted
from appeals.models import Butler
from appeals.notices import pending_notices
from appeals.queries import find_enterprise, get_ticket
from appeals.settings import AppealsSettings
from appeals.views import TicketPublic
from cli.main import main as butler_cli
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.appeals.conftest import NOW

SECRET = "chat-use-case-test-secret"
# two enterprises of the demo registry, each with its own butler
TENGFEI_CODE = "91990102A5NNL98XUY"  # 示例市腾飞生物医药有限公司, butler 何杰 of 市商务局 (head 杨文博)
WANXIANG_CODE = "919901031WTF2731AM"  # 示例市万象精密模具有限公司, butler 朱子涵
TENGFEI_NAME = "示例市腾飞生物医药有限公司"


# -- the demo registry and the people in it ---------------------------------------------


@pytest.fixture
def demo_url(demo_template: Path, tmp_path: Path) -> str:
    target = tmp_path / "demo.db"
    shutil.copyfile(demo_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def demo(demo_url: str) -> Iterator[sessionmaker]:
    """A fresh copy of the demo registry per test, so ticket and notice counts are exact."""
    engine = make_engine(demo_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings() -> AppealsSettings:
    """Default 2110 settings with the secret the gateway signs identities with."""
    return AppealsSettings(database_url="sqlite://", identity_secret=SECRET)


def enterprise_id(factory: sessionmaker, code: str) -> int:
    with transaction(factory) as session:
        found = find_enterprise(session, code)
    assert found is not None
    return found.id


def butler_scope(factory: sessionmaker, phone: str) -> TicketScope:
    with transaction(factory) as session:
        butler = session.query(Butler).filter_by(phone=phone).one()
        return TicketScope(butler_id=butler.id)


HEJIE = "13800000016"  # 何杰, 腾飞's butler
ZHU = "13800000027"  # 朱子涵, 万象's butler


def signed(sender: str, enterprise: int | None, *, secret: str = SECRET, age: int = 0) -> dict[str, Any]:
    """Metadata as the gateway sends it for a user of ``enterprise`` in conversation ``sender``."""
    return {"identity": sign_identity(secret, sender, enterprise, int(time.time()) - age)}


def form(enterprise: int, description: str = "厂区停电三天，变压器需要增容") -> AppealForm:
    return AppealForm(
        enterprise_id=enterprise,
        category="用电用水用气",
        description=description,
        contact_name="杨刚",
        contact_phone="13900000001",
    )


def file_from(
    factory: sessionmaker,
    settings: AppealsSettings,
    sender: str,
    enterprise: int,
    appeal_id: str,
    *,
    at: datetime = NOW,
    description: str = "厂区停电三天，变压器需要增容",
) -> TicketPublic:
    """A ticket filed from conversation ``sender`` at ``at``, as the chat's confirmed form files it."""
    return submit_appeal(
        factory,
        form(enterprise, description),
        sender=sender,
        appeal_id=appeal_id,
        channel="web",
        sender_id=sender,
        now=at,
        settings=settings,
    )


def answer(
    factory: sessionmaker,
    settings: AppealsSettings,
    number: str,
    at: datetime,
    text: str = "已协调供电局增容",
) -> TicketPublic:
    """何杰 calls the enterprise and reports the appeal handled, so it waits for a rating."""
    scope = butler_scope(factory, HEJIE)
    with transaction(factory) as session:
        current = get_ticket(session, number, now=at, settings=settings)
        assert current is not None
        if current.status == "submitted":
            mark_contacted(session, number, "何杰", "电话联系", now=at, settings=settings)
        return answer_ticket(session, scope, number, "何杰", text, now=at, settings=settings)


def all_tickets(factory: sessionmaker, settings: AppealsSettings) -> list[TicketPublic]:
    with transaction(factory) as session:
        return list_tickets_in_scope(session, TicketScope(everything=True), now=NOW, settings=settings)


def numbers(tickets: list[TicketPublic]) -> set[str]:
    return {ticket.number for ticket in tickets}


# -- identity and binding ---------------------------------------------------------------


def test_a_verified_identity_binds_its_enterprise_and_sees_all_its_tickets(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    wanxiang = enterprise_id(demo, WANXIANG_CODE)
    # two colleagues of 腾飞 filed from their own conversations; 万象 filed one too
    first = file_from(demo, settings, "web-colleague-1", tengfei, "a1")
    second = file_from(demo, settings, "web-colleague-2", tengfei, "a1", at=NOW + timedelta(hours=1))
    file_from(demo, settings, "web-wanxiang", wanxiang, "a1")

    caller = ChatCaller(sender="web-boss", metadata=signed("web-boss", tengfei))
    reply = ticket_status(demo, caller, number=None, credit_code=None, limit=10, settings=settings)

    assert reply.kind == "tickets"
    assert reply.binding.enterprise_id == tengfei and reply.binding.enterprise_name == TENGFEI_NAME
    assert reply.binding.verified and reply.binding.changed
    assert numbers(reply.tickets) == {first.number, second.number}
    assert enterprise_fixed(caller, settings=settings)
    start = start_appeal(demo, caller, "厂区停电三天", settings=settings)
    assert start.binding.enterprise_id == tengfei and start.binding.verified
    assert start.category_guess == "用电用水用气"


def test_a_verified_identity_overrides_what_the_chat_was_bound_to(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    wanxiang = enterprise_id(demo, WANXIANG_CODE)
    identity = VerifiedIdentity("web-boss", tengfei)
    with transaction(demo) as session:
        moved = bind_enterprise(session, identity, wanxiang, "示例市万象精密模具有限公司")
        same = bind_enterprise(session, identity, tengfei, TENGFEI_NAME)
        visitor = bind_enterprise(session, VerifiedIdentity("web-boss", None), wanxiang, "万象")
        unknown = bind_enterprise(session, VerifiedIdentity("web-boss", 999_999), wanxiang, "万象")
        nobody = bind_enterprise(session, None)
    assert (moved.enterprise_id, moved.changed, moved.verified) == (tengfei, True, True)
    assert (same.enterprise_id, same.changed, same.verified) == (tengfei, False, True)
    # a logged-in visitor without an enterprise, or an enterprise the registry lost, keeps the chat's binding
    assert (visitor.enterprise_id, visitor.changed, visitor.verified) == (wanxiang, False, False)
    assert (unknown.enterprise_id, unknown.changed, unknown.verified) == (wanxiang, False, False)
    assert (nobody.enterprise_id, nobody.enterprise_name, nobody.verified) == (None, None, False)


def _forged(kind: str, sender: str, enterprise: int, code: str) -> dict[str, Any]:
    if kind == "credit_code":
        return {"credit_code": code}
    if kind == "enterprise_id":
        return {"enterprise_id": enterprise, "sender": sender}
    if kind == "wrong_secret":
        return signed(sender, enterprise, secret="guessed-secret")
    if kind == "stale":
        return signed(sender, enterprise, age=301)
    if kind == "other_sender":
        return signed("web-someone-else", enterprise)
    assert kind == "tampered"  # signed for no enterprise, then the enterprise was filled in
    identity = signed(sender, None)
    identity["identity"]["enterprise_id"] = enterprise
    return identity


@pytest.mark.parametrize(
    "kind", ["credit_code", "enterprise_id", "wrong_secret", "stale", "other_sender", "tampered"]
)
def test_an_unverified_claim_binds_nothing_and_shows_only_the_chats_own_tickets(
    demo: sessionmaker, settings: AppealsSettings, kind: str
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    others = file_from(demo, settings, "web-colleague-1", tengfei, "a1")
    sender = "web-stranger"
    metadata = _forged(kind, sender, tengfei, TENGFEI_CODE)
    caller = ChatCaller(sender=sender, metadata=metadata)

    assert identity_from_metadata(metadata, sender, settings) is None
    assert not enterprise_fixed(caller, settings=settings)
    assert start_appeal(demo, caller, None, settings=settings).binding.enterprise_id is None
    unbound = ticket_status(demo, caller, number=None, credit_code=None, settings=settings)
    assert unbound.kind == "need_enterprise" and not unbound.tickets

    # typing the credit code binds the chat for filing, but shows nothing it did not file
    typed = ticket_status(demo, caller, number=None, credit_code=TENGFEI_CODE, settings=settings)
    assert typed.kind == "none" and typed.binding.enterprise_id == tengfei and not typed.binding.verified
    bound = ChatCaller(sender=sender, metadata=metadata, enterprise_id=tengfei, enterprise_name=TENGFEI_NAME)
    asked = ticket_status(demo, bound, number=others.number, credit_code=None, settings=settings)
    assert asked.kind == "not_found" and not asked.tickets

    filing = file_appeal(demo, bound, form(tengfei), appeal_id="mine", channel="web", settings=settings)
    assert filing.ticket is not None and not filing.error
    mine = ticket_status(demo, bound, number=None, credit_code=None, limit=10, settings=settings)
    assert mine.kind == "tickets" and numbers(mine.tickets) == {filing.ticket.number}


def test_without_a_secret_even_a_well_formed_identity_verifies_nobody(demo: sessionmaker) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    unset = AppealsSettings(database_url="sqlite://")
    caller = ChatCaller(sender="web-boss", metadata=signed("web-boss", tengfei))
    assert identity_from_metadata(caller.metadata, caller.sender, unset) is None
    assert (
        ticket_status(demo, caller, number=None, credit_code=None, settings=unset).kind == "need_enterprise"
    )


def test_the_chat_scope_is_the_verified_enterprise_or_the_conversation() -> None:
    assert chat_scope("web-1", VerifiedIdentity("web-1", 7)) == TicketScope(
        enterprise_id=7, sender_id="web-1"
    )
    assert chat_scope("web-1", None) == TicketScope(sender_id="web-1")
    assert chat_scope("", None).empty


# -- filing once ---------------------------------------------------------------------------


def test_the_same_sender_and_appeal_id_file_once(demo: sessionmaker, settings: AppealsSettings) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    caller = ChatCaller(sender="web-1", metadata=signed("web-1", tengfei))
    first = file_appeal(demo, caller, form(tengfei), appeal_id="form-1", channel="web", settings=settings)
    retry = file_appeal(demo, caller, form(tengfei), appeal_id="form-1", channel="web", settings=settings)
    assert first.ticket is not None and retry.ticket is not None
    assert retry.ticket.number == first.ticket.number and retry.appeal_id == "form-1"
    assert numbers(all_tickets(demo, settings)) == {first.ticket.number}

    again = file_appeal(demo, caller, form(tengfei), appeal_id="form-2", channel="web", settings=settings)
    assert again.ticket is not None and again.ticket.number != first.ticket.number
    # another conversation that happens to use the same form id files its own appeal
    other = ChatCaller(sender="web-2")
    theirs = file_appeal(demo, other, form(tengfei), appeal_id="form-1", channel="web", settings=settings)
    assert theirs.ticket is not None and theirs.ticket.number not in {
        first.ticket.number,
        again.ticket.number,
    }
    assert theirs.ticket.sender_id == "web-2"
    assert len(all_tickets(demo, settings)) == 3
    with transaction(demo) as session:
        receipts = [n.ticket_number for n in pending_notices(session) if n.kind == "routed"]
    assert sorted(receipts) == sorted(t.number for t in all_tickets(demo, settings))  # one receipt each


def test_without_an_appeal_id_the_contents_key_the_filing(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    caller = ChatCaller(sender="web-1")
    first = file_appeal(demo, caller, form(tengfei), appeal_id=None, channel="web", settings=settings)
    retry = file_appeal(demo, caller, form(tengfei), appeal_id=None, channel="web", settings=settings)
    changed = file_appeal(
        demo, caller, form(tengfei, "厂区停水两天"), appeal_id=None, channel="web", settings=settings
    )
    assert first.ticket is not None and retry.ticket is not None and changed.ticket is not None
    assert retry.appeal_id == first.appeal_id and retry.ticket.number == first.ticket.number
    assert changed.appeal_id != first.appeal_id and changed.ticket.number != first.ticket.number


def test_a_bad_form_is_a_chinese_sentence_and_files_nothing(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    bad = AppealForm(
        enterprise_id=tengfei,
        category="用电用水用气",
        description="停电",
        contact_name="杨刚",
        contact_phone="123",
    )
    filing = file_appeal(
        demo, ChatCaller(sender="web-1"), bad, appeal_id="f1", channel="web", settings=settings
    )
    assert filing.ticket is None and filing.appeal_id == "f1"
    assert filing.error.startswith("手机号码应为11位")
    assert all_tickets(demo, settings) == []


def test_the_command_line_files_the_same_data_as_its_own_ticket(
    demo: sessionmaker,
    demo_url: str,
    settings: AppealsSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    chat = file_appeal(
        demo, ChatCaller(sender="web-1"), form(tengfei), appeal_id=None, channel="web", settings=settings
    )
    assert chat.ticket is not None
    monkeypatch.setenv("DATABASE_URL", demo_url)
    argv = [
        "tickets",
        "create",
        "--enterprise",
        TENGFEI_CODE,
        "--category",
        "用电用水用气",
        "--description",
        "厂区停电三天，变压器需要增容",
        "--contact-name",
        "杨刚",
        "--contact-phone",
        "13900000001",
        "--json",
    ]

    def run() -> str:
        capsys.readouterr()
        assert butler_cli(argv) == 0
        number: str = json.loads(capsys.readouterr().out)["number"]
        return number

    by_cli = run()
    assert by_cli != chat.ticket.number  # a butler typing the same appeal is a filing of its own
    assert run() == by_cli  # the same command run again files nothing new
    assert numbers(all_tickets(demo, settings)) == {chat.ticket.number, by_cli}


# -- reading -------------------------------------------------------------------------------


def test_ticket_status_shows_only_tickets_the_chat_may_see(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    wanxiang = enterprise_id(demo, WANXIANG_CODE)
    ours = file_from(demo, settings, "web-colleague-1", wanxiang, "a1")
    theirs = file_from(demo, settings, "web-colleague-2", tengfei, "a1")
    caller = ChatCaller(sender="web-wx", metadata=signed("web-wx", wanxiang))

    found = ticket_status(demo, caller, number=ours.number.lower(), credit_code=None, settings=settings)
    assert found.kind == "tickets" and [t.number for t in found.tickets] == [ours.number]
    other = ticket_status(demo, caller, number=theirs.number, credit_code=None, settings=settings)
    assert other.kind == "not_found" and other.tickets == [] and other.number == theirs.number
    missing = ticket_status(demo, caller, number="GD209901010001", credit_code=None, settings=settings)
    assert missing.kind == "not_found"
    garbled = ticket_status(demo, caller, number="工单12", credit_code=None, settings=settings)
    assert garbled.kind == "error" and "格式不正确" in garbled.error


def test_the_latest_tickets_come_first_up_to_the_limit(demo: sessionmaker, settings: AppealsSettings) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    filed = [
        file_from(demo, settings, "web-1", tengfei, f"a{i}", at=NOW + timedelta(minutes=i)) for i in range(4)
    ]
    with transaction(demo) as session:
        latest = visible_tickets(session, TicketScope(sender_id="web-1"), tengfei, now=NOW, settings=settings)
        elsewhere = visible_tickets(
            session, TicketScope(sender_id="web-1"), enterprise_id(demo, WANXIANG_CODE), settings=settings
        )
    assert [t.number for t in latest] == [t.number for t in reversed(filed)][:3]
    assert elsewhere == []


def test_a_status_question_also_offers_the_rating_that_waits(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    waiting = file_from(demo, settings, "web-1", tengfei, "a1")
    answer(demo, settings, waiting.number, NOW + timedelta(hours=1))
    caller = ChatCaller(sender="web-1", enterprise_id=tengfei, enterprise_name=TENGFEI_NAME)
    reply = ticket_status(demo, caller, number=None, credit_code=None, settings=settings)
    assert reply.kind == "tickets" and reply.to_rate is not None and reply.to_rate.number == waiting.number


# -- rating --------------------------------------------------------------------------------


def test_unsatisfied_reopens_to_the_same_butler_then_escalates_and_satisfied_closes(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    ticket = file_from(demo, settings, "web-1", tengfei, "a1")
    assert ticket.butler_name == "何杰"
    scope = TicketScope(sender_id="web-1")

    def rate(score: str, comment: str, at: datetime) -> Any:
        with transaction(demo) as session:
            return record_rating(
                session,
                scope,
                tengfei,
                number=None,
                score=score,
                comment=comment,
                actor="企业",
                now=at,
                settings=settings,
            )

    answer(demo, settings, ticket.number, NOW + timedelta(hours=1))
    first = rate("不满意", "钱还没到账", NOW + timedelta(hours=2))
    assert first.kind == "rated" and first.outcome is not None
    assert first.outcome.reopened and not first.outcome.escalated
    assert first.ticket is not None and first.ticket.status == "in_progress"
    assert first.ticket.butler_name == "何杰" and first.ticket.reopen_count == 1
    assert "已重新交由管家何杰办理" in first.outcome.message

    answer(demo, settings, ticket.number, NOW + timedelta(hours=3), "已再次协调")
    second = rate("不满意", "还是没解决", NOW + timedelta(hours=4))
    assert second.outcome is not None and second.outcome.escalated
    assert second.ticket is not None and second.ticket.escalation_level == 1
    assert second.ticket.butler_name == "何杰" and second.ticket.reopen_count == 2
    assert "已升级至市商务局杨文博督办" in second.outcome.message

    answer(demo, settings, ticket.number, NOW + timedelta(hours=5), "变压器已增容")
    third = rate("满意", "", NOW + timedelta(hours=6))
    assert third.ticket is not None and third.ticket.status == "closed"
    assert third.outcome is not None and third.outcome.message.startswith("感谢您的评价")
    assert [r.score for r in third.ticket.ratings] == ["不满意", "不满意", "满意"]
    assert rate("满意", "", NOW + timedelta(hours=7)).kind == "none_pending"


def test_rating_someone_elses_ticket_is_refused(demo: sessionmaker, settings: AppealsSettings) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    wanxiang = enterprise_id(demo, WANXIANG_CODE)
    theirs = file_from(demo, settings, "web-colleague-1", tengfei, "a1")
    answer(demo, settings, theirs.number, NOW + timedelta(hours=1))
    # a chat bound to 腾飞 by a typed credit code, and a verified user of 万象
    typed = ChatCaller(sender="web-stranger", enterprise_id=tengfei, enterprise_name=TENGFEI_NAME)
    other = ChatCaller(sender="web-wx", metadata=signed("web-wx", wanxiang))
    for caller in (typed, other):
        turn = rate_from_chat(demo, caller, number=theirs.number, score="满意", comment="", settings=settings)
        assert turn.step is not None and turn.step.kind == "not_found" and not turn.error
        nothing = rate_from_chat(demo, caller, number=None, score="满意", comment="", settings=settings)
        assert nothing.step is not None and nothing.step.kind == "none_pending"
        assert rating_prompt(demo, caller, theirs.number, settings=settings) is None
    unbound = rate_from_chat(
        demo,
        ChatCaller(sender="web-colleague-1"),
        number=theirs.number,
        score="满意",
        comment="",
        settings=settings,
    )
    assert unbound.step is None and unbound.binding.enterprise_id is None
    with transaction(demo) as session:
        still = get_ticket(session, theirs.number, settings=settings)
    assert still is not None and still.status == "answered" and still.ratings == []


def test_a_chat_bound_to_another_enterprise_does_not_reach_the_tickets_it_filed_before(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    wanxiang = enterprise_id(demo, WANXIANG_CODE)
    earlier = file_from(demo, settings, "web-1", wanxiang, "a1")
    answer_as = butler_scope(demo, ZHU)
    with transaction(demo) as session:
        mark_contacted(session, earlier.number, "朱子涵", "电话联系", now=NOW, settings=settings)
        answer_ticket(session, answer_as, earlier.number, "朱子涵", "已办结", now=NOW, settings=settings)
    # the same conversation now files for 腾飞: the 万象 ticket is not 腾飞's to read or rate
    caller = ChatCaller(sender="web-1", enterprise_id=tengfei, enterprise_name=TENGFEI_NAME)
    status = ticket_status(demo, caller, number=earlier.number, credit_code=None, settings=settings)
    assert status.kind == "not_found"
    turn = rate_from_chat(demo, caller, number=earlier.number, score="满意", comment="", settings=settings)
    assert turn.step is not None and turn.step.kind == "not_found"
    as_wanxiang = ChatCaller(sender="web-1", enterprise_id=wanxiang, enterprise_name="万象")
    rated = rate_from_chat(
        demo, as_wanxiang, number=earlier.number, score="满意", comment="", settings=settings
    )
    assert rated.step is not None and rated.step.kind == "rated"


def test_with_several_waiting_the_oldest_answer_is_asked_first(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    filed_first = file_from(demo, settings, "web-1", tengfei, "a1")
    filed_second = file_from(demo, settings, "web-1", tengfei, "a2", at=NOW + timedelta(minutes=5))
    # the second appeal was answered first
    answer(demo, settings, filed_second.number, NOW + timedelta(hours=1))
    answer(demo, settings, filed_first.number, NOW + timedelta(hours=2))
    scope = TicketScope(sender_id="web-1")
    later = NOW + timedelta(hours=3)
    with transaction(demo) as session:
        waiting = tickets_to_rate(session, scope, tengfei, now=later, settings=settings)
        first_asked = next_ticket_to_rate(session, scope, tengfei, now=later, settings=settings)
        asked = record_rating(
            session,
            scope,
            tengfei,
            number=None,
            score=None,
            comment="",
            actor="企业",
            now=later,
            settings=settings,
        )
        which = record_rating(
            session,
            scope,
            tengfei,
            number=None,
            score="满意",
            comment="",
            actor="企业",
            now=later,
            settings=settings,
        )
    assert [t.number for t in waiting] == [filed_second.number, filed_first.number]
    assert first_asked is not None and first_asked.number == filed_second.number
    assert asked.kind == "ask" and asked.number == filed_second.number
    assert which.kind == "choose" and [t.number for t in which.pending] == [t.number for t in waiting]

    caller = ChatCaller(sender="web-1", enterprise_id=tengfei, enterprise_name=TENGFEI_NAME)
    prompt = rating_prompt(demo, caller, filed_second.number, settings=settings)
    assert prompt is not None and prompt.number == filed_second.number
    turn = rate_from_chat(
        demo, caller, number=filed_second.number, score="满意", comment="", settings=settings
    )
    assert turn.step is not None and turn.step.kind == "rated"
    assert turn.to_rate is not None and turn.to_rate.number == filed_first.number
    assert rating_prompt(demo, caller, filed_second.number, settings=settings) is None  # rated already
    last = rate_from_chat(demo, caller, number=None, score="基本满意", comment="", settings=settings)
    assert last.step is not None and last.step.kind == "rated" and last.step.number == filed_first.number
    assert last.to_rate is None


def test_a_verified_colleague_rates_a_ticket_filed_from_another_conversation(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    ticket = file_from(demo, settings, "web-colleague-1", tengfei, "a1")
    answer(demo, settings, ticket.number, NOW + timedelta(hours=1))
    boss = ChatCaller(sender="web-boss", metadata=signed("web-boss", tengfei))
    turn = rate_from_chat(demo, boss, number=None, score="满意", comment="很及时", settings=settings)
    assert turn.step is not None and turn.step.kind == "rated"
    assert turn.step.ticket is not None and turn.step.ticket.status == "closed"
    assert turn.binding.verified and turn.step.ticket.ratings[0].comment == "很及时"
    too_early = file_from(demo, settings, "web-colleague-1", tengfei, "a2")
    early = rate_from_chat(demo, boss, number=too_early.number, score="满意", comment="", settings=settings)
    assert early.step is not None and early.step.kind == "not_awaiting"


# -- answering -----------------------------------------------------------------------------


def test_answering_queues_exactly_one_answered_notice_and_a_retry_none(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    ticket = file_from(demo, settings, "web-1", tengfei, "a1")
    at = NOW + timedelta(hours=1)
    for _ in range(2):  # the butler's double click, or a client retry
        answered = answer(demo, settings, ticket.number, at, "已协调供电局增容")
    assert answered.status == "answered"
    with transaction(demo) as session:
        notices = [n for n in pending_notices(session) if n.kind == "answered"]
    assert len(notices) == 1
    assert notices[0].ticket_number == ticket.number and notices[0].sender_id == "web-1"
    assert notices[0].text == "已协调供电局增容"
    with transaction(demo) as session:
        history = get_ticket(session, ticket.number, settings=settings)
    assert history is not None and [e.kind for e in history.events].count("answer") == 1


def test_a_butler_cannot_answer_another_butlers_ticket(demo: sessionmaker, settings: AppealsSettings) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    ticket = file_from(demo, settings, "web-1", tengfei, "a1")
    with transaction(demo) as session:
        mark_contacted(session, ticket.number, "何杰", "电话联系", now=NOW, settings=settings)
    zhu = butler_scope(demo, ZHU)
    with pytest.raises(NotFound, match="没有找到工单"), transaction(demo) as session:
        answer_ticket(session, zhu, ticket.number, "朱子涵", "已办结", now=NOW, settings=settings)
    with transaction(demo) as session:
        unchanged = get_ticket(session, ticket.number, settings=settings)
        notices = [n.kind for n in pending_notices(session)]
    assert unchanged is not None and unchanged.status == "contacted"
    assert "answered" not in notices


# -- the enterprise's region, for answering from its district's guides -------------------------------


def test_the_region_is_the_verified_enterprises_own(demo: sessionmaker) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    wanxiang = enterprise_id(demo, WANXIANG_CODE)
    with transaction(demo) as session:
        assert enterprise_region(session, VerifiedIdentity("web-boss", tengfei)) == "城东区"
        assert enterprise_region(session, VerifiedIdentity("web-boss", wanxiang)) == "城西区"
        assert enterprise_region(session, VerifiedIdentity("web-visitor", None)) is None
        assert enterprise_region(session, None) is None
        assert enterprise_region(session, VerifiedIdentity("web-boss", 999_999)) is None


def test_only_a_signed_identity_gives_the_chat_a_region(
    demo: sessionmaker, settings: AppealsSettings
) -> None:
    tengfei = enterprise_id(demo, TENGFEI_CODE)
    caller = ChatCaller(sender="web-boss", metadata=signed("web-boss", tengfei))
    assert chat_region(demo, caller, settings=settings) == "城东区"
    forged = ChatCaller(sender="web-boss", metadata=signed("web-boss", tengfei, secret="not-the-secret"))
    assert chat_region(demo, forged, settings=settings) is None
    # what the chat was bound to by a typed name proves nothing about where the enterprise is
    typed = ChatCaller(sender="web-boss", enterprise_id=tengfei, enterprise_name=TENGFEI_NAME)
    assert chat_region(demo, typed, settings=settings) is None


def test_a_database_failure_leaves_the_answer_city_wide(tmp_path: Path, settings: AppealsSettings) -> None:
    empty = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'no-tables.db'}"))
    caller = ChatCaller(sender="web-boss", metadata=signed("web-boss", 1))
    assert chat_region(empty, caller, settings=settings) is None
