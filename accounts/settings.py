"""Account settings from environment variables, read once where the gateway or the CLI starts.

Variables: ``ACCOUNTS_SESSION_HOURS`` (12: a log-in lasts one working day),
``ACCOUNTS_LOGIN_MAX_FAILURES`` (5 failed log-ins per name and client…),
``ACCOUNTS_LOGIN_WINDOW_MINUTES`` (…within 15 minutes refuse further tries for
the window). A malformed value stops start-up with a Chinese message naming it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

MIN_PASSWORD_LENGTH = 8


class SettingsError(ValueError):
    """A configuration variable has a value the accounts cannot use."""


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} 的值「{raw}」不是数字") from exc
    if value <= 0:
        raise SettingsError(f"{name} 必须大于0")
    return value


@dataclass(frozen=True)
class AccountsSettings:
    """How long a log-in lasts and how many failed log-ins are tolerated."""

    session_ttl: timedelta = timedelta(hours=12)
    login_max_failures: int = 5
    login_window: timedelta = timedelta(minutes=15)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AccountsSettings:
        source = os.environ if env is None else env
        return cls(
            session_ttl=timedelta(hours=_positive(source, "ACCOUNTS_SESSION_HOURS", 12)),
            login_max_failures=int(_positive(source, "ACCOUNTS_LOGIN_MAX_FAILURES", 5)),
            login_window=timedelta(minutes=_positive(source, "ACCOUNTS_LOGIN_WINDOW_MINUTES", 15)),
        )
