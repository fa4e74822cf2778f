"""WeChatApi against the scripted fake server: token sharing and retry, quotas, timeouts, request bodies."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, replace
from datetime import datetime

import aiohttp
import pytest

from connectors.wechat.api import (
    NotSubscribed,
    QuotaExceeded,
    SubscribeDataError,
    WeChatApi,
    WeChatApiError,
    WeChatUnavailable,
    normalize_subscribe_data,
    openid_tag,
)
from connectors.wechat.settings import WeChatSettings
from tests.wechat.fake_api import (
    CUSTOM_SEND,
    JSCODE2SESSION,
    MSG_SEC_CHECK,
    STABLE_TOKEN,
    SUBSCRIBE_SEND,
    TYPING,
    FakeWeChat,
    Reply,
    fake_openid,
)

OPENID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
SECRET = "fake-secret-value-123"


@dataclass
class Rig:
    fake: FakeWeChat
    api: WeChatApi
    http: aiohttp.ClientSession
    settings: WeChatSettings

    def client(self, **changes: object) -> WeChatApi:
        """Another client on the same HTTP session, with changed settings or a clock."""
        clock = changes.pop("clock", time.monotonic)
        return WeChatApi(self.http, replace(self.settings, **changes), clock=clock, busy_backoff=0.01)  # type: ignore[arg-type]


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    fake = FakeWeChat(appid="wx-test-app", secret=SECRET)
    async with fake.serve() as base_url, aiohttp.ClientSession() as http:
        settings = WeChatSettings(
            appid="wx-test-app",
            appsecret=SECRET,
            token="t",
            aes_key="A" * 43,
            api_base=base_url,
            http_timeout=2.0,
        )
        yield Rig(fake, WeChatApi(http, settings, busy_backoff=0.01), http, settings)


def _text(content: str) -> dict[str, object]:
    return {"msgtype": "text", "text": {"content": content}}


# -- the access token -----------------------------------------------------------------------------


async def test_token_is_fetched_once_with_the_stable_token_body_and_reused(rig: Rig) -> None:
    await rig.api.send_text(OPENID, "您好")
    await rig.api.send_text(OPENID, "还在吗")
    assert rig.fake.token_fetches == 1
    assert rig.fake.bodies(STABLE_TOKEN) == [
        {"grant_type": "client_credential", "appid": "wx-test-app", "secret": SECRET, "force_refresh": False}
    ]
    sends = rig.fake.requests_to(CUSTOM_SEND)
    assert [r.access_token for r in sends] == [rig.fake.current_token] * 2
    assert [r.body for r in sends] == [
        {"touser": OPENID, "msgtype": "text", "text": {"content": "您好"}},
        {"touser": OPENID, "msgtype": "text", "text": {"content": "还在吗"}},
    ]


async def test_expired_token_is_refreshed_and_the_same_request_retried_once(rig: Rig) -> None:
    await rig.api.send_text(OPENID, "第一条")
    old = rig.fake.current_token
    rig.fake.expire_token()
    await rig.api.send_text(OPENID, "营业执照变更需要带公章。")
    sends = rig.fake.requests_to(CUSTOM_SEND)[1:]
    assert len(sends) == 2
    assert sends[0].access_token == old and sends[1].access_token == rig.fake.current_token != old
    assert (
        sends[0].body
        == sends[1].body
        == {
            "touser": OPENID,
            "msgtype": "text",
            "text": {"content": "营业执照变更需要带公章。"},
        }
    )
    assert rig.fake.token_fetches == 2
    assert rig.fake.sent_texts(OPENID) == ["第一条", "营业执照变更需要带公章。"]


@pytest.mark.parametrize("errcode", [40001, 42001, 40014])
async def test_rejected_token_still_handed_out_is_force_refreshed(rig: Rig, errcode: int) -> None:
    """WeChat rejects a token that stable_token's normal mode still returns: force one refresh."""
    rig.fake.script(CUSTOM_SEND, {"errcode": errcode, "errmsg": "access_token invalid"})
    await rig.api.send_text(OPENID, "您好")
    fetches = rig.fake.bodies(STABLE_TOKEN)
    assert [b["force_refresh"] for b in fetches] == [False, False, True]
    sends = rig.fake.requests_to(CUSTOM_SEND)
    assert len(sends) == 2 and sends[0].body == sends[1].body
    assert sends[1].access_token == rig.fake.current_token != sends[0].access_token


