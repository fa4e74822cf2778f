"""RasaClient against a recording fake Rasa: the calls it makes and how failures reach the enterprise."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bot.processes import free_port
from gateway.chat import AssistantReply, merge_replies
from gateway.rasa_client import RasaClient, RasaUnavailable
from tests.gateway.fake_rasa import FakeRasa


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[FakeRasa, RasaClient]]:
    fake = FakeRasa()
    server = TestServer(fake.app())
    await server.start_server()
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        yield fake, RasaClient(session, str(server.make_url("")), fake.token)
    await server.close()


async def test_send_posts_to_the_rest_webhook(rasa: tuple[FakeRasa, RasaClient]) -> None:
    fake, client = rasa
    fake.script["你好"] = [{"text": "您好", "custom": {"kind": "greet"}}]
    replies = await client.send("web-1", "你好", {"identity": {"sender": "web-1"}})
    assert replies == [
        {"recipient_id": "web-1", "text": "您好"},
        {"recipient_id": "web-1", "custom": {"kind": "greet"}},
    ]
    assert fake.messages() == [
        {"sender": "web-1", "message": "你好", "metadata": {"identity": {"sender": "web-1"}}}
    ]


async def test_events_and_external_intents_use_the_token(rasa: tuple[FakeRasa, RasaClient]) -> None:
    fake, client = rasa
    fake.trigger_script["EXTERNAL_ticket_answered"] = [{"text": "请评价"}]
    await client.append_events("web 1/x", [{"event": "pause"}])
    messages = await client.trigger_intent("web 1/x", "EXTERNAL_ticket_answered", {"ticket_number": "GD1"})

    assert fake.events("web 1/x") == [{"event": "pause"}]
    assert messages == [{"recipient_id": "web 1/x", "text": "请评价"}]
    assert all(c.query == {"token": fake.token, "include_events": "NONE"} for c in fake.calls)


async def test_failures_become_rasa_unavailable_with_the_chinese_sentence(
    rasa: tuple[FakeRasa, RasaClient],
) -> None:
    fake, client = rasa
    fake.down = True
    with pytest.raises(RasaUnavailable) as caught:
        await client.send("web-1", "你好", {})
    assert str(caught.value) == "助手暂时无法回答，请稍后再试或点“联系管家”"

    async with aiohttp.ClientSession() as session:
        wrong_token = RasaClient(session, str(client._base), "wrong")
        with pytest.raises(RasaUnavailable):
            await wrong_token.append_events("web-1", [{"event": "resume"}])
        nobody = RasaClient(session, f"http://127.0.0.1:{free_port()}")
        with pytest.raises(RasaUnavailable):
            await nobody.send("web-1", "你好", {})


def test_a_custom_payload_joins_the_text_before_it() -> None:
    replies = [
        {"text": "【事项】材料", "buttons": [{"title": "更多", "payload": "/more"}]},
        {"custom": {"kind": "guide"}},
        {"custom": {"kind": "ticket"}},
        {"image": "http://example.invalid/x.png"},
        {"text": "还有什么可以帮您？"},
    ]
    assert merge_replies(replies) == [
        AssistantReply("【事项】材料", {"kind": "guide"}, [{"title": "更多", "payload": "/more"}]),
        AssistantReply("", {"kind": "ticket"}),
        AssistantReply("还有什么可以帮您？"),
    ]
