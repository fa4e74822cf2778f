"""WeChat push signatures and secure-mode (安全模式) message crypto, on ``cryptography``.

- ``signature`` = sha1 of the sorted, concatenated ``[token, timestamp, nonce]`` (URL check and
  plaintext pushes); ``msg_signature`` adds the ``Encrypt`` field (secure and compatible mode).
- ``Encrypt`` = base64(AES-256-CBC(key, iv=key[:16], pkcs7_32(random16 + len_be32 + msg + appid))).

Every failure is one of the ``WeChatCryptoError`` subclasses, which the gateway answers with a
4xx: a push that fails here is logged and never processed. Reference: the official vectors in
tests/wechat/test_crypto.py.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
import time

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from connectors.wechat.settings import aes_key_bytes

BLOCK = 32  # WeChat pads to 32 bytes, not AES's 16
RANDOM_BYTES = 16
LENGTH_BYTES = 4

__all__ = [
    "AppIdMismatch",
    "DecryptError",
    "SignatureError",
    "TimestampOutOfWindow",
    "WeChatCrypto",
    "WeChatCryptoError",
    "check_signature",
    "check_timestamp",
    "msg_signature",
    "sha1_signature",
]


class WeChatCryptoError(ValueError):
    """A push that must be refused (4xx) and never processed; ``reason`` is a Chinese sentence."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SignatureError(WeChatCryptoError):
    """``signature`` or ``msg_signature`` does not match: not WeChat, or another token."""

    status = 403


class DecryptError(WeChatCryptoError):
    """``Encrypt`` is not valid base64, AES-CBC or padding: tampered or truncated."""


class AppIdMismatch(WeChatCryptoError):
    """The message decrypted but was meant for another mini-program."""

    status = 403


class TimestampOutOfWindow(WeChatCryptoError):
    """The push's timestamp is too far from now: a replay, or a badly wrong clock."""

    status = 403


def sha1_signature(*parts: str) -> str:
    """sha1 over the sorted, concatenated parts, as lowercase hex (every WeChat push signature)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def _same(expected: str, received: str | None) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), (received or "").strip().lower().encode("utf-8"))


def check_signature(token: str, signature: str | None, timestamp: str | None, nonce: str | None) -> bool:
    """Whether ``signature`` is WeChat's for this token (URL verification and plaintext pushes)."""
    return _same(sha1_signature(token, timestamp or "", nonce or ""), signature)


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """The ``msg_signature`` of an encrypted push or reply."""
    return sha1_signature(token, timestamp, nonce, encrypt)


def check_timestamp(timestamp: str | None, window: int, now: float | None = None) -> None:
    """Refuse a push whose ``timestamp`` is more than ``window`` seconds from now (``window`` 0: no check)."""
    if window <= 0:
        return
    try:
        sent = int((timestamp or "").strip())
    except ValueError as exc:
        raise TimestampOutOfWindow("timestamp 参数缺失或不是整数") from exc
    moment = time.time() if now is None else now
    if abs(moment - sent) > window:
        raise TimestampOutOfWindow(f"timestamp 与服务器时间相差超过 {window} 秒")


class WeChatCrypto:
    """Secure-mode encryption for one mini-program (token, EncodingAESKey, appid)."""

    def __init__(self, token: str, aes_key: str, appid: str) -> None:
        self._key = aes_key_bytes(aes_key)  # SettingsError (a ValueError) naming WECHAT_AES_KEY
        self._token = token
        self._appid = appid.encode("utf-8")

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, plain: bytes, random16: bytes | None = None) -> str:
        """``plain`` as a base64 ``Encrypt`` value; ``random16`` is injectable for reproducible tests."""
        prefix = os.urandom(8).hex().encode("ascii") if random16 is None else random16
        if len(prefix) != RANDOM_BYTES:
            raise ValueError("random16 must be 16 bytes")
        full = prefix + struct.pack(">I", len(plain)) + plain + self._appid
        pad = BLOCK - len(full) % BLOCK
        full += bytes([pad]) * pad
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(full) + encryptor.finalize()).decode("ascii")

    def decrypt(self, encrypt: str) -> bytes:
        """The message inside ``encrypt``; ``DecryptError`` or ``AppIdMismatch`` when it is not ours."""
        try:
            raw = base64.b64decode(encrypt.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptError("Encrypt 不是有效的 Base64") from exc
        if not raw or len(raw) % 16:
            raise DecryptError("Encrypt 的长度不是 AES 分组的整数倍")
        decryptor = self._cipher().decryptor()
        full = decryptor.update(raw) + decryptor.finalize()
        pad = full[-1]
        if not 1 <= pad <= BLOCK or full[-pad:] != bytes([pad]) * pad:
            raise DecryptError("Encrypt 的填充无效，消息可能被篡改")
        content = full[:-pad]
        header = RANDOM_BYTES + LENGTH_BYTES
        if len(content) < header:
            raise DecryptError("Encrypt 解密后过短，消息可能被截断")
        (length,) = struct.unpack(">I", content[RANDOM_BYTES:header])
        if header + length > len(content):
            raise DecryptError("Encrypt 中的消息长度无效，消息可能被篡改")
        message = content[header : header + length]
        appid = content[header + length :]
        if not hmac.compare_digest(appid, self._appid):
            raise AppIdMismatch("消息不是发给本小程序的（AppID 不符）")
        return message

    def verify_and_decrypt(
        self,
        encrypt: str | None,
        signature: str | None,
        timestamp: str | None,
        nonce: str | None,
        *,
        window: int = 0,
        now: float | None = None,
    ) -> bytes:
        """Check ``msg_signature`` and the timestamp window, then decrypt: what a secure push needs."""
        if not encrypt:
            raise DecryptError("消息体缺少 Encrypt 字段")
        expected = msg_signature(self._token, timestamp or "", nonce or "", encrypt)
        if not _same(expected, signature):
            raise SignatureError("msg_signature 校验失败")
        check_timestamp(timestamp, window, now)
        return self.decrypt(encrypt)

    def encrypt_reply(
        self, plain: bytes, timestamp: str, nonce: str, random16: bytes | None = None
    ) -> dict[str, str]:
        """An encrypted synchronous reply (the hand-over to 网页版客服工具): ``Encrypt`` and ``MsgSignature``."""
        encrypt = self.encrypt(plain, random16)
        return {
            "Encrypt": encrypt,
            "MsgSignature": msg_signature(self._token, timestamp, nonce, encrypt),
            "TimeStamp": timestamp,
            "Nonce": nonce,
        }