async def test_a_second_token_rejection_is_not_retried_again(rig: Rig) -> None:
    rig.fake.script(
        CUSTOM_SEND, {"errcode": 40001, "errmsg": "invalid"}, {"errcode": 42001, "errmsg": "expired"}
    )
    with pytest.raises(WeChatApiError) as error:
        await rig.api.send_text(OPENID, "您好")
    assert error.value.errcode == 42001
    assert len(rig.fake.requests_to(CUSTOM_SEND)) == 2


async def test_100_concurrent_sends_share_one_token_fetch(rig: Rig) -> None:
    rig.fake.script(STABLE_TOKEN, Reply(delay=0.2))  # a slow fetch: every send waits for the same one
    await asyncio.gather(*(rig.api.send_text(f"o-user-{i}", f"第{i}条") for i in range(100)))
    assert rig.fake.token_fetches == 1
    sends = rig.fake.requests_to(CUSTOM_SEND)
    assert len(sends) == 100
    assert {r.access_token for r in sends} == {rig.fake.current_token}
    assert sorted(rig.fake.sent_texts()) == sorted(f"第{i}条" for i in range(100))


async def test_100_concurrent_sends_after_an_expiry_share_one_refresh(rig: Rig) -> None:
    await rig.api.send_text(OPENID, "预热")
    rig.fake.expire_token()
    await asyncio.gather(*(rig.api.send_text(f"o-user-{i}", "您好") for i in range(100)))
    assert rig.fake.token_fetches == 2
    assert len(rig.fake.sent_texts()) == 101


async def test_token_is_refreshed_five_minutes_early_while_others_keep_using_it(rig: Rig) -> None:
    now = [1000.0]
    api = rig.client(clock=lambda: now[0])
    await api.send_text(OPENID, "一")
    now[0] += 60
    await api.send_text(OPENID, "二")
    assert rig.fake.token_fetches == 1  # still fresh
    now[0] += 7200 - 60 - 299  # inside the last five minutes: refresh early
    rig.fake.script(STABLE_TOKEN, Reply(delay=0.5))
    refresh = asyncio.create_task(api.access_token())
    await asyncio.sleep(0.05)
    durations = await asyncio.gather(*(_timed(api.send_text(OPENID, f"并发{i}")) for i in range(10)))
    assert max(durations) < 0.3  # nobody waited for the refresh under way
    assert not refresh.done()
    await refresh
    assert rig.fake.token_fetches == 2
    assert len(rig.fake.sent_texts()) == 12


async def _timed(call: Awaitable[object]) -> float:
    started = time.monotonic()
    await call
    return time.monotonic() - started


async def test_bad_credentials_are_an_api_error(rig: Rig) -> None:
    api = rig.client(appsecret="wrong-secret")
    with pytest.raises(WeChatApiError) as error:
        await api.send_text(OPENID, "您好")
    assert error.value.errcode == 40125
    assert rig.fake.requests_to(CUSTOM_SEND) == []


# -- errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("errcode", [45015, 45047])
async def test_quota_errors_are_final_and_not_retried(rig: Rig, errcode: int) -> None:
    rig.fake.script(CUSTOM_SEND, {"errcode": errcode, "errmsg": "out of response count limit"})
    with pytest.raises(QuotaExceeded) as error:
        await rig.api.send_text(OPENID, "您好")
    assert error.value.errcode == errcode
    assert len(rig.fake.requests_to(CUSTOM_SEND)) == 1
    assert rig.fake.token_fetches == 1


async def test_a_timeout_is_unavailable_and_not_repeated(rig: Rig) -> None:
    api = rig.client(http_timeout=0.2)
    await api.access_token()
    rig.fake.script(CUSTOM_SEND, Reply(delay=2.0))
    started = time.monotonic()
    with pytest.raises(WeChatUnavailable):
        await api.send_text(OPENID, "您好")
    assert time.monotonic() - started < 1.0
    assert len(rig.fake.requests_to(CUSTOM_SEND)) == 1


async def test_a_slow_token_fetch_times_out_too(rig: Rig) -> None:
    rig.fake.script(STABLE_TOKEN, Reply(delay=2.0))
    with pytest.raises(WeChatUnavailable):
        await rig.client(http_timeout=0.2).send_text(OPENID, "您好")
    assert rig.fake.requests_to(CUSTOM_SEND) == []


