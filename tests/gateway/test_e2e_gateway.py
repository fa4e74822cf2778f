"""The real stack as an enterprise meets it: `python -m gateway` in front of Rasa with the trained model."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.conftest import MODEL, build_demo_world
from tests.servers import RunningStack, running_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    assert MODEL.exists(), "train the model first (make train)"
    workdir = tmp_path_factory.mktemp("e2e-gateway")
    url = f"sqlite:///{workdir / 'butler.db'}"
    build_demo_world(url)
    with running_stack(MODEL, workdir, url) as running:
        yield running


async def frames_until(
    ws: aiohttp.ClientWebSocketResponse, done: Any, timeout: float = 60
) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    while True:
        message = await ws.receive(timeout=timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, f"socket ended: {message.type}; got {frames}"
        frame = json.loads(message.data)
        frames.append(frame)
        if done(frame):
            return frames


async def test_a_web_visitor_asks_a_guide_question_then_for_a_person(stack: RunningStack) -> None:
    base = stack.gateway.url
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{base}/api/chat/session") as response:
            assert response.status == 200
            session = await response.json()
        async with http.ws_connect(f"{base}/api/chat/ws?token={session['token']}") as ws:
            await ws.send_json({"type": "message", "id": "e2e-1", "text": "食品经营许可证要什么材料"})
            frames = await frames_until(ws, lambda f: f.get("from") == "bot")
            guide = frames[-1]
            assert guide["custom"]["kind"] == "guide" and guide["seq"] == 2
            assert "食品经营许可" in guide["text"]

            await ws.send_json({"type": "message", "id": "e2e-2", "text": "转人工"})
            frames = await frames_until(ws, lambda f: f["type"] == "state")
            assert frames[-1]["state"] == "waiting"
            assert any(f.get("custom", {}).get("kind") == "handoff" for f in frames)

        # Rasa itself is not reachable without the token, and the gateway never forwards a client's metadata
        async with http.get(
            f"{stack.assistant.rasa_url}/conversations/{session['sender']}/tracker"
        ) as response:
            assert response.status == 401
