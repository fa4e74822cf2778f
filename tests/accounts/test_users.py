"""Accounts: argon2 hashes, no default user, the registry decides who may be a butler or a head."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import sessionmaker

from accounts import (
    AccountError,
    actor_for,
    authenticate,
    conversation_scope,
    count_users,
    create_user,
    disable_user,
    list_users,
    set_password,
    ticket_scope,
)
from accounts.models import User
from appeals.access import TicketScope
from appeals.models import Butler, Department
from conversations import ConversationScope
from storage.transaction import transaction
from tests.accounts.conftest import PASSWORD


def _butler(factory: sessionmaker, phone: str) -> Butler:
    with factory() as session:
        return session.execute(select(Butler).where(Butler.phone == phone)).scalar_one()


def test_a_fresh_install_has_no_account_at_all(factory: sessionmaker) -> None:
    with factory() as session:
        assert count_users(session) == 0
        assert list_users(session) == []
        assert authenticate(session, "admin", "admin") is None
        assert authenticate(session, "admin", "") is None


def test_the_password_is_stored_as_an_argon2_hash_and_checked(factory: sessionmaker) -> None:
    with transaction(factory) as session:
        user = create_user(session, "HeJie", PASSWORD, "butler", butler_phone="138 0000 0016")
    assert (user.username, user.display_name, user.role) == ("hejie", "何杰", "butler")
    hejie = _butler(factory, "13800000016")
    assert user.butler_id == hejie.id and user.department_id == hejie.department_id
    assert not hasattr(user, "password_hash")
    with factory() as session:
        stored = session.execute(text("SELECT password_hash FROM console_user")).scalar_one()
        assert stored.startswith("$argon2id$") and PASSWORD not in stored
        assert authenticate(session, "hejie", PASSWORD) == user
        assert authenticate(session, " HEJIE ", PASSWORD) == user  # the name as people type it
        assert authenticate(session, "hejie", PASSWORD + "x") is None
        assert authenticate(session, "hejie", PASSWORD.upper()) is None
        assert authenticate(session, "nobody", PASSWORD) is None


def test_a_hash_with_old_parameters_is_upgraded_on_log_in(factory: sessionmaker) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with transaction(factory) as session:
        create_user(session, "admin", PASSWORD, "admin")
        session.execute(text("UPDATE console_user SET password_hash = :h"), {"h": weak})
    with transaction(factory) as session:
        assert authenticate(session, "admin", PASSWORD) is not None
    with factory() as session:
        upgraded = session.execute(select(User.password_hash)).scalar_one()
    assert upgraded != weak and upgraded.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"password": "short7!"}, "密码至少需要8个字符"),
        ({"password": "        "}, "密码不能全是空格"),
        ({"role": "root"}, "角色必须是 butler（企业管家）、head（部门负责人）或 admin（管理员）"),
        ({"butler_phone": None}, "企业管家账号需要用 --butler-phone 指定名册中的管家手机号"),
        (
            {"butler_phone": "13912345678"},
            "没有手机号为 13912345678 的管家，请先导入管家名册（butler registry import）",
        ),
        ({"username": "两 个字"}, "用户名不能包含空格或控制字符"),
        ({"username": "  "}, "用户名不能为空"),
        (
            {"role": "head", "butler_phone": None},
            "部门负责人账号需要用 --department 指定单位名称（或用 --butler-phone 指定其管家身份）",
        ),
        (
            {"role": "head", "butler_phone": None, "department": "市财政局"},
            "单位「市财政局」不存在，请先导入单位名单（butler registry departments）",
        ),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(factory: sessionmaker, kwargs: dict, message: str) -> None:
    args = {"username": "hejie", "password": PASSWORD, "role": "butler", "butler_phone": "13800000016"}
    args.update(kwargs)
    with pytest.raises(AccountError) as caught, transaction(factory) as session:
        create_user(session, **args)
    assert str(caught.value) == message
    with factory() as session:
        assert count_users(session) == 0


def test_names_and_butlers_are_not_given_twice(factory: sessionmaker) -> None:
    with transaction(factory) as session:
        create_user(session, "hejie", PASSWORD, "butler", butler_phone="13800000016")
    with pytest.raises(AccountError) as same_name, transaction(factory) as session:
        create_user(session, "HEJIE", PASSWORD, "admin")
    assert str(same_name.value) == "用户名「hejie」已存在"
    with pytest.raises(AccountError) as same_butler, transaction(factory) as session:
        create_user(session, "he2", PASSWORD, "butler", butler_phone="13800000016")
    assert str(same_butler.value) == "管家何杰已有账号「hejie」"


def test_a_head_leads_a_named_department_or_the_butlers_own(factory: sessionmaker) -> None:
    with transaction(factory) as session:
        named = create_user(session, "linlei", PASSWORD, "head", department="市工信局", display_name="林磊")
        derived = create_user(session, "liu", PASSWORD, "head", butler_phone="13800000013")
        industry = session.execute(select(Department.id).where(Department.name == "市工信局")).scalar_one()
    assert named.department_id == industry and named.butler_id is None and named.display_name == "林磊"
    assert derived.department_id == industry and derived.butler_id is not None


def test_scopes_and_actor_follow_the_role(factory: sessionmaker) -> None:
    with transaction(factory) as session:
        butler = create_user(session, "hejie", PASSWORD, "butler", butler_phone="13800000016")
        head = create_user(session, "linlei", PASSWORD, "head", department="市工信局")
        admin = create_user(session, "admin", PASSWORD, "admin")
    assert ticket_scope(butler) == TicketScope(butler_id=butler.butler_id)
    assert conversation_scope(butler) == ConversationScope(butler_id=butler.butler_id)
    assert ticket_scope(head) == TicketScope(department_id=head.department_id)
    assert conversation_scope(head) == ConversationScope(department_id=head.department_id)
    assert ticket_scope(admin) == TicketScope(everything=True)
    assert conversation_scope(admin) == ConversationScope(everything=True)
    actor = actor_for(butler)
    assert (actor.butler_id, actor.name, actor.role) == (butler.butler_id, "何杰", "butler")
    with transaction(factory) as session:
        disabled = disable_user(session, "hejie")
    assert ticket_scope(disabled).empty and conversation_scope(disabled).is_empty


def test_a_disabled_account_and_an_old_password_stop_working(factory: sessionmaker) -> None:
    with transaction(factory) as session:
        create_user(session, "admin", PASSWORD, "admin")
        create_user(session, "ops", PASSWORD, "admin")
    with transaction(factory) as session:
        set_password(session, "admin", "a new passphrase")
        disable_user(session, "ops")
    with factory() as session:
        assert authenticate(session, "admin", PASSWORD) is None
        assert authenticate(session, "admin", "a new passphrase") is not None
        assert authenticate(session, "ops", PASSWORD) is None
        assert count_users(session) == 1
