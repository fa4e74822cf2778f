"""Behind a reverse proxy the log-in rate limit counts each user's own address, not the proxy's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from unittest.mock import Mock

import pytest
from aiohttp.test_utils import make_mocked_request

from gateway.console.auth import client_address
from tests.gateway.conftest import PASSWORD, Clock, Gateway, start_gateway
from tests.gateway.console.conftest import Seed
from tests.gateway.fake_rasa import FakeRasa

LOGIN = "/api/console/login"
PROXY = "127.0.0.1"  # the test client connects from loopback: it plays the proxy


def _request(remote: str, forwarded: str | None = None):  # type: ignore[no-untyped-def]
    transport = Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (remote, 40000) if name == "peername" else default
    )
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return make_mocked_request("POST", LOGIN, headers=headers, transport=transport)


def test_a_forwarded_address_counts_only_when_the_proxy_is_trusted() -> None:
    assert client_address(_request("10.0.0.5", "203.0.113.9"), frozenset()) == "10.0.0.5"
    assert client_address(_request("10.0.0.5", "203.0.113.9"), frozenset({"10.0.0.5"})) == "203.0.113.9"
    # a client's own made-up header in front of the proxy's entry is not believed
    assert (
        client_address(_request("10.0.0.5", "198.51.100.1, 203.0.113.9"), frozenset({"10.0.0.5"}))
        == "203.0.113.9"
    )
    assert (
        client_address(_request("10.0.0.5", "203.0.113.9, 10.0.0.4"), frozenset({"10.0.0.5", "10.0.0.4"}))
        == "203.0.113.9"
    )
    assert client_address(_request("10.0.0.5"), frozenset({"10.0.0.5"})) == "10.0.0.5"


@pytest.fixture
async def proxied(
    console_url: str, console_template: tuple[Path, Seed], clock: Clock
) -> AsyncIterator[Gateway]:
    async with start_gateway(console_url, FakeRasa(), clock, trusted_proxies=frozenset({PROXY})) as gateway:
        yield gateway


async def test_one_users_failures_behind_the_proxy_do_not_lock_out_another(proxied: Gateway) -> None:
    client = proxied.client
    guesser = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(5):
        response = await client.post(
            LOGIN, json={"username": "zhu", "password": "guess-guess"}, headers=guesser
        )
        assert response.status == 401
    refused = await client.post(LOGIN, json={"username": "zhu", "password": PASSWORD}, headers=guesser)
    assert refused.status == 429
    # 朱子涵 at her own desk, through the same proxy, still logs in
    desk = await client.post(
        LOGIN, json={"username": "zhu", "password": PASSWORD}, headers={"X-Forwarded-For": "198.51.100.7"}
    )
    assert desk.status == 200, await desk.json()
