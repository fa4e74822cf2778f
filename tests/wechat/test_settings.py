"""WeChat settings: nothing needed until used, a bad EncodingAESKey is named in Chinese."""

from __future__ import annotations

import pytest

from connectors.wechat.settings import SettingsError, WeChatSettings

FULL = {
    "WECHAT_APPID": "wxba5fad812f8e6fb9",
    "WECHAT_APPSECRET": "secret-value",
    "WECHAT_TOKEN": "AAAAA",
    "WECHAT_AES_KEY": "A" * 43,
}


def test_nothing_is_needed_until_the_feature_is_used() -> None:
    settings = WeChatSettings.from_env({})
    assert not settings.enabled
    assert settings.api_base == "https://api.weixin.qq.com"
    assert (settings.timestamp_window, settings.quota_per_message, settings.quota_window_hours) == (
        300,
        5,
        48.0,
    )
    assert settings.http_timeout == 5.0 and settings.max_body_bytes == 65536
    assert settings.msg_sec_check is False


def test_enabled_with_all_four_credentials_and_secrets_stay_out_of_repr() -> None:
    settings = WeChatSettings.from_env(
        {**FULL, "WECHAT_API_BASE": "http://127.0.0.1:9/", "WECHAT_TIMESTAMP_WINDOW": "0"}
    )
    assert settings.enabled
    assert settings.api_base == "http://127.0.0.1:9"
    assert settings.timestamp_window == 0
    assert "secret-value" not in repr(settings) and "AAAAA" not in repr(settings)
    for missing in FULL:
        assert not WeChatSettings.from_env({k: v for k, v in FULL.items() if k != missing}).enabled


def test_templates_and_switches() -> None:
    settings = WeChatSettings.from_env(
        {
            "WECHAT_SUBSCRIBE_TEMPLATE_ROUTED": " t-routed ",
            "WECHAT_SUBSCRIBE_TEMPLATE_ANSWERED": "t-answered",
            "WECHAT_SUBSCRIBE_TEMPLATE_RATING": "t-rating",
            "WECHAT_MSG_SEC_CHECK": "1",
            "WECHAT_QUOTA_PER_MESSAGE": "3",
        }
    )
    assert (settings.template_routed, settings.template_answered, settings.template_rating) == (
        "t-routed",
        "t-answered",
        "t-rating",
    )
    assert settings.msg_sec_check and settings.quota_per_message == 3


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WECHAT_AES_KEY", "A" * 42),
        ("WECHAT_AES_KEY", "A" * 42 + "!"),
        ("WECHAT_TIMESTAMP_WINDOW", "-1"),
        ("WECHAT_QUOTA_PER_MESSAGE", "0"),
        ("WECHAT_HTTP_TIMEOUT", "abc"),
        ("WECHAT_MSG_SEC_CHECK", "maybe"),
        ("WECHAT_API_BASE", "api.weixin.qq.com"),
        ("WECHAT_MINIPROGRAM_STATE", "prod"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        WeChatSettings.from_env({name: value})
