"""The gateway benchmark's own measuring code: turns end at the right frame, the audit sees drops and repeats."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bench.gateway_client import ChatConversation, audit
from bot.processes import free_port


def turn_frames(message_id: str, first_seq: int) -> list[dict[str, Any]]:
    """What the gateway sends for one guide question: ack, echo, the answer text, the card."""
    return [
        {"type": "ack", "id": message_id, "seq": first_seq, "duplicate": False},
        {"type": "message", "seq": first_seq, "from": "enterprise", "text": "问", "reply_to": message_id},
        {"type": "message", "seq": first_seq + 1, "from": "bot", "text": "答"},
        {"type": "message", "seq": first_seq + 2, "from": "bot", "text": "卡片", "custom": {"kind": "guide"}},
    ]


def test_a_clean_conversation_passes() -> None:
    frames = turn_frames("a", 1) + turn_frames("b", 4)
    result = audit(["a", "b"], frames)
    assert (result.acked_once, result.replied_once) == (2, 2)
    assert result.clean


def test_a_dropped_reply_is_reported() -> None:
    frames = turn_frames("a", 1) + turn_frames("b", 4)[:-1]  # the card of "b" never came
    frames += turn_frames("c", 7)
    result = audit(["a", "b", "c"], frames)
    assert result.reply_missing == 1
    assert result.seq_missing == 1
    assert not result.clean


def test_a_reply_delivered_twice_is_reported() -> None:
    frames = turn_frames("a", 1)
    frames.append(dict(frames[-1]))
    result = audit(["a"], frames)
    assert result.reply_repeated == 1
    assert result.seq_repeated == 1
    assert not result.clean


def test_a_message_the_gateway_saw_twice_is_reported() -> None:
    frames = turn_frames("a", 1)
    frames.insert(1, {"type": "ack", "id": "a", "seq": 1, "duplicate": True})
    result = audit(["a"], frames)
    assert result.ack_repeated == 1
    assert not result.clean


def test_bot_frames_after_the_card_count_as_late() -> None:
    frames = turn_frames("a", 1) + [{"type": "message", "seq": 4, "from": "bot", "text": "还有"}]
    result = audit(["a"], frames)
    assert result.late_frames == 1


def test_an_error_frame_is_not_clean() -> None:
    frames = turn_frames("a", 1) + [{"type": "error", "code": "rate_limited", "text": "太快了", "id": "b"}]
    result = audit(["a", "b"], frames)
    assert result.error_frames == {"rate_limited": 1}
    assert result.ack_missing == 1
    assert not result.clean


@pytest.fixture
async def slow_card_server() -> AsyncIterator[str]:
    """A WebSocket that answers like the gateway, the card 0.3 s after the text, the ack last."""

    async def ws_view(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            frame = json.loads(message.data)
            frames = turn_frames(frame["id"], 1)
            await ws.send_json(frames[2])
            await asyncio.sleep(0.3)
            await ws.send_json(frames[3])
            await asyncio.sleep(0.2)
            await ws.send_json(frames[0])
        return ws

    app = web.Application()
    app.router.add_get("/ws", ws_view)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"ws://127.0.0.1:{port}/ws"
    await runner.cleanup()


async def test_a_turn_ends_at_the_card_and_the_ack_not_at_the_first_bot_frame(slow_card_server: str) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(slow_card_server)
        chat = ChatConversation(sender="s", token="t", ws=ws)
        chat.start_reading()
        turn = await chat.ask("a", "食品经营许可证需要准备哪些材料", timeout=5)
        await chat.close()
    assert turn.error is None
    assert turn.seconds is not None and turn.seconds >= 0.5
    assert audit(chat.sent_ids, chat.frames, chat.in_flight).clean


async def test_a_turn_without_its_reply_times_out(slow_card_server: str) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(slow_card_server)
        chat = ChatConversation(sender="s", token="t", ws=ws)
        chat.start_reading()
        turn = await chat.ask("a", "问", timeout=0.1)
        await chat.close()
    assert turn.error == "timeout"
    assert turn.seconds is None
