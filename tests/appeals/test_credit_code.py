"""What a user typing a 统一社会信用代码 into the butler should see accepted or refused."""

from __future__ import annotations

import pytest

from appeals.credit_code import (
    InvalidCreditCode,
    check_character,
    is_valid_credit_code,
    make_credit_code,
    normalize_credit_code,
    validate_credit_code,
)

# Codes published on business licences / the national enterprise credit
# information publicity system (国家企业信用信息公示系统).
REAL_CODES = {
    "华为技术有限公司": "914403001922038216",
    "深圳市腾讯计算机系统有限公司": "91440300708461136T",
    "阿里巴巴（中国）有限公司": "91330100716105852F",
    "北京百度网讯科技有限公司": "91110000802100433B",
    "中国工商银行股份有限公司": "91100000100003962T",
    "国家电网有限公司": "9111000071093123XX",
}


@pytest.mark.parametrize("company", sorted(REAL_CODES))
def test_real_published_codes_are_accepted(company: str) -> None:
    code = REAL_CODES[company]
    assert validate_credit_code(code) == code
    assert is_valid_credit_code(code)
    assert check_character(code[:17]) == code[17]


def test_hand_computed_check_character() -> None:
    # Body 91110108MA000000 1 (a new-style code, 组织机构代码 starting with MA):
    # values  9  1  1  1  0  1  0  8  M=21 A=10 0  0  0  0  0  0  1
    # weights 1  3  9 27 19 26 16 17  20   29 25 13  8 24 10 30 28
    # products 9+3+9+27+0+26+0+136+420+290+0+0+0+0+0+0+28 = 948
    # 948 mod 31 = 18 (31*30 = 930); 31 - 18 = 13 -> ALPHABET[13] = 'D'
    assert check_character("91110108MA0000001") == "D"
    assert make_credit_code("91110108MA0000001") == "91110108MA0000001D"


def test_check_value_31_is_written_as_zero() -> None:
    # Last digit 7 instead of 1: 948 - 1*28 + 7*28 = 1116 = 31*36, so the sum is
    # 0 mod 31 and 31 - 0 = 31, which the standard writes as '0'.
    assert check_character("91110108MA0000007") == "0"
    assert is_valid_credit_code("91110108MA00000070")


def test_hand_computed_real_code() -> None:
    # 华为 body 91440300192203821: products 9+3+36+108+0+78+0+0+20+261+50+26+0+72+80+60+28 = 831
    # 831 mod 31 = 25 (31*26 = 806); 31 - 25 = 6
    assert check_character("91440300192203821") == "6"


def test_wrong_check_character_is_refused_with_actionable_message() -> None:
    with pytest.raises(InvalidCreditCode) as err:
        validate_credit_code("914403001922038217")
    assert str(err.value) == "统一社会信用代码校验位不正确，请核对后重新输入"
    assert err.value.reason == "check"
    assert not is_valid_credit_code("914403001922038217")


def test_every_single_character_typo_in_a_real_code_is_caught() -> None:
    # The weights are distinct non-zero values mod 31, so one changed character
    # always changes the check value.
    code = REAL_CODES["华为技术有限公司"]
    for pos in range(18):
        for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
            if ch == code[pos]:
                continue
            typo = code[:pos] + ch + code[pos + 1 :]
            assert not is_valid_credit_code(typo), typo


def test_swapped_adjacent_characters_are_caught() -> None:
    code = REAL_CODES["深圳市腾讯计算机系统有限公司"]
    for pos in range(17):
        if code[pos] == code[pos + 1]:
            continue
        swapped = code[:pos] + code[pos + 1] + code[pos] + code[pos + 2 :]
        assert not is_valid_credit_code(swapped), swapped


@pytest.mark.parametrize(
    ("text", "length"),
    [("91440300192203821", 17), ("9144030019220382160", 19), ("440300192203821", 15)],
)
def test_wrong_length_tells_the_user_how_many_characters_they_typed(text: str, length: int) -> None:
    with pytest.raises(InvalidCreditCode) as err:
        validate_credit_code(text)
    assert str(err.value).startswith("统一社会信用代码应为18位")
    assert f"{length}位" in str(err.value)
    assert err.value.reason == "length"


def test_empty_input_asks_for_the_code() -> None:
    with pytest.raises(InvalidCreditCode) as err:
        validate_credit_code("   ")
    assert "请输入统一社会信用代码" in str(err.value)


@pytest.mark.parametrize("letter", ["I", "O", "S", "V", "Z"])
def test_forbidden_letters_are_named_in_the_message(letter: str) -> None:
    text = "9144030019220382" + letter + "6"
    with pytest.raises(InvalidCreditCode) as err:
        validate_credit_code(text)
    assert str(err.value) == f"统一社会信用代码含有不允许的字符「{letter}」"
    assert err.value.reason == "charset"


def test_chinese_characters_are_refused_by_name() -> None:
    with pytest.raises(InvalidCreditCode) as err:
        validate_credit_code("9144030019220382号6")
    assert "「号」" in str(err.value)


def test_region_code_positions_must_be_digits() -> None:
    # 'A' at position 3 is in the alphabet but not a 行政区划码 digit.
    body = "91A40300192203821"
    with pytest.raises(InvalidCreditCode) as err:
        validate_credit_code(body + check_character(body))
    assert "第3至8位应为数字" in str(err.value)
    assert err.value.reason == "region"


def test_lower_case_input_is_accepted_and_upper_cased() -> None:
    assert validate_credit_code("91440300708461136t") == "91440300708461136T"
    assert validate_credit_code("9111000071093123xx") == "9111000071093123XX"


def test_full_width_input_with_spaces_is_accepted() -> None:
    # As typed with a Chinese IME: full-width digits/letters and an ideographic space.
    typed = "９１４４０３００　７０８４６１１３６Ｔ"
    assert validate_credit_code(typed) == "91440300708461136T"
    assert validate_credit_code(" 9144 0300 7084 6113 6T\n") == "91440300708461136T"
    assert validate_credit_code("９１４４０３００７０８４６１１３６ｔ") == "91440300708461136T"


def test_normalize_does_not_validate() -> None:
    assert normalize_credit_code(" ａｂｃ ") == "ABC"


def test_check_character_needs_seventeen_characters() -> None:
    with pytest.raises(InvalidCreditCode):
        check_character("9144030019220382")
    with pytest.raises(InvalidCreditCode):
        check_character("9144030019220382I")


def test_generated_demo_codes_validate() -> None:
    for n in range(200):
        code = make_credit_code(f"92320100MA{n:07d}")
        assert is_valid_credit_code(code)
        assert code.startswith(f"92320100MA{n:07d}")


def test_make_refuses_a_body_no_registry_would_issue() -> None:
    with pytest.raises(InvalidCreditCode):
        make_credit_code("91ABCDEF192203821")


def test_error_is_a_value_error_for_generic_callers() -> None:
    with pytest.raises(ValueError):
        validate_credit_code("123")
