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

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import ClientResponse, ClientWebSocketResponse
from sqlalchemy import select

from accounts.service import create_user
from appeals.filing import create_ticket
from appeals.models import Butler, Enterprise
from appeals.views import TicketCreate
from conversations import service as conversations
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
        return await self.gateway.client.post(path, headers=self.headers(csrf), **kwargs)

    async def json(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = await (self.get(path) if method == "GET" else self.post(path, body))
        data = await response.json()
        assert response.status == status, f"{method} {path} as {self.username}: {response.status} {data}"
        return data

    async def ws(self) -> ClientWebSocketResponse:
        ws = await self.gateway.client.ws_connect("/api/console/ws", headers=self.headers(csrf=False))
        self.gateway.sockets.append(ws)
        return ws


@dataclass
class World:
    gateway: Gateway
    ticket: str  # 腾飞's ticket, 何杰's
    other_ticket: str  # 万象's ticket, 朱子涵's
    conversation_id: int  # 腾飞's waiting conversation
    butler_ids: dict[str, int]  # username -> appeals butler id
    consoles: dict[str, Console]

    def __getitem__(self, username: str) -> Console:
        return self.consoles[username]


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
    gateway: Gateway, enterprise: str, key: str, description: str = "我们厂停电三天了，影响生产"
) -> str:
    with gateway.factory() as session:
        enterprise_id = session.execute(
            select(Enterprise.id).where(Enterprise.name == enterprise)
        ).scalar_one()
    ticket = create_ticket(
        gateway.factory,
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
        settings=gateway.settings.appeals_settings,
    )
    return ticket.number


def open_waiting_conversation(gateway: Gateway, sender: str, enterprise: str | None) -> int:
    with transaction(gateway.factory) as session:
        enterprise_id = (
            session.execute(select(Enterprise.id).where(Enterprise.name == enterprise)).scalar_one()
            if enterprise
            else None
        )
        conversations.get_or_open(session, sender, "web", enterprise_id)
        conversations.record_enterprise_message(session, sender, "m1", "我要找人工")
        return conversations.request_handoff(session, sender, "企业请求人工服务").id


async def build_world(gateway: Gateway) -> World:
    butler_ids: dict[str, int] = {}
    with transaction(gateway.factory) as session:
        for username, (role, phone, department) in ACCOUNTS.items():
            user = create_user(session, username, PASSWORD, role, butler_phone=phone, department=department)
            assert user.butler_id is not None
            butler_ids[username] = user.butler_id
        butler_ids["wu"] = session.execute(
            select(Butler.id).where(Butler.phone == "13800000031")
        ).scalar_one()
    ticket = file_ticket(gateway, TENGFEI, "test:tengfei:1")
    other = file_ticket(gateway, WANXIANG, "test:wanxiang:1", "模具厂用地手续卡住了")
    conversation_id = open_waiting_conversation(gateway, TENGFEI_SENDER, TENGFEI)
    consoles = {name: await log_in(gateway, name) for name in ACCOUNTS}
    return World(gateway, ticket, other, conversation_id, butler_ids, consoles)


@pytest.fixture
async def world(world_url: str, clock: Clock) -> AsyncIterator[World]:
    # the outbox pump looks once at start-up and then rarely, so tests see pending notices
    async with start_gateway(world_url, FakeRasa(), clock, notice_poll_seconds=3600.0) as gateway:
        yield await build_world(gateway)
