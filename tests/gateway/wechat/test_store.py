"""The binding and WeChat tables' use cases on SQLite and PostgreSQL (their inserts use ON CONFLICT DO NOTHING).

The PostgreSQL runs need ``DATABASE_URL_PG`` (``scripts/postgres.sh var/pg``); without it they
are deselected and the summary says so, unless ``REQUIRE_POSTGRES=1``, where they fail.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from appeals.access import TicketScope
from appeals.bindings import BindingLimits, bind_with_code, binding_for, issue_binding_code
from appeals.errors import InvalidInput, NotFound
from appeals.models import Butler, Enterprise
from conversations import service as conversations
from gateway.wechat import store
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.conftest import build_demo_world
from tests.gateway.wechat.conftest import TENGFEI, TENGFEI_CODE
from tests.pg_databases import throwaway_database

NOW = datetime(2026, 11, 30, 2, 0)  # naive UTC, as the tables keep it


@pytest.fixture(params=["sqlite", "postgresql"])
def factory(request: pytest.FixtureRequest, world_template: Path, tmp_path: Path) -> Iterator[sessionmaker]:
    if request.param == "sqlite":
        path = tmp_path / "store.db"
        shutil.copy(world_template, path)
        engine = make_engine(f"sqlite:///{path}")
        yield make_session_factory(engine)
        engine.dispose()
        return
    with throwaway_database("wechat_store") as (_, url):
        build_demo_world(url)
        engine = make_engine(url)
        yield make_session_factory(engine)
        engine.dispose()


def _ids(factory: sessionmaker) -> tuple[int, TicketScope]:
    with factory() as session:
        enterprise = session.execute(select(Enterprise.id).where(Enterprise.name == TENGFEI)).scalar_one()
        hejie = session.execute(select(Butler.id).where(Butler.phone == "13800000016")).scalar_one()
    return enterprise, TicketScope(butler_id=hejie)


def test_a_code_binds_once_and_only_its_enterprise(factory: sessionmaker) -> None:
    enterprise_id, hejie = _ids(factory)
    with transaction(factory) as session:
        issued = issue_binding_code(session, enterprise_id, hejie, "何杰", NOW)
    with transaction(factory) as session:
        outcome = bind_with_code(session, "wechat:aaa", TENGFEI_CODE, issued.code, NOW + timedelta(minutes=5))
    assert outcome.ok and outcome.binding is not None and outcome.binding.enterprise_id == enterprise_id
    with transaction(factory) as session:
        again = bind_with_code(session, "wechat:bbb", TENGFEI_CODE, issued.code, NOW + timedelta(minutes=6))
        assert (again.status, binding_for(session, "wechat:bbb")) == ("refused", None)
        assert binding_for(session, "wechat:aaa") is not None
    with transaction(factory) as session, pytest.raises(NotFound):
        issue_binding_code(session, enterprise_id, TicketScope(butler_id=-1), "别人", NOW)
    with transaction(factory) as session, pytest.raises(InvalidInput):
        bind_with_code(session, "wechat:ccc", "不是信用代码", "123456", NOW)


def test_a_new_code_retires_the_old_one_and_codes_expire(factory: sessionmaker) -> None:
    enterprise_id, hejie = _ids(factory)
    with transaction(factory) as session:
        first = issue_binding_code(session, enterprise_id, hejie, "何杰", NOW)
    with transaction(factory) as session:
        second = issue_binding_code(session, enterprise_id, hejie, "何杰", NOW + timedelta(minutes=1))
    later = NOW + timedelta(minutes=2)
    if first.code != second.code:
        with transaction(factory) as session:
            assert bind_with_code(session, "wechat:a", TENGFEI_CODE, first.code, later).status == "refused"
    with transaction(factory) as session:
        expired = bind_with_code(session, "wechat:b", TENGFEI_CODE, second.code, NOW + timedelta(minutes=40))
    assert expired.status == "refused" and "过期" in expired.message


def test_failed_tries_are_counted_per_subject_and_per_enterprise(factory: sessionmaker) -> None:
    enterprise_id, hejie = _ids(factory)
    limits = BindingLimits(max_attempts=3, window=timedelta(minutes=15))
    with transaction(factory) as session:
        issued = issue_binding_code(session, enterprise_id, hejie, "何杰", NOW)
    wrong = "000000" if issued.code != "000000" else "111111"
    for minute in range(3):
        with transaction(factory) as session:
            at = NOW + timedelta(minutes=minute)
            assert bind_with_code(session, "wechat:x", TENGFEI_CODE, wrong, at, limits).status == "refused"
    with transaction(factory) as session:
        limited = bind_with_code(
            session, "wechat:y", TENGFEI_CODE, issued.code, NOW + timedelta(minutes=4), limits
        )
    assert limited.status == "rate_limited" and limited.retry_after > 0
    with transaction(factory) as session:
        later = NOW + timedelta(minutes=16)
        assert bind_with_code(session, "wechat:y", TENGFEI_CODE, issued.code, later, limits).ok


def test_users_pushes_and_the_delivery_cursor(factory: sessionmaker) -> None:
    key = store.openid_key("wx-app", "o-user")
    assert key == store.openid_key("wx-app", "o-user") != store.openid_key("wx-other", "o-user")
    with transaction(factory) as session:
        store.ensure_user(session, "o-user", key, NOW)
        store.ensure_user(session, "o-user", key, NOW)  # a race or a second log-in: still one row
        assert store.remember_push(session, "msg:1", NOW) is True
        assert store.remember_push(session, "msg:1", NOW) is False
        assert store.openid_for_key(session, key) == "o-user"
        store.open_window(session, key, 5, NOW + timedelta(hours=48), NOW)
        conversations.get_or_open(session, store.push_sender(key), store.PUSH_CHANNEL, now=NOW)
        conversations.record_enterprise_message(session, store.push_sender(key), "m1", "你好", now=NOW)
    with transaction(factory) as session:
        assert store.pending_keys(session) == [key]
        state = store.delivery_state(session, key, NOW)
        assert state is not None and (state.remaining, state.last_delivered_seq) == (5, 0)
        store.record_delivery(session, key, NOW, up_to_seq=1, sent=2, choices=(1, 1))
    with transaction(factory) as session:
        state = store.delivery_state(session, key, NOW)
        assert state is not None and (state.remaining, state.last_delivered_seq, state.choices) == (
            3,
            1,
            (1, 1),
        )
        assert store.pending_keys(session) == []
        assert store.delivery_state(session, key, NOW + timedelta(hours=49)).remaining == 0  # type: ignore[union-attr]
    assert store.key_of_sender(store.push_sender(key)) == key == store.key_of_sender(store.app_sender(key))
    assert store.key_of_sender("web-123") is None
