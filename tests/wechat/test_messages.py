"""Push bodies (XML/JSON, plaintext/compatible/secure) as typed messages; bad input is a parse error."""

from __future__ import annotations

import json
import time

import pytest

from connectors.wechat.crypto import (
    AppIdMismatch,
    DecryptError,
    SignatureError,
    TimestampOutOfWindow,
    WeChatCrypto,
    msg_signature,
    sha1_signature,
)
from connectors.wechat.messages import (
    ImageMessage,
    MessageParseError,
    MiniProgramPageMessage,
    TextMessage,
    Unsupported,
    UserEnterTempSession,
    parse_envelope,
    parse_message,
    read_push,
)
from tests.wechat.vectors import LEGACY_XML, PLAIN_POST, SECURE_POST

TOKEN = "AAAAA"
APPID = "wxba5fad812f8e6fb9"
CRYPTO = WeChatCrypto(TOKEN, "A" * 43, APPID)

TEXT_XML = (
    b"<xml><ToUserName><![CDATA[toUser]]></ToUserName><FromUserName><![CDATA[fromUser]]></FromUserName>\n"
    b"<CreateTime>1482048670</CreateTime><MsgType><![CDATA[text]]></MsgType>\n"
    b"<Content><![CDATA[this is a test]]></Content><MsgId>1234567890123456</MsgId></xml>"
)
TEXT_JSON = (
    b'{"ToUserName":"toUser","FromUserName":"fromUser","CreateTime":1482048670,'
    b'"MsgType":"text","Content":"this is a test","MsgId":1234567890123456}'
)


def _signed_query(timestamp: str, nonce: str = "123") -> dict[str, str]:
    return {"timestamp": timestamp, "nonce": nonce, "signature": sha1_signature(TOKEN, timestamp, nonce)}


def _secure(
    plain: bytes, timestamp: str, nonce: str = "42", as_xml: bool = False
) -> tuple[bytes, dict[str, str]]:
    encrypt = CRYPTO.encrypt(plain)
    query = {
        **_signed_query(timestamp, nonce),
        "encrypt_type": "aes",
        "openid": "o-user",
        "msg_signature": msg_signature(TOKEN, timestamp, nonce, encrypt),
    }
    if as_xml:
        body = f"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        return body.encode(), query
    return json.dumps({"ToUserName": "gh_1", "Encrypt": encrypt}).encode(), query


@pytest.mark.parametrize("body", [TEXT_XML, TEXT_JSON])
def test_text_in_xml_and_json_reads_the_same(body: bytes) -> None:
    message = parse_message(parse_envelope(body).fields)
    assert message == TextMessage(
        openid="fromUser",
        to="toUser",
        create_time=1482048670,
        msg_type="text",
        msg_id="1234567890123456",
        content="this is a test",
    )
    assert message.dedupe_key == "msg:1234567890123456"


def test_msg_ids_beyond_2_53_and_string_ids_are_kept_exactly() -> None:
    body = TEXT_JSON.replace(b"1234567890123456", b"18446744073709551615")
    assert parse_message(parse_envelope(body).fields).msg_id == "18446744073709551615"
    body = TEXT_JSON.replace(b"1234567890123456", b'"49d72d67_1555684067"')
    assert parse_message(parse_envelope(body).fields).msg_id == "49d72d67_1555684067"


def test_image_and_mini_program_page() -> None:
    image = parse_message(
        parse_envelope(
            b'{"ToUserName":"gh_1","FromUserName":"o-1","CreateTime":1,"MsgType":"image",'
            b'"PicUrl":"https://mmbiz/x.jpg","MediaId":"m-1","MsgId":7}'
        ).fields
    )
    assert isinstance(image, ImageMessage) and (image.pic_url, image.media_id) == (
        "https://mmbiz/x.jpg",
        "m-1",
    )
    page = parse_message(
        parse_envelope(
            "<xml><ToUserName>gh_1</ToUserName><FromUserName>o-1</FromUserName><CreateTime>2</CreateTime>"
            "<MsgType>miniprogrampage</MsgType><MsgId>8</MsgId><Title>工单 GD001</Title><AppId>wx1</AppId>"
            "<PagePath>pages/ticket/detail?id=1</PagePath><ThumbUrl>https://t</ThumbUrl>"
            "<ThumbMediaId>tm</ThumbMediaId></xml>".encode()
        ).fields
    )
    assert isinstance(page, MiniProgramPageMessage)
    assert (page.title, page.app_id, page.page_path, page.thumb_media_id) == (
        "工单 GD001",
        "wx1",
        "pages/ticket/detail?id=1",
        "tm",
    )