async def test_busy_is_retried_with_backoff_then_given_up(rig: Rig) -> None:
    rig.fake.script(CUSTOM_SEND, {"errcode": -1, "errmsg": "system error"})
    await rig.api.send_text(OPENID, "您好")
    assert len(rig.fake.requests_to(CUSTOM_SEND)) == 2
    rig.fake.script(CUSTOM_SEND, *[{"errcode": -1, "errmsg": "system error"}] * 3)
    with pytest.raises(WeChatUnavailable):
        await rig.api.send_text(OPENID, "再试")
    assert len(rig.fake.requests_to(CUSTOM_SEND)) == 2 + 3


async def test_server_errors_and_unreachable_servers_are_unavailable(rig: Rig) -> None:
    await rig.api.access_token()
    rig.fake.script(CUSTOM_SEND, Reply(status=502))
    with pytest.raises(WeChatUnavailable):
        await rig.api.send_text(OPENID, "您好")
    with pytest.raises(WeChatUnavailable) as error:
        await rig.client(api_base="http://127.0.0.1:9").send_text(OPENID, "您好")
    assert (
        error.value.__cause__ is None and error.value.__suppress_context__
    )  # no URL with a secret in a traceback


async def test_other_errcodes_carry_code_and_message(rig: Rig) -> None:
    rig.fake.script(CUSTOM_SEND, {"errcode": 40003, "errmsg": "invalid openid"})
    with pytest.raises(WeChatApiError) as error:
        await rig.api.send_text("not-an-openid", "您好")
    assert (error.value.errcode, error.value.errmsg) == (40003, "invalid openid")
    assert not isinstance(error.value, (QuotaExceeded, NotSubscribed))


# -- endpoints ----------------------------------------------------------------------------------------


async def test_custom_message_types_go_out_lowercase_and_unknown_ones_never_leave(rig: Rig) -> None:
    link = {
        "msgtype": "link",
        "link": {
            "title": "营业执照变更",
            "description": "在线办理",
            "url": "https://zwfw.example/1",
            "thumb_url": "",
        },
    }
    await rig.api.send_custom(OPENID, link)
    assert rig.fake.bodies(CUSTOM_SEND) == [{"touser": OPENID, **link}]
    for bad in (
        {"msgtype": "Text", "Text": {"content": "x"}},
        {"msgtype": "text"},
        {"text": {"content": "x"}},
    ):
        with pytest.raises(ValueError):
            await rig.api.send_custom(OPENID, bad)
    assert len(rig.fake.requests_to(CUSTOM_SEND)) == 1


async def test_typing_commands_and_declined_typing(rig: Rig) -> None:
    assert await rig.api.typing(OPENID, True)
    assert await rig.api.typing(OPENID, False)
    assert rig.fake.bodies(TYPING) == [
        {"touser": OPENID, "command": "Typing"},
        {"touser": OPENID, "command": "CancelTyping"},
    ]
    rig.fake.script(TYPING, {"errcode": 45080, "errmsg": "has not sent message to user in 30 seconds"})
    assert not await rig.api.typing(OPENID, True)
    rig.fake.script(TYPING, {"errcode": 45047, "errmsg": "out of limit"})
    with pytest.raises(QuotaExceeded):
        await rig.api.typing(OPENID, True)


async def test_subscribe_message_fits_the_field_rules_and_is_accepted(rig: Rig) -> None:
    await rig.api.send_subscribe(
        OPENID,
        "tmpl-rating",
        {
            "character_string1": "GD20261130001",
            "thing2": "关于企业用电报装时间过长影响正常生产经营的诉求",
            "phrase3": "待评价",
            "time4": datetime(2026, 11, 30, 15, 1),
        },
        page="pages/ticket/detail?number=GD20261130001",
    )
    (body,) = rig.fake.bodies(SUBSCRIBE_SEND)
    assert body == {
        "touser": OPENID,
        "template_id": "tmpl-rating",
        "miniprogram_state": "formal",
        "lang": "zh_CN",
        "page": "pages/ticket/detail?number=GD20261130001",
        "data": {
            "character_string1": {"value": "GD20261130001"},
            "thing2": {"value": "关于企业用电报装时间过长影响正常生产经…"},
            "phrase3": {"value": "待评价"},
            "time4": {"value": "2026年11月30日 15:01"},
        },
    }
    assert len(body["data"]["thing2"]["value"]) == 20


async def test_the_fake_refuses_a_value_outside_the_rules(rig: Rig) -> None:
    """The fake enforces the rules itself, so the accepted send above proves the normalisation."""
    token = await rig.api.access_token()
    body = {"touser": OPENID, "template_id": "t", "data": {"phrase1": {"value": "已经受理完毕"}}}
    async with rig.http.post(
        rig.settings.api_base + SUBSCRIBE_SEND, params={"access_token": token}, json=body
    ) as response:
        answer = await response.json()
    assert answer["errcode"] == 47003 and "phrase1" in answer["errmsg"]


