"""The console world: the real gateway (``tests/gateway/conftest.py``), console accounts, a ticket and a conversation.

People, from the demo registry:

- 何杰 (``hejie``), butler of 示例市腾飞生物医药有限公司, 市商务局: the right butler;
- 朱子涵 (``zhu``), butler of 万象精密模具, 城西区营商环境办: the wrong butler;
- ``commerce_head``, head of 市商务局 (何杰's department), also the butler 郭海燕;
- ``east_head``, head of 城东区营商环境办, also the butler 吴勇: a head of another department;
- ``admin``, an administrator who is also the butler 何洋 (示例县), so they can take conversations over.

The world holds one ticket and one waiting conversation of 腾飞 (so only 何杰, his head
and the admin may see them) and one ticket of 万象 for 朱子涵.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientWebSocketResponse
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from accounts.service import create_user
from appeals.filing import create_ticket
from appeals.models import Butler, Enterprise
from appeals.settings import AppealsSettings
from appeals.views import TicketCreate
from conversations import service as conversations
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.gateway.conftest import MONDAY_10AM, PASSWORD, Clock, Gateway, start_gateway
from tests.gateway.fake_rasa import FakeRasa

TENGFEI = "示例市腾飞生物医药有限公司"
WANXIANG = "示例市万象精密模具有限公司"
TENGFEI_SENDER = "web-tengfei-visitor"

# username -> (role, butler phone, department)
ACCOUNTS: dict[str, tuple[str, str | None, str | None]] = {
    "hejie": ("butler", "13800000016", None),
    "zhu": ("butler", "13800000027", None),
    "commerce_head": ("head", "13800000034", "市商务局"),
    "east_head": ("head", "13800000021", "城东区营商环境办"),
    "admin": ("admin", "13800000020", None),
}


@dataclass
class Console:
    """One logged-in console user: their cookie token and CSRF token, sent explicitly on every call."""

    gateway: Gateway
    username: str
    token: str
    csrf: str

    def headers(self, csrf: bool = True) -> dict[str, str]:
        headers = {"Cookie": f"butler_session={self.token}"}
        if csrf:
            headers["X-CSRF-Token"] = self.csrf
        return headers

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.gateway.client.get(path, headers=self.headers(csrf=False), **kwargs)

    async def post(self, path: str, body: Any = None, *, csrf: bool = True, **kwargs: Any) -> ClientResponse:
        if body is not None:
            kwargs["json"] = body
        headers = {**self.headers(csrf), **kwargs.pop("headers", {})}
        return await self.gateway.client.post(path, headers=headers, **kwargs)

    async def json(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = await (self.get(path) if method == "GET" else self.post(path, body))
        data = await response.json()
        assert response.status == status, f"{method} {path} as {self.username}: {response.status} {data}"
        return data

    async def ws(self) -> ClientWebSocketResponse:
        ws = await self.gateway.client.ws_connect("/api/console/ws", headers=self.headers(csrf=False))
        self.gateway.sockets.append(ws)
        return ws


async def log_in(gateway: Gateway, username: str, password: str = PASSWORD) -> Console:
    """Log in through the API and keep the cookie out of the client's shared jar."""
    response = await gateway.client.post(
        "/api/console/login", json={"username": username, "password": password}
    )
    body = await response.json()
    assert response.status == 200, body
    token = response.cookies["butler_session"].value
    gateway.client.session.cookie_jar.clear()
    return Console(gateway, username, token, body["csrf_token"])


def file_ticket(
    factory: sessionmaker, enterprise: str, key: str, description: str = "我们厂停电三天了，影响生产"
) -> str:
    """File a ticket for ``enterprise`` on Monday 10:00, as the chat would; it is routed to the enterprise's butler."""
    with factory() as session:
        enterprise_id = session.execute(
            select(Enterprise.id).where(Enterprise.name == enterprise)
        ).scalar_one()
    ticket = create_ticket(
        factory,
        TicketCreate(
            idempotency_key=key,
            category="用电用水用气",
            description=description,
            contact_name="杨刚",
            contact_phone="13900000001",
            enterprise_id=enterprise_id,
            channel="web",
        ),
        now=MONDAY_10AM,
        settings=AppealsSettings(database_url=str(factory.kw["bind"].url)),
    )
    return ticket.number