def test_enter_session_event_dedupes_by_sender_and_time() -> None:
    fields = parse_envelope(
        b'{"ToUserName":"gh_1","FromUserName":"o2","CreateTime":1520836271,"MsgType":"event",'
        b'"Event":"user_enter_tempsession","SessionFrom":"enterprise=91510000MA6CXXXX;ticket=GD20261130001"}'
    ).fields
    event = parse_message(fields)
    assert isinstance(event, UserEnterTempSession)
    assert event.session_from == "enterprise=91510000MA6CXXXX;ticket=GD20261130001"
    assert event.msg_id is None and event.dedupe_key == "event:o2:1520836271"
    assert parse_message(fields).dedupe_key == event.dedupe_key  # a retry repeats it


def test_other_types_are_kept_as_unsupported() -> None:
    message = parse_message(parse_envelope(PLAIN_POST["body"].encode()).fields)
    assert isinstance(message, Unsupported)
    assert (message.msg_type, message.event, message.fields["debug_str"]) == (
        "event",
        "debug_demo",
        "hello world",
    )
    voice = parse_message({"FromUserName": "o", "CreateTime": "1", "MsgType": "voice", "MsgId": "9"})
    assert isinstance(voice, Unsupported) and voice.dedupe_key == "msg:9"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"hello",
        b"<xml><unclosed></xml>",
        b"<root><FromUserName>o</FromUserName></root>",
        b"[1, 2]",
        b'{"FromUserName": "o"',
        b"\xff\xfe{}",
        b'{"FromUserName":"o","CreateTime":"soon","MsgType":"text"}',
        b'{"CreateTime":1,"MsgType":"text"}',
        b'{"FromUserName":"o","CreateTime":1}',
        b'{"a":' * 5000 + b"1" + b"}" * 5000,  # nested beyond the JSON parser's depth
    ],
)
def test_malformed_bodies_are_parse_errors(body: bytes) -> None:
    with pytest.raises(MessageParseError) as error:
        parse_message(parse_envelope(body).fields)
    assert error.value.reason and error.value.status == 400


def test_entity_expansion_and_external_entities_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        b"<xml><FromUserName>&b;</FromUserName></xml>"
    )
    external = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>'
    for body in (bomb, external):
        with pytest.raises(MessageParseError):
            parse_envelope(body)


def test_oversized_body_is_refused_with_413() -> None:
    with pytest.raises(MessageParseError) as error:
        parse_envelope(b"{" + b" " * 70_000 + b"}", max_bytes=65536)
    assert error.value.status == 413


# -- read_push: the whole check -----------------------------------------------------------------


def test_official_plaintext_push_is_read_with_its_signature() -> None:
    v = PLAIN_POST
    query = {"timestamp": v["timestamp"], "nonce": v["nonce"], "signature": v["signature"]}
    push = read_push(v["body"].encode(), query, token=TOKEN, crypto=None, window=0)
    assert not push.encrypted and push.format == "json"
    assert push.message.openid == "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
    with pytest.raises(SignatureError):
        read_push(v["body"].encode(), {**query, "signature": "0" * 40}, token=TOKEN, crypto=None, window=0)


def test_official_secure_json_push() -> None:
    v = SECURE_POST
    body = json.dumps({"ToUserName": "gh_97417a04a28d", "Encrypt": v["encrypt"]}).encode()
    query = {
        "signature": v["signature"],
        "timestamp": v["timestamp"],
        "nonce": v["nonce"],
        "openid": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
        "encrypt_type": "aes",
        "msg_signature": v["msg_signature"],
    }
    push = read_push(body, query, token=TOKEN, crypto=CRYPTO, window=0)
    assert push.encrypted and push.format == "json"
    assert isinstance(push.message, Unsupported) and push.message.event == "debug_demo"
    with pytest.raises(TimestampOutOfWindow):  # the vector is from 2024: outside any real window
        read_push(body, query, token=TOKEN, crypto=CRYPTO, window=300)


