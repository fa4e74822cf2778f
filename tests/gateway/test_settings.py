"""GatewaySettings.from_env: defaults that work on one machine, and clear refusals of bad values."""

from __future__ import annotations

import pytest

from gateway.settings import GatewaySettings, SettingsError


def test_defaults() -> None:
    settings = GatewaySettings.from_env({"DATABASE_URL": "sqlite:///x.db"})
    assert (settings.host, settings.port, settings.rasa_url) == ("0.0.0.0", 8000, "http://127.0.0.1:5005")
    assert settings.butler_idle_seconds == 900 and settings.unanswered_handoff == 2
    assert settings.max_frame_bytes == 8192 and settings.max_text_chars == 2000
    assert settings.cookie_secure is False and settings.identity_secret == ""
    assert settings.appeals_settings.database_url == "sqlite:///x.db"


def test_values_from_the_environment() -> None:
    settings = GatewaySettings.from_env(
        {
            "DATABASE_URL": "sqlite:///x.db",
            "GATEWAY_PORT": "8100",
            "GATEWAY_RASA_URL": "http://127.0.0.1:5999/",
            "RASA_AUTH_TOKEN": "rasa-token-Q7",
            "IDENTITY_SECRET": "identity-secret-Z9",
            "GATEWAY_COOKIE_SECURE": "1",
            "GATEWAY_BUTLER_IDLE_SECONDS": "60",
            "GATEWAY_UNANSWERED_HANDOFF": "3",
        }
    )
    assert settings.port == 8100 and settings.rasa_url == "http://127.0.0.1:5999"
    assert settings.cookie_secure is True and settings.butler_idle_seconds == 60.0
    assert settings.unanswered_handoff == 3
    assert "rasa-token-Q7" not in repr(settings) and "identity-secret-Z9" not in repr(
        settings
    )  # secrets never reach a log line


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("GATEWAY_PORT", "http", "GATEWAY_PORT 的值「http」不是有效的数字"),
        ("GATEWAY_PORT", "70000", "GATEWAY_PORT 的值「70000」超出范围"),
        ("GATEWAY_COOKIE_SECURE", "maybe", "GATEWAY_COOKIE_SECURE 的值「maybe」无法识别"),
        ("GATEWAY_UNANSWERED_HANDOFF", "0", "GATEWAY_UNANSWERED_HANDOFF 的值「0」超出范围"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(name: str, value: str, expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        GatewaySettings.from_env({"DATABASE_URL": "sqlite:///x.db", name: value})
    assert str(caught.value).startswith(expected)