def open_waiting_conversation(factory: sessionmaker, sender: str, enterprise: str | None) -> int:
    """A conversation whose enterprise asked for a person (bound to ``enterprise`` when given)."""
    with transaction(factory) as session:
        enterprise_id = (
            session.execute(select(Enterprise.id).where(Enterprise.name == enterprise)).scalar_one()
            if enterprise
            else None
        )
        at = MONDAY_10AM.astimezone(timezone.utc).replace(tzinfo=None)  # the tables keep naive UTC
        conversations.get_or_open(session, sender, "web", enterprise_id, now=at)
        conversations.record_enterprise_message(session, sender, "m1", "我要找人工", now=at)
        return conversations.request_handoff(session, sender, "企业请求人工服务", at).id


@dataclass(frozen=True)
class Seed:
    """What the template database holds besides the demo world."""

    ticket: str
    other_ticket: str
    conversation_id: int
    butler_ids: dict[str, int]


def seed_console_world(url: str) -> Seed:
    """Accounts, two tickets and a waiting conversation (argon2 is slow: done once per run, then copied)."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    butler_ids: dict[str, int] = {}
    with transaction(factory) as session:
        for username, (role, phone, department) in ACCOUNTS.items():
            user = create_user(session, username, PASSWORD, role, butler_phone=phone, department=department)
            assert user.butler_id is not None
            butler_ids[username] = user.butler_id
        butler_ids["wu"] = session.execute(
            select(Butler.id).where(Butler.phone == "13800000031")
        ).scalar_one()
    seed = Seed(
        ticket=file_ticket(factory, TENGFEI, "test:tengfei:1"),
        other_ticket=file_ticket(factory, WANXIANG, "test:wanxiang:1", "模具厂用地手续卡住了"),
        conversation_id=open_waiting_conversation(factory, TENGFEI_SENDER, TENGFEI),
        butler_ids=butler_ids,
    )
    engine.dispose()
    return seed


@dataclass
class World:
    gateway: Gateway
    ticket: str  # 腾飞's ticket, 何杰's
    other_ticket: str  # 万象's ticket, 朱子涵's
    conversation_id: int  # 腾飞's waiting conversation
    butler_ids: dict[str, int]  # username -> appeals butler id
    consoles: dict[str, Console] = field(default_factory=dict)

    async def as_(self, username: str) -> Console:
        """The user logged in (once per test; log-ins are argon2-slow)."""
        if username not in self.consoles:
            self.consoles[username] = await log_in(self.gateway, username)
        return self.consoles[username]


@pytest.fixture(scope="session")
def console_template(world_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Seed]:
    path = tmp_path_factory.mktemp("console-world") / "console.db"
    shutil.copy(world_template, path)
    return path, seed_console_world(f"sqlite:///{path}")


@pytest.fixture
def console_url(console_template: tuple[Path, Seed], tmp_path: Path) -> str:
    path = tmp_path / "console.db"
    shutil.copy(console_template[0], path)
    return f"sqlite:///{path}"


@pytest.fixture
async def world(console_url: str, console_template: tuple[Path, Seed], clock: Clock) -> AsyncIterator[World]:
    seed = console_template[1]
    # the outbox pump looks once at start-up and then rarely, so tests see pending notices
    async with start_gateway(console_url, FakeRasa(), clock, notice_poll_seconds=3600.0) as gateway:
        yield World(gateway, seed.ticket, seed.other_ticket, seed.conversation_id, dict(seed.butler_ids))