async def test_not_subscribed_is_its_own_error(rig: Rig) -> None:
    rig.fake.script(SUBSCRIBE_SEND, {"errcode": 43101, "errmsg": "user refuse to accept the msg"})
    with pytest.raises(NotSubscribed):
        await rig.api.send_subscribe(OPENID, "tmpl", {"thing1": "工单已答复"})
    assert len(rig.fake.requests_to(SUBSCRIBE_SEND)) == 1


def test_subscribe_field_rules() -> None:
    data = normalize_subscribe_data(
        {
            "thing1": "短\n事项",
            "thing2": "",
            "phrase3": "Done 已办结 ok",
            "character_string4": "GD-2026 11 30 编号 001" + "9" * 40,
            "number5": "共 12 件",
            "name6": "张三丰李四王五赵六孙七",
            "name7": "Zhang San Feng Li Si Wang Wu",
            "date8": "2026-11-30T09:00:00",
            "time9": "2026年11月30日 15:01 ~ 2026年12月1日 15:01",
            "phone_number10": "电话 0826-1234567 转 8",
            "letter11": "abc123",
            "symbol12": "%%%%%%%",
            "car_number13": "川X12345警用",
        }
    )
    values = {key: entry["value"] for key, entry in data.items()}
    assert values["thing1"] == "短 事项" and values["thing2"] == "无"
    assert values["phrase3"] == "已办结"
    assert values["character_string4"].startswith("GD-2026113000") and len(values["character_string4"]) == 32
    assert values["number5"] == "12"
    assert values["name6"] == "张三丰李四王五赵六孙" and values["name7"] == "Zhang San Feng Li Si"
    assert values["date8"] == "2026年11月30日"
    assert values["time9"] == "2026年11月30日 15:01 ~ 2026年12月1日 15:01"
    assert values["phone_number10"] == "0826-12345678"
    assert (
        values["letter11"] == "abc"
        and values["symbol12"] == "%%%%%"
        and values["car_number13"] == "川X12345警"
    )
    with pytest.raises(SubscribeDataError):
        normalize_subscribe_data({"phrase1": "done"})
    with pytest.raises(SubscribeDataError):
        normalize_subscribe_data({"time1": "下周一"})


async def test_code_to_session_keeps_the_session_key_out_of_repr_and_codes_are_single_use(rig: Rig) -> None:
    session = await rig.api.code_to_session("code-from-wx-login")
    assert session.openid == fake_openid("code-from-wx-login")
    assert session.session_key and session.session_key not in repr(session)
    (login,) = rig.fake.requests_to(JSCODE2SESSION)
    assert login.method == "GET"
    assert login.query == {
        "appid": "wx-test-app",
        "secret": SECRET,
        "js_code": "code-from-wx-login",
        "grant_type": "authorization_code",
    }
    with pytest.raises(WeChatApiError) as error:
        await rig.api.code_to_session("code-from-wx-login")
    assert error.value.errcode == 40029
    assert rig.fake.token_fetches == 0  # log-in needs no access token


async def test_msg_sec_check_sends_version_2_and_reads_the_verdict(rig: Rig) -> None:
    rig.fake.risky_words = ("违禁词",)
    verdict = await rig.api.msg_sec_check(OPENID, "营业执照怎么办")
    assert not verdict.risky and verdict.suggest == "pass"
    risky = await rig.api.msg_sec_check(OPENID, "这里有违禁词" + "字" * 3000)
    assert risky.risky and risky.label == 20001
    bodies = rig.fake.bodies(MSG_SEC_CHECK)
    assert bodies[0] == {"content": "营业执照怎么办", "version": 2, "scene": 2, "openid": OPENID}
    assert len(bodies[1]["content"]) == 2500


async def test_logs_never_carry_secrets_tokens_session_keys_or_openids(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await rig.api.send_text(OPENID, "您好")
    rig.fake.expire_token()
    rig.fake.script(CUSTOM_SEND, {"errcode": 45047, "errmsg": "out of limit"})
    with pytest.raises(QuotaExceeded):
        await rig.api.send_text(OPENID, "您好")
    session = await rig.api.code_to_session("code-1")
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("connectors."))
    assert "wechat.api.error" in logged and openid_tag(OPENID) in logged
    for secret in (
        SECRET,
        OPENID,
        session.session_key,
        session.openid,
        *rig.fake._expired,
        rig.fake.current_token,
    ):
        assert secret not in logged
