"""Push signatures and secure-mode crypto against WeChat's official vectors, and tampering refused."""

from __future__ import annotations

import base64
import random
import struct
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors.wechat.crypto import (
    AppIdMismatch,
    DecryptError,
    SignatureError,
    TimestampOutOfWindow,
    WeChatCrypto,
    WeChatCryptoError,
    check_signature,
    check_timestamp,
    msg_signature,
)
from tests.wechat.vectors import ENCRYPTED_VECTORS, PLAIN_POST, SECURE_POST, SECURE_REPLY, URL_VERIFY


def _crypto(vector: dict[str, Any], appid: str | None = None) -> WeChatCrypto:
    return WeChatCrypto(vector["token"], vector["aes_key"], appid or vector["appid"])


def test_url_verification_vector() -> None:
    v = URL_VERIFY
    assert check_signature(v["token"], v["signature"], v["timestamp"], v["nonce"])
    assert not check_signature(v["token"], v["signature"], v["timestamp"], "1514711493")
    assert not check_signature("AAAAB", v["signature"], v["timestamp"], v["nonce"])
    assert not check_signature(v["token"], None, v["timestamp"], v["nonce"])


def test_plaintext_post_vector() -> None:
    v = PLAIN_POST
    assert check_signature(v["token"], v["signature"], v["timestamp"], v["nonce"])
    assert check_signature(v["token"], v["signature"].upper(), v["timestamp"], v["nonce"])
    assert not check_signature(v["token"], v["signature"], "1714037060", v["nonce"])


def test_secure_post_plain_signature_is_still_the_url_one() -> None:
    v = SECURE_POST
    assert check_signature(v["token"], v["signature"], v["timestamp"], v["nonce"])


@pytest.mark.parametrize("name", sorted(ENCRYPTED_VECTORS))
def test_encrypted_vectors_verify_and_decrypt(name: str) -> None:
    v = ENCRYPTED_VECTORS[name]
    assert msg_signature(v["token"], v["timestamp"], v["nonce"], v["encrypt"]) == v["msg_signature"]
    plain = _crypto(v).verify_and_decrypt(v["encrypt"], v["msg_signature"], v["timestamp"], v["nonce"])
    assert plain == v["plain"]
    assert len(plain) == v["msg_len"]


@pytest.mark.parametrize("name", sorted(ENCRYPTED_VECTORS))
def test_encrypting_with_the_vectors_random_prefix_reproduces_the_ciphertext(name: str) -> None:
    v = ENCRYPTED_VECTORS[name]
    assert _crypto(v).encrypt(v["plain"], random16=v["random16"]) == v["encrypt"]


def test_official_reply_vector() -> None:
    v = SECURE_REPLY
    reply = _crypto(v).encrypt_reply(v["plain"], v["timestamp"], v["nonce"], random16=v["random16"])
    assert reply == {
        "Encrypt": v["encrypt"],
        "MsgSignature": v["msg_signature"],
        "TimeStamp": v["timestamp"],
        "Nonce": v["nonce"],
    }
    assert _crypto(v).decrypt(v["encrypt"]) == v["plain"]


def test_round_trip_chinese_payloads_including_full_pad_blocks() -> None:
    crypto = _crypto(SECURE_POST)
    rng = random.Random(7)
    appid_len = len(SECURE_POST["appid"])
    full_block_lengths = [n for n in range(0, 200) if (20 + n + appid_len) % 32 == 0]
    assert full_block_lengths  # some lengths need a whole 32-byte pad block
    for n in [*full_block_lengths, 0, 1, 31, 32, 33, 1000]:
        plain = bytes(rng.randrange(256) for _ in range(n))
        assert crypto.decrypt(crypto.encrypt(plain)) == plain
    text = "营业执照变更需要哪些材料？法定代表人身份证、股东会决议。".encode()
    encrypted = crypto.encrypt(text)
    assert crypto.decrypt(encrypted) == text
    assert encrypted != crypto.encrypt(text)  # a fresh random prefix each time


def test_full_pad_block_is_32_bytes() -> None:
    crypto = _crypto(SECURE_POST)
    n = next(n for n in range(64) if (20 + n + len(SECURE_POST["appid"])) % 32 == 0)
    raw = base64.b64decode(crypto.encrypt(b"x" * n, random16=b"0" * 16))
    assert len(raw) == 20 + n + len(SECURE_POST["appid"]) + 32


# -- tampering ----------------------------------------------------------------------------------