def test_legacy_secure_xml_push() -> None:
    v = LEGACY_XML
    crypto = WeChatCrypto(v["token"], v["aes_key"], v["appid"])
    body = f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><Encrypt><![CDATA[{v['encrypt']}]]></Encrypt></xml>"
    query = {
        "timestamp": v["timestamp"],
        "nonce": v["nonce"],
        "encrypt_type": "aes",
        "msg_signature": v["msg_signature"],
    }
    push = read_push(body.encode(), query, token=v["token"], crypto=crypto, window=0)
    assert push.format == "xml"
    assert push.message == TextMessage(
        openid="oyORnuP8q7ou2gfYjqLzSIWZf0rs",
        to="gh_10f6c3c3ac5a",
        create_time=1409735668,
        msg_type="text",
        msg_id="6054768590064713728",
        content="abcdteT",
    )


@pytest.mark.parametrize("as_xml", [False, True])
def test_secure_chinese_text_round_trip(as_xml: bool) -> None:
    now = str(int(time.time()))
    inner = json.dumps(
        {
            "ToUserName": "gh_1",
            "FromUserName": "o-企业",
            "CreateTime": int(now),
            "MsgType": "text",
            "Content": "营业执照变更要带什么材料？",
            "MsgId": 99,
        },
        ensure_ascii=False,
    ).encode()
    body, query = _secure(inner, now, as_xml=as_xml)
    push = read_push(body, query, token=TOKEN, crypto=CRYPTO)
    assert isinstance(push.message, TextMessage) and push.message.content == "营业执照变更要带什么材料？"


def test_compatible_mode_answers_from_the_decrypted_fields_only() -> None:
    now = str(int(time.time()))
    inner = json.dumps({"FromUserName": "o-real", "CreateTime": int(now), "MsgType": "text", "Content": "真"})
    body, query = _secure(inner.encode(), now)
    envelope = json.loads(body)
    forged = {
        **envelope,
        "FromUserName": "o-forged",
        "CreateTime": int(now),
        "MsgType": "text",
        "Content": "假",
    }
    push = read_push(json.dumps(forged).encode(), query, token=TOKEN, crypto=CRYPTO)
    assert push.message.openid == "o-real" and isinstance(push.message, TextMessage)
    assert push.message.content == "真"


def test_secure_push_refusals() -> None:
    now = str(int(time.time()))
    inner = json.dumps(
        {"FromUserName": "o", "CreateTime": int(now), "MsgType": "text", "Content": "x"}
    ).encode()
    body, query = _secure(inner, now)
    with pytest.raises(SignatureError):
        read_push(body, {**query, "msg_signature": "0" * 40}, token=TOKEN, crypto=CRYPTO)
    with pytest.raises(SignatureError):
        read_push(body, query, token="other", crypto=WeChatCrypto("other", "A" * 43, APPID))
    with pytest.raises(AppIdMismatch):
        read_push(body, query, token=TOKEN, crypto=WeChatCrypto(TOKEN, "A" * 43, "wx0000000000000000"))
    with pytest.raises(DecryptError):
        read_push(body, query, token=TOKEN, crypto=None)
    with pytest.raises(DecryptError):
        read_push(b'{"ToUserName":"gh_1"}', query, token=TOKEN, crypto=CRYPTO)
    old = str(int(time.time()) - 3600)
    stale_body, stale_query = _secure(inner, old)
    with pytest.raises(TimestampOutOfWindow):
        read_push(stale_body, stale_query, token=TOKEN, crypto=CRYPTO, window=300)


def test_decrypted_garbage_is_a_parse_error() -> None:
    now = str(int(time.time()))
    body, query = _secure("不是消息".encode(), now)
    with pytest.raises(MessageParseError):
        read_push(body, query, token=TOKEN, crypto=CRYPTO)


def test_plaintext_push_outside_the_window_is_refused() -> None:
    old = str(int(time.time()) - 3600)
    with pytest.raises(TimestampOutOfWindow):
        read_push(TEXT_JSON, _signed_query(old), token=TOKEN, crypto=None, window=300)
    now = str(int(time.time()))
    assert read_push(TEXT_JSON, _signed_query(now), token=TOKEN, crypto=None).message.openid == "fromUser"
