"""What the consoles hear live from the chat path: only the conversations and tickets in each user's scope."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientWebSocketResponse

from gateway.typedefs import HUB_KEY
from tests.gateway.conftest import HEJIE_PHONE, PASSWORD, ZHU_PHONE, Gateway, frames_until, quiet
from tests.gateway.test_handoff import bind_to_hejies_enterprise
from tests.gateway.test_notices import file_ticket


async def console(gw: Gateway, username: str, phone: str) -> ClientWebSocketResponse:
    """Log a butler in through the console API and open the console's WebSocket."""
    gw.user(username, phone)
    response = await gw.client.post("/api/console/login", json={"username": username, "password": PASSWORD})
    assert response.status == 200, await response.text()
    cookie = response.cookies["butler_session"].value
    hub = gw.app[HUB_KEY]
    expected = len(hub.console_users()) + 1
    ws = await gw.client.ws_connect("/api/console/ws", headers={"Cookie": f"butler_session={cookie}"})
    gw.sockets.append(ws)
    for _ in range(200):  # registered in the hub right after the upgrade
        if len(hub.console_users()) == expected:
            return ws
        await asyncio.sleep(0.01)
    raise AssertionError("the console socket was never registered")


async def heard(ws: ClientWebSocketResponse) -> list[dict[str, Any]]:
    await ws.send_json({"type": "ping"})
    return (await frames_until(ws, lambda f: f["type"] == "pong"))[:-1]


async def test_a_hand_off_reaches_the_enterprises_butler_and_not_another(gw: Gateway) -> None:
    hejie = await console(gw, "hejie", HEJIE_PHONE)
    zhu = await console(gw, "zhu", ZHU_PHONE)
    token, sender = await gw.open_session()
    bind_to_hejies_enterprise(gw, sender)
    chat = await gw.connect(token)
    await chat.send_json({"type": "handoff", "id": "b1"})
    await quiet(chat)
    await chat.send_json({"type": "message", "id": "m2", "text": "我们厂停电三天了"})
    await quiet(chat)

    events = await heard(hejie)
    assert [e["type"] for e in events] == ["handoff", "conversation_message"]
    assert events[0]["conversation"]["sender"] == sender and events[0]["conversation"]["state"] == "waiting"
    assert events[1]["message"]["text"] == "我们厂停电三天了"
    assert await heard(zhu) == []


async def test_a_new_ticket_is_announced_to_its_butler(gw: Gateway) -> None:
    hejie = await console(gw, "hejie", HEJIE_PHONE)
    zhu = await console(gw, "zhu", ZHU_PHONE)
    token, sender = await gw.open_session()
    chat = await gw.connect(token)

    ticket = file_ticket(gw, sender)
    await frames_until(chat, lambda f: f.get("from") == "system")

    events = await frames_until(hejie, lambda f: f["type"] == "ticket")
    assert events[-1]["event"] == "new" and events[-1]["ticket"]["number"] == ticket.number
    assert [e for e in await heard(zhu) if e["type"] == "ticket"] == []
