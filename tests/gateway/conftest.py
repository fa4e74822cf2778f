"""The real gateway app (``create_app``) on a test server, in front of a fake Rasa, on real SQLite.

Each test gets its own copy of a database holding the demo knowledge base and registry,
a clock it can move (Monday 30 November 2026, 10:00 in the office by default, a working
moment), and helpers to talk to the gateway as an enterprise would.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientWebSocketResponse, WSMsgType, web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.orm import sessionmaker

from accounts.service import create_user
from accounts.views import UserPublic
from appeals.settings import AppealsSettings
from gateway.app import create_app
from gateway.settings import GatewaySettings
from gateway.typedefs import CLOCK_KEY
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.conftest import build_demo_world
from tests.gateway.fake_rasa import FakeRasa

SECRET = "identity-secret-for-tests"
OFFICE = timezone(timedelta(hours=8))
MONDAY_10AM = datetime(2026, 11, 30, 10, 0, tzinfo=OFFICE)
PASSWORD = "butler-password-1"
HEJIE_PHONE = "13800000016"  # 何杰 in the demo registry
ZHU_PHONE = "13800000027"  # 朱子涵


@dataclass
class Clock:
    """A clock the test moves; the gateway reads it through ``app[CLOCK_KEY]``."""

    now: datetime = MONDAY_10AM

    def __call__(self) -> datetime:
        return self.now.astimezone(timezone.utc)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="session")
def world_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gateway-world") / "world.db"
    build_demo_world(f"sqlite:///{path}")
    return path


@pytest.fixture
def world_url(world_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "butler.db"
    shutil.copy(world_template, path)
    return f"sqlite:///{path}"


@dataclass
class Gateway:
    """One running gateway and what a test needs around it."""

    app: web.Application
    client: TestClient
    fake: FakeRasa
    settings: GatewaySettings
    factory: sessionmaker
    clock: Clock
    sockets: list[ClientWebSocketResponse] = field(default_factory=list)

    async def open_session(self) -> tuple[str, str]:
        response = await self.client.post("/api/chat/session")
        assert response.status == 200
        body = await response.json()
        return body["token"], body["sender"]

    async def connect(self, token: str) -> ClientWebSocketResponse:
        ws = await self.client.ws_connect(f"/api/chat/ws?token={token}")
        self.sockets.append(ws)
        return ws

    def user(self, username: str, phone: str, role: str = "butler") -> UserPublic:
        with transaction(self.factory) as session:
            return create_user(session, username, PASSWORD, role, butler_phone=phone)


async def next_frame(ws: ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    message = await ws.receive(timeout=timeout)
    assert message.type == WSMsgType.TEXT, f"expected a text frame, got {message.type}"
    frame: dict[str, Any] = json.loads(message.data)
    return frame


async def frames_until(
    ws: ClientWebSocketResponse, done: Callable[[dict[str, Any]], bool], timeout: float = 5.0
) -> list[dict[str, Any]]:
    """Every frame received up to and including the first for which ``done`` holds."""
    frames: list[dict[str, Any]] = []
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        assert left > 0, f"timed out; received so far: {frames}"
        frame = await next_frame(ws, left)
        frames.append(frame)
        if done(frame):
            return frames


async def quiet(ws: ClientWebSocketResponse) -> list[dict[str, Any]]:
    """Frames still on their way: send a ping and collect everything before its pong."""
    await ws.send_json({"type": "ping"})
    frames = await frames_until(ws, lambda f: f["type"] == "pong")
    return frames[:-1]


def of_type(frames: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in frames if f["type"] == kind]


async def say(ws: ClientWebSocketResponse, client_id: str, text: str) -> list[dict[str, Any]]:
    """Send a message and return every frame that follows until the gateway is done with it."""
    await ws.send_json({"type": "message", "id": client_id, "text": text})
    return await quiet(ws)


def make_settings(url: str, rasa_url: str, fake: FakeRasa, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "database_url": url,
        "rasa_url": rasa_url,
        "rasa_token": fake.token,
        "identity_secret": SECRET,
        "notice_poll_seconds": 0.05,
        "idle_check_seconds": 3600.0,
        "rasa_timeout": 5.0,
        "appeals": AppealsSettings(database_url=url),
    }
    values.update(overrides)
    return GatewaySettings(**values)


@asynccontextmanager
async def start_gateway(url: str, fake: FakeRasa, clock: Clock, **overrides: Any) -> AsyncIterator[Gateway]:
    """A fake Rasa and the real gateway app in front of it; both closed on exit."""
    rasa = TestServer(fake.app())
    await rasa.start_server()
    settings = make_settings(url, str(rasa.make_url("")).rstrip("/"), fake, **overrides)
    app = create_app(settings)
    app[CLOCK_KEY] = clock
    client = TestClient(TestServer(app))
    await client.start_server()
    gateway = Gateway(app, client, fake, settings, make_session_factory(make_engine(url)), clock)
    try:
        yield gateway
    finally:
        for ws in gateway.sockets:
            await ws.close()
        await client.close()
        await rasa.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def gw(world_url: str, clock: Clock) -> AsyncIterator[Gateway]:
    async with start_gateway(world_url, FakeRasa(), clock) as gateway:
        yield gateway
