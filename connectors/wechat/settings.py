"""WeChat settings from environment variables, read once where the gateway starts and passed down.

Variables (defaults in brackets):

- ``WECHAT_APPID``, ``WECHAT_APPSECRET``, ``WECHAT_TOKEN``, ``WECHAT_AES_KEY`` (the 43-character
  EncodingAESKey): all four switch the feature on (``enabled``); none is needed otherwise.
- ``WECHAT_API_BASE`` (https://api.weixin.qq.com): tests point it at the fake server.
- ``WECHAT_TIMESTAMP_WINDOW`` seconds of allowed clock skew on pushes (300; 0 turns it off, for
  replaying the official vectors).
- ``WECHAT_QUOTA_PER_MESSAGE`` (5) customer-service messages per user message, valid for
  ``WECHAT_QUOTA_WINDOW_HOURS`` (48): older WeChat rules said 3, so both are configurable.
- ``WECHAT_HTTP_TIMEOUT`` seconds per WeChat API call (5), ``WECHAT_MAX_BODY_BYTES`` of a push (65536).
- ``WECHAT_MSG_SEC_CHECK`` (0): check user text with msg_sec_check v2 before the assistant sees it.
- ``WECHAT_MINIPROGRAM_STATE`` (formal; or developer, trial) for subscribe messages.
- ``WECHAT_SUBSCRIBE_TEMPLATE_ROUTED``, ``…_ANSWERED``, ``…_RATING``: subscribe-message template ids
  for the ticket notifications (empty: that notification is not sent).

A malformed value stops start-up with a Chinese message naming the variable.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from appeals.settings import SettingsError, number_from_env

DEFAULT_API_BASE = "https://api.weixin.qq.com"
MINIPROGRAM_STATES = ("developer", "trial", "formal")

__all__ = ["DEFAULT_API_BASE", "SettingsError", "WeChatSettings", "aes_key_bytes"]


def aes_key_bytes(encoding_aes_key: str, name: str = "WECHAT_AES_KEY") -> bytes:
    """The 32-byte AES key behind a 43-character EncodingAESKey; a Chinese ``SettingsError`` otherwise."""
    hint = f"{name} 应为小程序后台「消息推送配置」中的 43 位 EncodingAESKey（字母和数字）"
    if len(encoding_aes_key) != 43 or not encoding_aes_key.isascii() or not encoding_aes_key.isalnum():
        raise SettingsError(f"{name} 的长度或字符不对：{hint}")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SettingsError(f"{name} 无法按 Base64 解码：{hint}") from exc
    if len(key) != 32:
        raise SettingsError(f"{name} 解码后不是 32 字节：{hint}")
    return key


def _switch(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw not in {"", "0", "1", "true", "false", "yes", "no", "on", "off"}:
        raise SettingsError(f"{name} 的值「{raw}」无法识别，应为 1（开启）或 0（关闭）")
    return raw in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class WeChatSettings:
    """The WeChat credentials and limits, validated once; secrets are kept out of ``repr``."""

    appid: str = ""
    appsecret: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    aes_key: str = field(default="", repr=False)
    api_base: str = DEFAULT_API_BASE
    timestamp_window: int = 300
    quota_per_message: int = 5
    quota_window_hours: float = 48.0
    http_timeout: float = 5.0
    max_body_bytes: int = 65536
    msg_sec_check: bool = False
    miniprogram_state: str = "formal"
    template_routed: str = ""
    template_answered: str = ""
    template_rating: str = ""

    @property
    def enabled(self) -> bool:
        """Whether all four credentials are present, so the WeChat entry points can run."""
        return bool(self.appid and self.appsecret and self.token and self.aes_key)

    @property
    def quota_window_seconds(self) -> float:
        """How long the quota of one user message stays usable, in seconds."""
        return self.quota_window_hours * 3600.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> WeChatSettings:
        """Build from ``environ`` (default ``os.environ``); raises ``SettingsError`` on bad values."""
        env = os.environ if environ is None else environ
        aes_key = env.get("WECHAT_AES_KEY", "").strip()
        if aes_key:
            aes_key_bytes(aes_key)
        state = env.get("WECHAT_MINIPROGRAM_STATE", "").strip().lower() or "formal"
        if state not in MINIPROGRAM_STATES:
            raise SettingsError(
                f"WECHAT_MINIPROGRAM_STATE 的值「{state}」无法识别，应为 {' 或 '.join(MINIPROGRAM_STATES)}"
            )
        api_base = (env.get("WECHAT_API_BASE", "").strip() or DEFAULT_API_BASE).rstrip("/")
        if not api_base.startswith(("http://", "https://")):
            raise SettingsError(f"WECHAT_API_BASE 的值「{api_base}」应以 http:// 或 https:// 开头")
        return cls(
            appid=env.get("WECHAT_APPID", "").strip(),
            appsecret=env.get("WECHAT_APPSECRET", "").strip(),
            token=env.get("WECHAT_TOKEN", "").strip(),
            aes_key=aes_key,
            api_base=api_base,
            timestamp_window=number_from_env(env, "WECHAT_TIMESTAMP_WINDOW", 300, int, minimum=0),
            quota_per_message=number_from_env(env, "WECHAT_QUOTA_PER_MESSAGE", 5, int, minimum=1),
            quota_window_hours=number_from_env(env, "WECHAT_QUOTA_WINDOW_HOURS", 48.0, float, minimum=0.01),
            http_timeout=number_from_env(env, "WECHAT_HTTP_TIMEOUT", 5.0, float, minimum=0.05),
            max_body_bytes=number_from_env(env, "WECHAT_MAX_BODY_BYTES", 65536, int, minimum=1024),
            msg_sec_check=_switch(env, "WECHAT_MSG_SEC_CHECK"),
            miniprogram_state=state,
            template_routed=env.get("WECHAT_SUBSCRIBE_TEMPLATE_ROUTED", "").strip(),
            template_answered=env.get("WECHAT_SUBSCRIBE_TEMPLATE_ANSWERED", "").strip(),
            template_rating=env.get("WECHAT_SUBSCRIBE_TEMPLATE_RATING", "").strip(),
        )