def _flip(encrypt: str, bit: int) -> str:
    raw = bytearray(base64.b64decode(encrypt))
    raw[bit // 8] ^= 1 << (bit % 8)
    return base64.b64encode(bytes(raw)).decode()


def test_any_flipped_bit_is_refused_by_msg_signature() -> None:
    v = SECURE_POST
    crypto = _crypto(v)
    size = len(base64.b64decode(v["encrypt"])) * 8
    for bit in range(0, size, 7):
        with pytest.raises(SignatureError):
            crypto.verify_and_decrypt(
                _flip(v["encrypt"], bit), v["msg_signature"], v["timestamp"], v["nonce"]
            )


def test_a_flipped_bit_near_the_end_is_refused_even_with_a_recomputed_signature() -> None:
    """An attacker who knows the token still cannot alter the appid or the padding unnoticed."""
    v = SECURE_POST
    crypto = _crypto(v)
    size = len(base64.b64decode(v["encrypt"])) * 8
    for bit in range(size - 32 * 8, size):
        forged = _flip(v["encrypt"], bit)
        signature = msg_signature(v["token"], v["timestamp"], v["nonce"], forged)
        with pytest.raises((DecryptError, AppIdMismatch)):
            crypto.verify_and_decrypt(forged, signature, v["timestamp"], v["nonce"])


def test_truncated_ciphertext_is_refused() -> None:
    crypto = _crypto(SECURE_POST)
    raw = base64.b64decode(SECURE_POST["encrypt"])
    for cut in (raw[:-16], raw[:-32], raw[:32], raw[:-1], b""):
        with pytest.raises(DecryptError):
            crypto.decrypt(base64.b64encode(cut).decode())
    with pytest.raises(DecryptError):
        crypto.decrypt(SECURE_POST["encrypt"][:-5])


def test_another_appid_is_refused() -> None:
    v = SECURE_POST
    with pytest.raises(AppIdMismatch):
        _crypto(v, appid="wx0000000000000000").verify_and_decrypt(
            v["encrypt"], v["msg_signature"], v["timestamp"], v["nonce"]
        )
    with pytest.raises(AppIdMismatch):
        _crypto(v, appid="wxba5fad812f8e6fb").decrypt(v["encrypt"])  # a prefix of ours


def test_wrong_token_nonce_or_missing_signature_is_refused() -> None:
    v = SECURE_POST
    with pytest.raises(SignatureError):
        WeChatCrypto("AAAAB", v["aes_key"], v["appid"]).verify_and_decrypt(
            v["encrypt"], v["msg_signature"], v["timestamp"], v["nonce"]
        )
    with pytest.raises(SignatureError):
        _crypto(v).verify_and_decrypt(v["encrypt"], v["msg_signature"], v["timestamp"], "415670742")
    with pytest.raises(SignatureError):
        _crypto(v).verify_and_decrypt(v["encrypt"], None, v["timestamp"], v["nonce"])
    with pytest.raises(DecryptError):
        _crypto(v).verify_and_decrypt(None, v["msg_signature"], v["timestamp"], v["nonce"])


def _forged(length_field: int, padding: bytes | None = None) -> str:
    """A ciphertext under the right key whose inside is malformed (as only a key holder could make)."""
    v = SECURE_POST
    body = b"0" * 16 + struct.pack(">I", length_field) + b"{}" + v["appid"].encode()
    pad = 32 - len(body) % 32
    full = body + (bytes([pad]) * pad if padding is None else padding)
    assert len(full) % 32 == 0
    key = base64.b64decode(v["aes_key"] + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(full) + encryptor.finalize()).decode()


def _pad_len() -> int:
    return 32 - (16 + 4 + 2 + len(SECURE_POST["appid"])) % 32


def test_a_well_formed_forgery_decrypts() -> None:
    """The helper below builds valid messages, so the refusals that follow are about the one defect."""
    assert _crypto(SECURE_POST).decrypt(_forged(2)) == b"{}"


@pytest.mark.parametrize("last", [0, 33, 255])
def test_bad_padding_is_refused(last: int) -> None:
    with pytest.raises(DecryptError):
        _crypto(SECURE_POST).decrypt(_forged(2, b"\x00" * (_pad_len() - 1) + bytes([last])))


def test_inconsistent_padding_bytes_are_refused() -> None:
    pad = _pad_len()
    with pytest.raises(DecryptError):
        _crypto(SECURE_POST).decrypt(_forged(2, bytes([(pad % 31) + 1]) * (pad - 1) + bytes([pad])))


def test_a_length_field_beyond_the_message_is_refused() -> None:
    with pytest.raises(DecryptError):
        _crypto(SECURE_POST).decrypt(_forged(5000))


@pytest.mark.parametrize("junk", ["not base64 !!", "ÄÖÜ", "AAAA====", "A"])
def test_non_base64_is_refused(junk: str) -> None:
    with pytest.raises(DecryptError) as error:
        _crypto(SECURE_POST).decrypt(junk)
    assert isinstance(error.value, WeChatCryptoError) and error.value.reason


def test_a_bad_aes_key_names_the_problem() -> None:
    with pytest.raises(ValueError, match="WECHAT_AES_KEY"):
        WeChatCrypto("t", "short", "wx1")


# -- timestamps ------------------------------------------------------------------------------------


def test_timestamp_window() -> None:
    check_timestamp("1714112445", 300, now=1714112445 + 300)
    check_timestamp("1714112445", 300, now=1714112445 - 300)
    with pytest.raises(TimestampOutOfWindow):
        check_timestamp("1714112445", 300, now=1714112445 + 301)
    with pytest.raises(TimestampOutOfWindow):
        check_timestamp("abc", 300, now=0)
    with pytest.raises(TimestampOutOfWindow):
        check_timestamp(None, 300, now=0)
    check_timestamp("1714112445", 0, now=0)  # 0 turns the check off, for the official vectors


def test_verify_and_decrypt_applies_the_window_after_the_signature() -> None:
    v = SECURE_POST
    crypto = _crypto(v)
    with pytest.raises(TimestampOutOfWindow):
        crypto.verify_and_decrypt(
            v["encrypt"], v["msg_signature"], v["timestamp"], v["nonce"], window=300, now=1_800_000_000
        )
    plain = crypto.verify_and_decrypt(
        v["encrypt"], v["msg_signature"], v["timestamp"], v["nonce"], window=300, now=1714112445 + 10
    )
    assert plain == v["plain"]
