"""Gateway settings from environment variables, read once at start-up and passed down.

Variables (defaults in brackets): ``GATEWAY_HOST`` (0.0.0.0), ``GATEWAY_PORT`` (8000),
``GATEWAY_RASA_URL`` (http://127.0.0.1:5005), ``RASA_AUTH_TOKEN`` (Rasa's HTTP API token),
``IDENTITY_SECRET`` (signs the identity put into Rasa's metadata), ``DATABASE_URL`` (as
``storage.settings``), ``GATEWAY_BUTLER_IDLE_SECONDS`` (900: a silent butler hands the
conversation back), ``GATEWAY_COOKIE_SECURE`` (0; set it to 1 whenever the gateway is served
behind HTTPS, so the console cookie is never sent in clear), ``GATEWAY_MAX_FRAME_BYTES`` (8192),
``GATEWAY_MAX_TEXT_CHARS`` (2000), ``GATEWAY_RASA_TIMEOUT`` seconds (30),
``GATEWAY_NOTICE_POLL_SECONDS`` (1.0), ``GATEWAY_UNANSWERED_HANDOFF`` (2 unanswered turns in a
row hand the conversation to a person), ``GATEWAY_SQLITE_SYNCHRONOUS`` (NORMAL; or FULL),
``GATEWAY_TRUSTED_PROXIES`` (none: comma-separated addresses of the reverse proxies in front of the
gateway, whose ``X-Forwarded-For`` is believed, so that the log-in rate limit counts each user's own
address instead of the proxy's). The ``APPEALS_*`` variables (working hours, time zone)
are read through ``appeals.settings`` because the off-hours notice uses the office calendar;
the ``WECHAT_*`` variables through ``connectors.wechat.settings`` (none is needed: without them
the WeChat endpoints answer that WeChat is not configured; see docs/wechat.md).

``GATEWAY_SQLITE_SYNCHRONOUS`` is SQLite's durability setting for the gateway's own
connections (other databases ignore it; every other process keeps FULL). The database runs
in WAL mode, where NORMAL never corrupts it and a crash of the gateway process (or of Rasa,
or a kill -9) loses nothing that was committed; only a power cut or an operating-system crash
may lose the last moments of commits (they are synced at the next checkpoint instead of at
every commit). In exchange a commit costs about 0.01 ms instead of a disk sync (about 4 ms on
a common disk), and the gateway commits two or three times per chat message. Set FULL where
even the last second of chat before a power cut must survive.

A malformed value stops start-up with a Chinese message naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from appeals.settings import AppealsSettings, SettingsError, number_from_env
from connectors.wechat.settings import WeChatSettings
from storage.engine import SQLITE_SYNCHRONOUS
from storage.settings import Settings as StorageSettings

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class GatewaySettings:
    """Everything the gateway process needs, validated once."""

    database_url: str
    host: str = "0.0.0.0"
    port: int = 8000
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str = field(default="", repr=False)
    identity_secret: str = field(default="", repr=False)
    butler_idle_seconds: float = 900.0
    cookie_secure: bool = False
    max_frame_bytes: int = 8192
    max_text_chars: int = 2000
    rasa_timeout: float = 30.0
    notice_poll_seconds: float = 1.0
    unanswered_handoff: int = 2
    idle_check_seconds: float = 30.0
    sqlite_synchronous: str = "NORMAL"
    trusted_proxies: frozenset[str] = frozenset()
    appeals: AppealsSettings | None = None
    wechat: WeChatSettings = field(default_factory=WeChatSettings)

    @property
    def appeals_settings(self) -> AppealsSettings:
        """The office calendar settings (working hours, time zone) the off-hours notice uses."""
        return self.appeals if self.appeals is not None else AppealsSettings(database_url=self.database_url)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GatewaySettings:
        """Build from ``environ`` (default ``os.environ``); raises ``SettingsError`` on bad values."""
        env = os.environ if environ is None else environ
        database_url = env.get("DATABASE_URL") or StorageSettings.from_env().database_url
        return cls(
            database_url=database_url,
            host=env.get("GATEWAY_HOST", "0.0.0.0").strip() or "0.0.0.0",
            port=number_from_env(env, "GATEWAY_PORT", 8000, int, minimum=1, maximum=65535),
            rasa_url=(env.get("GATEWAY_RASA_URL") or "http://127.0.0.1:5005").rstrip("/"),
            rasa_token=env.get("RASA_AUTH_TOKEN", ""),
            identity_secret=env.get("IDENTITY_SECRET", ""),
            butler_idle_seconds=number_from_env(
                env, "GATEWAY_BUTLER_IDLE_SECONDS", 900.0, float, minimum=1.0
            ),
            cookie_secure=_flag(env, "GATEWAY_COOKIE_SECURE"),
            max_frame_bytes=number_from_env(env, "GATEWAY_MAX_FRAME_BYTES", 8192, int, minimum=256),
            max_text_chars=number_from_env(env, "GATEWAY_MAX_TEXT_CHARS", 2000, int, minimum=1),
            rasa_timeout=number_from_env(env, "GATEWAY_RASA_TIMEOUT", 30.0, float, minimum=0.1),
            notice_poll_seconds=number_from_env(env, "GATEWAY_NOTICE_POLL_SECONDS", 1.0, float, minimum=0.05),
            unanswered_handoff=number_from_env(env, "GATEWAY_UNANSWERED_HANDOFF", 2, int, minimum=1),
            sqlite_synchronous=_choice(env, "GATEWAY_SQLITE_SYNCHRONOUS", "NORMAL", SQLITE_SYNCHRONOUS),
            trusted_proxies=frozenset(
                address.strip()
                for address in env.get("GATEWAY_TRUSTED_PROXIES", "").split(",")
                if address.strip()
            ),
            appeals=AppealsSettings.from_env({**env, "DATABASE_URL": database_url}),
            wechat=WeChatSettings.from_env(env),
        )


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise SettingsError(f"{name} 的值「{raw}」无法识别，应为 1（是）或 0（否）")


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw.upper() not in allowed:
        raise SettingsError(f"{name} 的值「{raw}」无法识别，应为 {' 或 '.join(allowed)}")
    return raw.upper()
