"""The service API the chat uses: filing, status, answering, rating, re-opening, escalating."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from appeals import service
from appeals.credit_code import make_credit_code
from appeals.errors import AmbiguousEnterprise, InvalidInput, NotFound, StorageUnavailable
from appeals.models import HolidayOverride, Rating, Ticket, TicketEvent
from appeals.settings import AppealsSettings
from appeals.views import TicketCreate, TicketPublic, receipt_text, status_text
from appeals.workcalendar import DEFAULT_TZ, WorkCalendar
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction

TZ = DEFAULT_TZ
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=TZ)  # Monday


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=TZ)  # type: ignore[misc]


def test_a_filed_ticket_gets_a_number_its_butler_and_three_concrete_deadlines(
    file_ticket: Callable[..., TicketPublic], world: Any
) -> None:
    first = file_ticket()
    second = file_ticket()
    assert (first.number, second.number) == ("GD202503030001", "GD202503030002")
    assert (first.butler_name, first.butler_phone) == ("张三", "13800000001")
    assert first.status == "submitted" and first.status_label == "已受理"
    # Monday 10:00: contact by 12:00, preliminary answer by Tuesday 17:30, resolved by Monday 17 March 17:30
    assert first.contact_due == _at(2025, 3, 3, 12, 0)
    assert first.answer_due == _at(2025, 3, 4, 17, 30)
    assert first.resolve_due == _at(2025, 3, 17, 17, 30)
    text = receipt_text(first)
    for part in (
        "GD202503030001",
        "张三",
        "13800000001",
        "2025年3月3日（周一）12:00",
        "2025年3月17日（周一）17:30",
    ):
        assert part in text


def test_deadlines_skip_the_national_day_holiday_like_the_work_calendar(
    file_ticket: Callable[..., TicketPublic],
) -> None:
    filed = _at(2025, 9, 30, 15, 0)
    ticket = file_ticket(now=filed)
    calendar = WorkCalendar()
    assert ticket.contact_due == calendar.add_working_hours(filed, 2) == _at(2025, 9, 30, 17, 0)
    assert ticket.answer_due == calendar.add_working_days(filed, 1) == _at(2025, 10, 9, 17, 30)
    # 10 working days after the holiday include the adjusted working Saturday, 11 October
    assert ticket.resolve_due == calendar.add_working_days(filed, 10) == _at(2025, 10, 21, 17, 30)
    assert ticket.number.startswith("GD20250930")


def test_an_administrator_holiday_moves_the_deadline(
    db_factory: sessionmaker, file_ticket: Callable[..., TicketPublic]
) -> None:
    with db_factory.begin() as session:
        session.add(HolidayOverride(day=date(2025, 3, 4), is_working_day=False, name="地方停工日"))
    ticket = file_ticket()
    assert ticket.answer_due == _at(2025, 3, 5, 17, 30)


def test_the_same_submission_retried_creates_one_ticket(
    db_factory: sessionmaker, file_ticket: Callable[..., TicketPublic]
) -> None:
    first = file_ticket(key="wechat:u1:msg-42")
    again = file_ticket(key="wechat:u1:msg-42", now=NOW + timedelta(minutes=3))
    assert again.number == first.number
    assert again.created_at == first.created_at
    with db_factory() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 1
        kinds = session.execute(select(TicketEvent.kind).order_by(TicketEvent.id)).scalars().all()
    assert kinds == ["create", "route"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"contact_phone": "1380000"}, "手机号码应为11位"),
        ({"category": "吃饭"}, "诉求类别「吃饭」无法识别"),
        ({"description": "   "}, "请描述您遇到的问题"),
        ({"contact_name": ""}, "请提供联系人姓名"),
        ({"urgency": "特急"}, "紧急程度"),
        ({"enterprise_id": None, "credit_code": "91990102000000001X"}, "校验位不正确"),
        (
            {"enterprise_id": None, "credit_code": make_credit_code("91990102999999999")},
            "未登记在企业管家名录中",
        ),
        ({"enterprise_id": 999999}, "没有找到该企业"),
    ],
)
def test_bad_input_is_refused_with_a_chinese_message_and_nothing_is_filed(
    db_factory: sessionmaker, world: Any, settings: AppealsSettings, change: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "idempotency_key": "k-bad",
        "enterprise_id": world.enterprise_id,
        "category": "用地",
        "description": "用地问题",
        "contact_name": "王经理",
        "contact_phone": "13900000001",
    }
    fields.update(change)
    with pytest.raises((InvalidInput, NotFound), match=message):
        service.create_ticket(db_factory, TicketCreate(**fields), now=NOW, settings=settings)  # type: ignore[arg-type]
    with db_factory() as session:
        assert session.execute(select(func.count(Ticket.id))).scalar_one() == 0


def test_filing_by_credit_code_and_landline(
    db_factory: sessionmaker, world: Any, settings: AppealsSettings
) -> None:
    ticket = service.create_ticket(
        db_factory,
        TicketCreate(
            idempotency_key="k-code",
            credit_code=" " + world.enterprise_code.lower() + " ",
            category="融资",
            description="续贷需要担保",
            contact_name="李会计",
            contact_phone="0571-88886666",
        ),
        now=NOW,
        settings=settings,
    )
    assert ticket.enterprise_id == world.enterprise_id
    assert ticket.contact_phone == "0571-88886666"


def test_a_broken_database_gives_a_clear_message(
    tmp_path: object, world: Any, settings: AppealsSettings
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")  # no tables: every statement fails
    factory = make_session_factory(engine)
    with pytest.raises(StorageUnavailable, match="诉求暂未提交成功"):
        service.create_ticket(
            factory,
            TicketCreate(
                idempotency_key="k",
                enterprise_id=1,
                category="用地",
                description="x",
                contact_name="王",
                contact_phone="13900000001",
            ),
            settings=settings,
        )
    engine.dispose()


def test_status_is_shown_only_to_the_enterprise_that_filed(
    db_factory: sessionmaker, world: Any, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    mine = file_ticket()
    theirs = file_ticket(enterprise_id=world.other_enterprise_id)
    with db_factory() as session:
        own = service.tickets_for_enterprise(session, world.enterprise_id, now=NOW, settings=settings)
        assert [t.number for t in own] == [mine.number]
        assert service.get_ticket(session, theirs.number, world.enterprise_id, settings=settings) is None
        shown = service.get_ticket(
            session, mine.number.lower(), world.enterprise_id, now=NOW, settings=settings
        )
    assert shown is not None
    assert shown.current_deadline is not None and shown.current_deadline.key == "contact"
    assert [e.kind for e in shown.events] == ["create", "route"]
    summary = status_text(shown)
    assert mine.number in summary and "已受理" in summary and "张三" in summary
    with db_factory() as session, pytest.raises(InvalidInput, match="工单号"):
        service.get_ticket(session, "查询", settings=settings)


def _answer(factory: sessionmaker, number: str, settings: AppealsSettings, at: datetime) -> TicketPublic:
    with transaction(factory) as session:
        service.record_butler_reply(session, number, "管家:张三", "已与规划局沟通", now=at, settings=settings)
        return service.mark_answered(
            session, number, "管家:张三", "规划许可已核发", now=at, settings=settings
        )


def test_answered_ticket_is_rated_and_closed(
    db_factory: sessionmaker, world: Any, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    number = file_ticket().number
    answered = _answer(db_factory, number, settings, NOW + timedelta(hours=1))
    assert answered.status == "answered" and answered.awaiting_rating
    assert [d.light for d in answered.deadlines] == ["green", "green", "green"]
    assert answered.current_deadline is None
    with db_factory() as session:
        waiting = service.tickets_awaiting_rating(session, world.enterprise_id, settings=settings)
    assert [t.number for t in waiting] == [number]
    with transaction(db_factory) as session:
        outcome = service.rate_ticket(
            session,
            number,
            "满意",
            "办事很快",
            "企业:u1",
            enterprise_id=world.enterprise_id,
            settings=settings,
        )
    assert outcome.ticket.status == "closed" and not outcome.reopened
    assert "已办结" in outcome.message
    assert [(r.round, r.score, r.comment) for r in outcome.ticket.ratings] == [(1, "满意", "办事很快")]
    with db_factory() as session:
        assert service.tickets_awaiting_rating(session, world.enterprise_id, settings=settings) == []


def test_unsatisfied_reopens_to_the_same_butler_then_escalates_to_the_department_head(
    db_factory: sessionmaker, world: Any, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    number = file_ticket().number
    _answer(db_factory, number, settings, NOW + timedelta(hours=1))
    rated_at = _at(2025, 3, 5, 9, 0)  # Wednesday
    with transaction(db_factory) as session:
        first = service.rate_ticket(
            session, number, "不满意", "许可证内容有误", "企业:u1", now=rated_at, settings=settings
        )
    ticket = first.ticket
    assert first.reopened and not first.escalated
    assert ticket.status == "in_progress" and ticket.reopen_count == 1
    assert ticket.butler_name == "张三"
    calendar = WorkCalendar()
    assert ticket.contact_due == calendar.add_working_hours(rated_at, 2) == _at(2025, 3, 5, 11, 0)
    assert ticket.resolve_due == calendar.add_working_days(rated_at, 10) == _at(2025, 3, 18, 17, 30)
    assert [d.done_at for d in ticket.deadlines] == [None, None, None]
    assert ticket.escalation_level == 0
    assert "张三" in first.message

    _answer(db_factory, number, settings, rated_at + timedelta(hours=2))
    with transaction(db_factory) as session:
        second = service.rate_ticket(
            session,
            number,
            "不满意",
            "还是不行",
            "企业:u1",
            now=rated_at + timedelta(days=1),
            settings=settings,
        )
    assert second.escalated and second.ticket.reopen_count == 2
    assert second.ticket.escalation_level == 1
    assert second.ticket.escalation_label == "已升级至部门负责人"
    assert second.ticket.butler_name == "张三"
    escalations = [e for e in second.ticket.events if e.kind == "escalate"]
    assert len(escalations) == 1
    assert "市工信局负责人林磊" in escalations[0].note
    assert "市工信局林磊督办" in second.message
    assert [r.round for r in second.ticket.ratings] == [1, 2]


def test_a_retried_rating_is_recorded_once(
    db_factory: sessionmaker, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    number = file_ticket().number
    _answer(db_factory, number, settings, NOW + timedelta(hours=1))
    for _ in range(2):
        with transaction(db_factory) as session:
            outcome = service.rate_ticket(session, number, "不满意", "没解决", "企业:u1", settings=settings)
    assert outcome.replayed and outcome.reopened
    with db_factory() as session:
        assert session.execute(select(func.count(Rating.id))).scalar_one() == 1
        assert session.execute(select(Ticket.reopen_count)).scalar_one() == 1


def test_a_retried_butler_reply_is_recorded_once(
    db_factory: sessionmaker, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    number = file_ticket().number
    for _ in range(2):
        with transaction(db_factory) as session:
            ticket = service.record_butler_reply(
                session, number, "管家:张三", "收到，今天下午上门", now=NOW, settings=settings
            )
    assert [e.kind for e in ticket.events] == ["create", "route", "reply"]


def test_another_enterprise_cannot_rate(
    db_factory: sessionmaker, world: Any, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    number = file_ticket().number
    _answer(db_factory, number, settings, NOW)
    with transaction(db_factory) as session, pytest.raises(NotFound):
        service.rate_ticket(
            session, number, "满意", "", "企业:u2", enterprise_id=world.other_enterprise_id, settings=settings
        )
    with (
        transaction(db_factory) as session,
        pytest.raises(InvalidInput, match="满意、基本满意、不满意"),
    ):
        service.rate_ticket(session, number, "一般", "", "企业:u1", settings=settings)


def test_traffic_lights_turn_yellow_then_red(
    db_factory: sessionmaker, file_ticket: Callable[..., TicketPublic], settings: AppealsSettings
) -> None:
    number = file_ticket().number  # contact due 12:00 after 2 working hours from 10:00

    def lights(at: datetime) -> list[str]:
        with db_factory() as session:
            ticket = service.get_ticket(session, number, now=at, settings=settings)
        assert ticket is not None
        return [d.light for d in ticket.deadlines]

    assert lights(_at(2025, 3, 3, 11, 0)) == ["green", "green", "green"]
    assert lights(_at(2025, 3, 3, 11, 40)) == ["yellow", "green", "green"]  # 20 of 120 minutes left
    assert lights(_at(2025, 3, 3, 12, 1)) == ["red", "green", "green"]
    assert lights(_at(2025, 3, 4, 16, 0)) == ["red", "yellow", "green"]
    with transaction(db_factory) as session:
        late = service.mark_contacted(
            session, number, "管家:张三", "", now=_at(2025, 3, 3, 13, 40), settings=settings
        )
    contact = late.deadlines[0]
    assert (contact.light, contact.light_label) == ("red", "超时完成")


def test_find_enterprise_by_code_name_and_part_of_a_name(
    db_factory: sessionmaker, world: Any, build: Callable[..., Any]
) -> None:
    with build() as reg:
        reg.enterprise("示例市宏达物流有限公司")
    with db_factory() as session:
        by_code = service.find_enterprise(session, world.enterprise_code)
        assert by_code is not None and by_code.name == "示例市宏达机械制造有限公司"
        assert by_code.butler_name == "张三"
        exact = service.find_enterprise(session, "示例市恒信商贸有限公司")
        assert exact is not None and exact.id == world.other_enterprise_id
        part = service.find_enterprise(session, "宏达机械")
        assert part is not None and part.id == world.enterprise_id
        assert service.find_enterprise(session, "不存在的公司") is None
        with pytest.raises(AmbiguousEnterprise) as caught:
            service.find_enterprise(session, "宏达")
        assert set(caught.value.candidates) == {"示例市宏达机械制造有限公司", "示例市宏达物流有限公司"}
        with pytest.raises(InvalidInput, match="校验位不正确"):
            service.find_enterprise(
                session, world.enterprise_code[:17] + ("0" if world.enterprise_code[17] != "0" else "1")
            )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("厂区停电三天了，变压器需要增容", "用电用水用气"),
        ("新厂房的用地手续卡在规划许可", "用地"),
        ("银行续贷需要担保，资金周转困难", "融资"),
        ("国企拖欠我们工程款半年", "拖欠账款"),
        ("去年的技改补贴还没兑现", "政策兑现"),
        ("一个月来了五拨检查，多头检查", "执法检查"),
        ("招工难，缺工两百人", "用工"),
        ("营业执照变更审批要跑好几趟", "审批服务"),
        ("想咨询一下", None),
    ],
)
def test_infer_category(text: str, expected: str | None) -> None:
    assert service.infer_category(text) == expected


@pytest.mark.parametrize(
    ("text", "result"),
    [
        ("13800001234", "13800001234"),
        ("+86 138 0000 1234", "13800001234"),
        ("１３８００００１２３４", "13800001234"),
    ],
)
def test_validate_mobile_accepts_what_people_type(text: str, result: str) -> None:
    assert service.validate_mobile(text) == result


@pytest.mark.parametrize(
    ("text", "message"), [("", "请输入手机号码"), ("1380000123", "11位"), ("23800001234", "13至19")]
)
def test_validate_mobile_explains_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        service.validate_mobile(text)


def test_phone_numbers_are_masked_for_logs() -> None:
    assert service.mask_phone("13812341234") == "138****1234"
