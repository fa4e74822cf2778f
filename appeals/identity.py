"""Who is writing: the identity the gateway signs and the chat actions verify.

Credit codes are printed on every business licence, so a client that *says*
which enterprise it is proves nothing. Only the gateway, which authenticated the
user, knows; it signs ``(sender, enterprise_id, issued_at)`` with a secret shared
with the actions (HMAC-SHA256) and puts the result in the message metadata as
``metadata["identity"]``. The actions accept an identity only when the signature
is right, it names this very conversation, and it is fresh; everything else is
treated as no identity at all.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_MAX_AGE = 300  # seconds; the gateway signs every message it forwards
CLOCK_SKEW = 30  # seconds an identity may seem to come from the future (hosts' clocks differ)


@dataclass(frozen=True)
class VerifiedIdentity:
    """A conversation the gateway vouches for, and the enterprise its user logged in as (if any)."""

    sender: str
    enterprise_id: int | None


def _message(sender: str, enterprise_id: int | None, issued_at: int) -> bytes:
    enterprise = "" if enterprise_id is None else str(enterprise_id)
    return f"{sender}\n{enterprise}\n{issued_at}".encode()


def _signature(secret: str, sender: str, enterprise_id: int | None, issued_at: int) -> str:
    return hmac.new(secret.encode(), _message(sender, enterprise_id, issued_at), hashlib.sha256).hexdigest()


def sign_identity(secret: str, sender: str, enterprise_id: int | None, issued_at: int) -> dict[str, Any]:
    """The metadata value the gateway sends with a message: who, which enterprise, when, and the HMAC."""
    if not secret:
        raise ValueError("an identity cannot be signed without a secret")
    return {
        "sender": sender,
        "enterprise_id": enterprise_id,
        "issued_at": issued_at,
        "signature": _signature(secret, sender, enterprise_id, issued_at),
    }


def _as_int(value: Any) -> int | None:
    """An int from JSON; bools and floats are not ids (``True`` would sign as enterprise 1)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def verify_identity(
    secret: str, claimed: Any, sender: str, now: int, max_age: int = DEFAULT_MAX_AGE
) -> VerifiedIdentity | None:
    """The identity if ``claimed`` was signed with ``secret`` for ``sender`` within ``max_age`` seconds.

    ``None`` for anything unsigned, malformed, signed for another conversation,
    stale, from the future, or when no secret is configured (then nobody is verified).
    """
    if not secret or not isinstance(claimed, dict):
        return None
    claimed_sender = claimed.get("sender")
    issued_at = _as_int(claimed.get("issued_at"))
    signature = claimed.get("signature")
    raw_enterprise = claimed.get("enterprise_id")
    enterprise_id = _as_int(raw_enterprise)
    if (
        not isinstance(claimed_sender, str)
        or issued_at is None
        or not isinstance(signature, str)
        or (raw_enterprise is not None and enterprise_id is None)
    ):
        return None
    expected = _signature(secret, claimed_sender, enterprise_id, issued_at)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        logger.warning("identity.bad_signature", extra={"event": "identity.bad_signature"})
        return None
    if claimed_sender != sender:
        logger.warning("identity.other_sender", extra={"event": "identity.other_sender"})
        return None
    if not (now - max_age <= issued_at <= now + CLOCK_SKEW):
        logger.info("identity.stale age=%d", now - issued_at, extra={"event": "identity.stale"})
        return None
    return VerifiedIdentity(sender=sender, enterprise_id=enterprise_id)
