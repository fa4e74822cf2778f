"""Unified social credit code (统一社会信用代码, GB 32100-2015).

An appeal is tied to an enterprise by this code, so a mistyped code must be
caught while the user is still in the conversation, with a message they can act
on. Users type codes from business licences on phones: with spaces, in
full-width characters or in lower case, so input is normalized before checking.
"""

from __future__ import annotations

import re

__all__ = [
    "ALPHABET",
    "WEIGHTS",
    "InvalidCreditCode",
    "check_character",
    "is_valid_credit_code",
    "make_credit_code",
    "normalize_credit_code",
    "validate_credit_code",
]

# GB 32100-2015 uses digits and upper-case letters without I, O, S, V, Z,
# which are too easily confused with 1, 0, 5, U and 2.
ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
# Weight of position i is 3**i mod 31 (GB 32100-2015, 4.2).
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CODE_LENGTH = 18

_WHITESPACE = re.compile(r"\s+")


class InvalidCreditCode(ValueError):
    """A code that fails GB 32100; ``message`` is shown to the user as is.

    ``reason`` is a stable machine tag (``empty``, ``length``, ``charset``,
    ``region``, ``check``) so callers can count failures without parsing Chinese.
    """

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def _to_half_width(text: str) -> str:
    """Map full-width ASCII (as typed by Chinese IMEs) to half-width."""
    out = []
    for ch in text:
        code = ord(ch)
        if code == 0x3000:
            out.append(" ")
        elif 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


def normalize_credit_code(text: str) -> str:
    """Return the code as printed on a licence: half-width, upper-case, no spaces.

    Only presentation is changed; nothing is validated here.
    """
    return _WHITESPACE.sub("", _to_half_width(text)).upper()


def _check_value(first17: str) -> int:
    total = sum(_VALUE[ch] * w for ch, w in zip(first17, WEIGHTS, strict=True))
    return (31 - total % 31) % 31


def _require_charset(code: str) -> None:
    for ch in code:
        if ch not in _VALUE:
            raise InvalidCreditCode(f"统一社会信用代码含有不允许的字符「{ch}」", "charset")


def check_character(first17: str) -> str:
    """Compute the 18th (check) character for the first 17 characters.

    Input is normalized first, so it accepts what ``normalize_credit_code`` accepts.
    """
    body = normalize_credit_code(first17)
    if len(body) != CODE_LENGTH - 1:
        raise InvalidCreditCode(f"计算校验位需要前17位，当前为{len(body)}位", "length")
    _require_charset(body)
    return ALPHABET[_check_value(body)]


def validate_credit_code(text: str) -> str:
    """Return the normalized code, or raise ``InvalidCreditCode`` saying what is wrong.

    Checks run in the order a user can fix them: length, characters, the
    administrative-division digits (positions 3-8), then the check character.
    """
    code = normalize_credit_code(text)
    if not code:
        raise InvalidCreditCode("请输入统一社会信用代码（18位，见营业执照）", "empty")
    if len(code) != CODE_LENGTH:
        raise InvalidCreditCode(f"统一社会信用代码应为18位，您输入了{len(code)}位", "length")
    # Position 1 (登记管理部门代码) and 2 (机构类别代码) only need to be in the
    # alphabet: departments and categories are added over time.
    _require_charset(code)
    if not code[2:8].isdigit():
        raise InvalidCreditCode("统一社会信用代码第3至8位应为数字（登记机关行政区划码）", "region")
    if ALPHABET[_check_value(code[:17])] != code[17]:
        raise InvalidCreditCode("统一社会信用代码校验位不正确，请核对后重新输入", "check")
    return code


def is_valid_credit_code(text: str) -> bool:
    """True if ``validate_credit_code`` would accept the text."""
    try:
        validate_credit_code(text)
    except InvalidCreditCode:
        return False
    return True


def make_credit_code(first17: str) -> str:
    """Complete 17 characters into a valid code, for demo and test data.

    The result is validated, so a body with a non-digit region code is refused
    rather than turned into a code no real registry would issue.
    """
    body = normalize_credit_code(first17)
    return validate_credit_code(body + check_character(body))


_CODE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]{18})(?![0-9A-Za-z])")


def find_credit_code(text: str) -> str | None:
    """An 18-character code-like token in free text ("查询诉求 9199…"), unchecked; ``None`` if none.

    Words of 18 letters are not codes: a code has digits in it.
    """
    match = _CODE_IN_TEXT.search(text or "")
    if match is None or not any(ch.isdigit() for ch in match.group(1)):
        return None
    return match.group(1)
