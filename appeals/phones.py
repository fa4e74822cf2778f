"""Phone numbers as people type them, and as logs may show them.

Phones identify butlers across registry files and are how a butler reaches an
enterprise, so they are normalized before comparing; logs only ever see the
masked form (138****1234).
"""

from __future__ import annotations

import re

from appeals.errors import InvalidInput

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_SEPARATORS = re.compile(r"[\s()（）]+")


def _to_half_width(text: str) -> str:
    return "".join(chr(ord(ch) - 0xFEE0) if 0xFF01 <= ord(ch) <= 0xFF5E else ch for ch in text)


def normalize_phone(text: str) -> str:
    """Half-width, no spaces, no +86 prefix; dashes kept only for landlines."""
    phone = _SEPARATORS.sub("", _to_half_width(str(text))).strip()
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :].lstrip("-")
    if phone.replace("-", "").startswith("1") and len(phone.replace("-", "")) == 11:
        phone = phone.replace("-", "")
    return phone


def is_mobile(text: str) -> bool:
    """True for an 11-digit mainland mobile number."""
    return bool(_MOBILE.match(normalize_phone(text)))


def validate_mobile(text: str) -> str:
    """The normalized mobile number, or ``InvalidInput`` with a message the user can act on."""
    phone = normalize_phone(text)
    if not phone:
        raise InvalidInput("请输入手机号码（11位，例如 13800001234）")
    digits = phone.replace("-", "")
    if not digits.isdigit():
        raise InvalidInput(f"手机号码只能包含数字，「{text}」无法识别")
    if len(digits) != 11:
        raise InvalidInput(f"手机号码应为11位，您输入了{len(digits)}位")
    if not _MOBILE.match(digits):
        raise InvalidInput("手机号码应以13至19开头，请核对后重新输入")
    return digits


def validate_contact_phone(text: str) -> str:
    """A mobile or a landline with area code (0571-88886666), normalized."""
    phone = normalize_phone(text)
    if _LANDLINE.match(phone):
        return phone
    try:
        return validate_mobile(phone)
    except InvalidInput as exc:
        raise InvalidInput(f"{exc}；座机请带区号，例如 0571-88886666") from exc


def mask_phone(text: str) -> str:
    """138****1234 for logs; never log the full number."""
    phone = normalize_phone(text or "")
    digits = phone.replace("-", "")
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) <= 7:
        return digits[:1] + "*" * (len(digits) - 3) + digits[-2:]
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")


def find_mobile(text: str) -> str | None:
    """The mobile number inside free text ("手机 138 0013 8000"), or ``None``."""
    match = _MOBILE_IN_TEXT.search(re.sub(r"[\s\-]", "", _to_half_width(text or "")))
    return match.group(1) if match else None


def without_mobile(text: str) -> str:
    """``text`` with its mobile number (and the spaces around digits) taken out: "王经理 138…" → "王经理"."""
    return _MOBILE_IN_TEXT.sub("", re.sub(r"[\s\-]", "", _to_half_width(text or "")))
