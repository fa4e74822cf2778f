"""Only an identity the gateway signed for this very conversation, recently, is believed."""

from __future__ import annotations

from typing import Any

import pytest

from appeals.chat import identity_from_metadata
from appeals.identity import VerifiedIdentity, sign_identity, verify_identity
from appeals.settings import AppealsSettings

SECRET = "s3cret-for-tests"
NOW = 1_800_000_000


def test_a_good_identity_is_verified() -> None:
    claimed = sign_identity(SECRET, "web-abc", 42, NOW - 10)
    assert verify_identity(SECRET, claimed, "web-abc", NOW) == VerifiedIdentity("web-abc", 42)


def test_a_visitor_without_an_enterprise_is_verified_without_one() -> None:
    claimed = sign_identity(SECRET, "web-visitor", None, NOW)
    assert verify_identity(SECRET, claimed, "web-visitor", NOW) == VerifiedIdentity("web-visitor", None)


def test_the_wrong_secret_is_refused() -> None:
    claimed = sign_identity("another-secret", "web-abc", 42, NOW)
    assert verify_identity(SECRET, claimed, "web-abc", NOW) is None


def test_an_identity_signed_for_another_sender_is_refused() -> None:
    claimed = sign_identity(SECRET, "web-abc", 42, NOW)
    assert verify_identity(SECRET, claimed, "web-intruder", NOW) is None


@pytest.mark.parametrize("age", [301, 3600, -3600])
def test_a_stale_or_future_identity_is_refused(age: int) -> None:
    claimed = sign_identity(SECRET, "web-abc", 42, NOW - age)
    assert verify_identity(SECRET, claimed, "web-abc", NOW) is None


def test_max_age_is_configurable() -> None:
    claimed = sign_identity(SECRET, "web-abc", 42, NOW - 500)
    assert verify_identity(SECRET, claimed, "web-abc", NOW, max_age=600) is not None
    assert verify_identity(SECRET, claimed, "web-abc", NOW, max_age=300) is None


@pytest.mark.parametrize(
    "change",
    [{"enterprise_id": 43}, {"enterprise_id": None}, {"issued_at": NOW - 1}, {"sender": "web-abd"}],
)
def test_a_tampered_identity_is_refused(change: dict[str, Any]) -> None:
    claimed = {**sign_identity(SECRET, "web-abc", 42, NOW), **change}
    assert verify_identity(SECRET, claimed, claimed["sender"], NOW) is None


@pytest.mark.parametrize(
    "claimed",
    [
        None,
        "web-abc",
        [],
        {},
        {"sender": "web-abc", "enterprise_id": 42, "issued_at": NOW},
        {"sender": "web-abc", "enterprise_id": "42", "issued_at": NOW, "signature": "x"},
        {"sender": "web-abc", "enterprise_id": True, "issued_at": NOW, "signature": "x"},
        {"sender": "web-abc", "enterprise_id": 42, "issued_at": str(NOW), "signature": "x"},
        {"sender": 7, "enterprise_id": 42, "issued_at": NOW, "signature": "x"},
        {"sender": "web-abc", "enterprise_id": 42, "issued_at": NOW, "signature": "无效的签名"},
    ],
)
def test_malformed_identities_are_refused(claimed: Any) -> None:
    assert verify_identity(SECRET, claimed, "web-abc", NOW) is None


def test_without_a_secret_nobody_is_verified() -> None:
    claimed = sign_identity(SECRET, "web-abc", 42, NOW)
    assert verify_identity("", claimed, "web-abc", NOW) is None
    with pytest.raises(ValueError):
        sign_identity("", "web-abc", 42, NOW)


def test_the_chat_reads_only_the_identity_key_of_the_metadata() -> None:
    settings = AppealsSettings(database_url="sqlite://", identity_secret=SECRET)
    signed = {"identity": sign_identity(SECRET, "web-abc", 42, NOW)}
    assert identity_from_metadata(signed, "web-abc", settings, now=NOW) == VerifiedIdentity("web-abc", 42)
    assert (
        identity_from_metadata(
            {"credit_code": "91990102A5NNL98XUY", "enterprise_id": 42}, "web-abc", settings, now=NOW
        )
        is None
    )
    assert identity_from_metadata(None, "web-abc", settings, now=NOW) is None


def test_the_secret_and_max_age_come_from_the_environment() -> None:
    settings = AppealsSettings.from_env(
        {"DATABASE_URL": "sqlite://", "IDENTITY_SECRET": SECRET, "APPEALS_IDENTITY_MAX_AGE": "60"}
    )
    assert settings.identity_secret == SECRET and settings.identity_max_age == 60
    assert SECRET not in repr(settings)
    defaults = AppealsSettings.from_env({"DATABASE_URL": "sqlite://"})
    assert defaults.identity_secret == "" and defaults.identity_max_age == 300
