"""Log-in sessions, the log-in rate limit and the audit log."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from accounts import (
    AccountsSettings,
    check_login_allowed,
    create_user,
    csrf_matches,
    disable_user,
    end_session,
    list_audit,
    log_in,
    record_audit,
    record_login_failure,
    session_for_token,
    start_session,
    user_for_session,
)
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.accounts.conftest import NOW, PASSWORD


def _admin(factory: sessionmaker) -> int:
    with transaction(factory) as session:
        return create_user(session, "admin", PASSWORD, "admin").id


def test_only_the_token_hash_is_stored_and_the_session_finds_its_user(factory: sessionmaker) -> None:
    user_id = _admin(factory)
    with transaction(factory) as session:
        token, csrf = start_session(session, user_id, NOW)
    assert len(token) >= 43 and len(csrf) >= 43 and token != csrf
    with factory() as session:
        dump = " ".join(
            str(value) for row in session.execute(text("SELECT * FROM login_session")).all() for value in row
        )
    assert token not in dump
    import hashlib

    assert hashlib.sha256(token.encode()).hexdigest() in dump
    with transaction(factory) as session:
        found = session_for_token(session, token, NOW + timedelta(hours=1))
        assert found is not None and found.user.username == "admin"
        assert csrf_matches(found.csrf_token, csrf)
        assert not csrf_matches(found.csrf_token, csrf[:-1] + "x")
        assert not csrf_matches(found.csrf_token, None)
        assert user_for_session(session, "forged-" + token, NOW) is None
        assert user_for_session(session, "", NOW) is None


def test_a_session_ends_when_it_expires_logs_out_or_its_user_is_disabled(factory: sessionmaker) -> None:
    user_id = _admin(factory)
    with transaction(factory) as session:
        token, _ = start_session(session, user_id, NOW, ttl=timedelta(hours=12))
        other, _ = start_session(session, user_id, NOW)
        third, _ = start_session(session, user_id, NOW)
    with transaction(factory) as session:
        assert user_for_session(session, token, NOW + timedelta(hours=11, minutes=59)) is not None
        assert user_for_session(session, token, NOW + timedelta(hours=12)) is None
        assert end_session(session, other) is True
        assert end_session(session, other) is False
        assert user_for_session(session, other, NOW) is None
        assert user_for_session(session, third, NOW) is not None
    with transaction(factory) as session:
        disable_user(session, "admin")
    with factory() as session:
        assert user_for_session(session, third, NOW) is None


def test_last_seen_slides_forward(factory: sessionmaker) -> None:
    user_id = _admin(factory)
    with transaction(factory) as session:
        token, _ = start_session(session, user_id, NOW)
    with transaction(factory) as session:
        user_for_session(session, token, NOW + timedelta(minutes=30))
    with factory() as session:
        seen = session.execute(text("SELECT last_seen_at FROM login_session")).scalar_one()
    assert str(seen).startswith("2025-03-03 02:30")


def test_five_failures_lock_the_name_for_the_window_even_with_the_right_password(
    factory: sessionmaker, db_url: str
) -> None:
    _admin(factory)
    for n in range(5):
        with transaction(factory) as session:
            outcome = log_in(session, "admin", f"guess-{n}-wrong", "10.0.0.9", NOW + timedelta(seconds=n))
        assert outcome.status == "invalid" and outcome.user is None and outcome.token == ""
    # a restart (a new engine on the same file) does not forget the failures
    engine = make_engine(db_url)
    restarted = make_session_factory(engine)
    with transaction(restarted) as session:
        assert not check_login_allowed(session, "admin", "10.0.0.9", NOW + timedelta(minutes=1))
        refused = log_in(session, "admin", PASSWORD, "10.0.0.9", NOW + timedelta(minutes=1))
        assert refused.status == "rate_limited" and refused.token == ""
        assert 0 < refused.retry_after <= 15 * 60
        # another client is not punished for this one's guesses
        assert check_login_allowed(session, "admin", "10.0.0.10", NOW + timedelta(minutes=1))
    with transaction(restarted) as session:
        later = log_in(session, "admin", PASSWORD, "10.0.0.9", NOW + timedelta(minutes=16))
    assert later.ok and later.user is not None and later.token and later.csrf_token
    with factory() as session:
        assert user_for_session(session, later.token, NOW + timedelta(minutes=17)) == later.user
    engine.dispose()


def test_four_failures_then_success_resets_the_count(factory: sessionmaker) -> None:
    _admin(factory)
    with transaction(factory) as session:
        for n in range(4):
            record_login_failure(session, "admin", "c1", NOW + timedelta(seconds=n))
        assert check_login_allowed(session, "admin", "c1", NOW + timedelta(seconds=10))
        assert log_in(session, "admin", PASSWORD, "c1", NOW + timedelta(seconds=10)).ok
        record_login_failure(session, "admin", "c1", NOW + timedelta(seconds=20))
        assert check_login_allowed(session, "admin", "c1", NOW + timedelta(seconds=30))


def test_the_limit_is_configurable(factory: sessionmaker) -> None:
    settings = AccountsSettings.from_env(
        {"ACCOUNTS_LOGIN_MAX_FAILURES": "2", "ACCOUNTS_LOGIN_WINDOW_MINUTES": "1"}
    )
    assert settings.login_max_failures == 2 and settings.login_window == timedelta(minutes=1)
    with transaction(factory) as session:
        record_login_failure(session, "admin", "c1", NOW)
        record_login_failure(session, "admin", "c1", NOW)
        assert not check_login_allowed(session, "admin", "c1", NOW, settings)
        assert check_login_allowed(session, "admin", "c1", NOW + timedelta(minutes=1, seconds=1), settings)


def test_log_ins_and_actions_are_in_the_audit_log(factory: sessionmaker) -> None:
    with transaction(factory) as session:
        head = create_user(session, "linlei", PASSWORD, "head", department="市工信局", display_name="林磊")
        create_user(session, "hejie", PASSWORD, "butler", butler_phone="13800000016")
    with transaction(factory) as session:
        log_in(session, "linlei", "wrong password", "c1", NOW)
        log_in(session, "linlei", PASSWORD, "c1", NOW + timedelta(seconds=5))
        record_audit(session, head, "conversation_transfer", "conversation:7", "转交给刘晓东", now=NOW)
        record_audit(session, "系统", "conversation_hand_back", "conversation:8", "管家超时未回复，自动交还")
    with factory() as session:
        entries = list_audit(session, 10)
        mine = list_audit(session, 10, department_id=head.department_id)
        transfers = list_audit(session, 10, action="conversation_transfer")
    assert [e.action for e in entries] == [
        "conversation_hand_back",
        "conversation_transfer",
        "login",
        "login_failed",
    ]
    assert entries[1].actor == "林磊（linlei）" and entries[1].target == "conversation:7"
    assert entries[1].created_at == NOW
    assert entries[3].actor == "linlei" and PASSWORD not in entries[3].detail
    assert [e.action for e in mine] == ["conversation_transfer", "login"]
    assert [e.target for e in transfers] == ["conversation:7"]
