"""Appeal settings from environment variables, read once per process.

Every value has a safe default that matches the "2110" rule, so a fresh install
works without configuration. A malformed value stops start-up with a Chinese
message naming the variable instead of silently falling back.

Variables: ``DATABASE_URL`` (via storage.settings), ``APPEALS_TIMEZONE``
(Asia/Shanghai), ``APPEALS_WORKING_HOURS`` ("09:00-12:00,13:30-17:30"),
``APPEALS_CONTACT_HOURS`` (2), ``APPEALS_ANSWER_DAYS`` (1),
``APPEALS_RESOLVE_DAYS`` (10), ``APPEALS_YELLOW_FRACTION`` (0.25),
``APPEALS_SWEEP_INTERVAL`` seconds (300), ``APPEALS_ESCALATE_AFTER_REOPENS`` (2),
``IDENTITY_SECRET`` (the key the gateway signs identities with; "" verifies nobody) and
``APPEALS_IDENTITY_MAX_AGE`` seconds (300).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from functools import lru_cache
from typing import TypeVar

from appeals.workcalendar import DEFAULT_TZ, WorkingHours
from storage.settings import Settings as StorageSettings

T = TypeVar("T")

DEFAULT_WORKING_HOURS = "09:00-12:00,13:30-17:30"


class SettingsError(ValueError):
    """A configuration variable has a value the service cannot use."""


def _tz(name: str) -> tzinfo:
    if name == "Asia/Shanghai":
        return DEFAULT_TZ  # works even where the host has no tz database
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError for malformed keys
        raise SettingsError(f"APPEALS_TIMEZONE 的值「{name}」不是有效的时区名称，例如 Asia/Shanghai") from exc


@dataclass(frozen=True)
class AppealsSettings:
    """Deadlines, working hours and sweeper cadence for appeal tickets."""

    database_url: str
    timezone_name: str = "Asia/Shanghai"
    working_hours: WorkingHours = field(default_factory=WorkingHours)
    contact_hours: float = 2.0
    answer_days: int = 1
    resolve_days: int = 10
    yellow_fraction: float = 0.25
    sweep_interval: float = 300.0
    escalate_after_reopens: int = 2
    number_prefix: str = "GD"
    # the key of the gateway's signed identities (appeals.identity); empty: no conversation is verified,
    # so each one sees only the tickets it filed itself
    identity_secret: str = field(default="", repr=False)
    identity_max_age: int = 300

    @property
    def tz(self) -> tzinfo:
        """The office's time zone; deadlines are shown in it."""
        return _tz(self.timezone_name)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> AppealsSettings:
        """Build from ``environ`` (default ``os.environ``); raises ``SettingsError`` on bad values."""
        env = os.environ if environ is None else environ
        database_url = env.get("DATABASE_URL") or StorageSettings.from_env().database_url
        spec = env.get("APPEALS_WORKING_HOURS", DEFAULT_WORKING_HOURS)
        try:
            hours = WorkingHours.from_spec(spec)
        except ValueError as exc:
            raise SettingsError(
                f"APPEALS_WORKING_HOURS 的值「{spec}」无法识别，应形如 09:00-12:00,13:30-17:30"
            ) from exc
        settings = cls(
            database_url=database_url,
            timezone_name=env.get("APPEALS_TIMEZONE", "Asia/Shanghai"),
            working_hours=hours,
            contact_hours=number_from_env(env, "APPEALS_CONTACT_HOURS", 2.0, float, minimum=0.1),
            answer_days=number_from_env(env, "APPEALS_ANSWER_DAYS", 1, int, minimum=1),
            resolve_days=number_from_env(env, "APPEALS_RESOLVE_DAYS", 10, int, minimum=1),
            yellow_fraction=number_from_env(
                env, "APPEALS_YELLOW_FRACTION", 0.25, float, minimum=0.0, maximum=1.0
            ),
            sweep_interval=number_from_env(env, "APPEALS_SWEEP_INTERVAL", 300.0, float, minimum=1.0),
            escalate_after_reopens=number_from_env(env, "APPEALS_ESCALATE_AFTER_REOPENS", 2, int, minimum=1),
            identity_secret=env.get("IDENTITY_SECRET", ""),
            identity_max_age=number_from_env(env, "APPEALS_IDENTITY_MAX_AGE", 300, int, minimum=1),
        )
        _tz(settings.timezone_name)  # validate now, not at the first ticket
        return settings


def number_from_env(
    env: Mapping[str, str],
    name: str,
    default: T,
    kind: Callable[[str], T],
    *,
    minimum: float,
    maximum: float | None = None,
) -> T:
    """A number from ``env[name]`` within bounds, or ``default`` when unset; else a Chinese ``SettingsError``.

    Shared with ``gateway.settings`` so every package reports a bad number the same way.
    """
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw.strip())
    except ValueError as exc:
        raise SettingsError(f"{name} 的值「{raw}」不是有效的数字") from exc
    number = float(value)  # type: ignore[arg-type]
    if number < minimum or (maximum is not None and number > maximum):
        upper = f"，且不大于 {maximum:g}" if maximum is not None else ""
        raise SettingsError(f"{name} 的值「{raw}」超出范围：应不小于 {minimum:g}{upper}")
    return value


@lru_cache(maxsize=1)
def get_settings() -> AppealsSettings:
    """The process-wide settings, read from the environment on first use."""
    return AppealsSettings.from_env()
