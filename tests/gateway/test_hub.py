"""The live hub: a closed or failing socket never breaks delivery to the others."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.hub import Hub


async def registered(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the server never registered the sockets")


@pytest.fixture
async def hub_and_client() -> AsyncIterator[tuple[Hub[str], TestClient]]:
    hub: Hub[str] = Hub()

    async def chat(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hub.add_chat(request.query["sender"], ws)
        if "user" in request.query:
            hub.add_console(ws, request.query["user"])
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ws", chat)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield hub, client
    await client.close()


async def test_a_closed_tab_is_dropped_and_the_open_one_still_gets_the_frame(
    hub_and_client: tuple[Hub[str], TestClient],
) -> None:
    hub, client = hub_and_client
    closed = await client.ws_connect("/ws?sender=s1")
    open_tab = await client.ws_connect("/ws?sender=s1")
    await registered(lambda: hub.chat_count() == 2)
    await closed.close()

    delivered = await hub.to_chat("s1", {"type": "message", "seq": 1, "text": "您好"})

    assert delivered == 1 and hub.chat_count() == 1
    assert (await open_tab.receive_json(timeout=5))["text"] == "您好"
    assert await hub.to_chat("nobody", {"type": "message"}) == 0
    await open_tab.close()


async def test_console_events_reach_only_the_users_allowed_to_see_them(
    hub_and_client: tuple[Hub[str], TestClient],
) -> None:
    hub, client = hub_and_client
    hejie = await client.ws_connect("/ws?sender=c1&user=hejie")
    zhu = await client.ws_connect("/ws?sender=c2&user=zhu")
    await registered(lambda: len(hub.console_users()) == 2)

    def broken(user: str) -> bool:
        if user == "zhu":
            raise RuntimeError("scope lookup failed")
        return True

    assert await hub.to_console({"type": "handoff"}, broken) == 1
    assert (await hejie.receive_json(timeout=5)) == {"type": "handoff"}
    await hejie.close()
    await zhu.close()
