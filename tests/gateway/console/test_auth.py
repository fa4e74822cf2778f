"""Log-in, the session cookie, CSRF, log-out and the log-in rate limit of the console API."""

from __future__ import annotations

from sqlalchemy import select

from accounts.models import AuditEntry
from tests.gateway.conftest import PASSWORD, Clock, start_gateway
from tests.gateway.console.conftest import World, log_in
from tests.gateway.fake_rasa import FakeRasa

LOGIN = "/api/console/login"


async def test_login_sets_an_httponly_strict_cookie_and_returns_the_csrf_token(world: World) -> None:
    client = world.gateway.client
    response = await client.post(LOGIN, json={"username": "hejie", "password": PASSWORD})
    body = await response.json()
    assert response.status == 200
    assert body["user"] == {"username": "hejie", "display_name": "何杰", "role": "butler"}
    assert len(body["csrf_token"]) >= 32
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("butler_session=")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # served over plain HTTP in this test
    # the cookie alone identifies the user; the CSRF token comes back from /me
    token = response.cookies["butler_session"].value
    client.session.cookie_jar.clear()
    me = await client.get("/api/console/me", headers={"Cookie": f"butler_session={token}"})
    assert me.status == 200
    assert await me.json() == {"user": body["user"], "csrf_token": body["csrf_token"]}


async def test_cookie_is_secure_when_the_gateway_is_served_behind_https(
    console_url: str, clock: Clock
) -> None:
    async with start_gateway(console_url, FakeRasa(), clock, cookie_secure=True) as gateway:
        response = await gateway.client.post(LOGIN, json={"username": "zhu", "password": PASSWORD})
        assert response.status == 200
        assert "Secure" in response.headers["Set-Cookie"]


async def test_wrong_password_and_unknown_user_get_the_same_401(world: World) -> None:
    client = world.gateway.client
    wrong = await client.post(LOGIN, json={"username": "hejie", "password": "not-the-password"})
    unknown = await client.post(LOGIN, json={"username": "nobody", "password": "not-the-password"})
    assert wrong.status == unknown.status == 401
    assert (
        await wrong.json()
        == await unknown.json()
        == {"error": "invalid_credentials", "message": "用户名或密码错误"}
    )
    assert "Set-Cookie" not in wrong.headers


async def test_login_rejects_bad_json_and_missing_fields_in_chinese(world: World) -> None:
    client = world.gateway.client
    broken = await client.post(LOGIN, data="{username:", headers={"Content-Type": "application/json"})
    assert broken.status == 400
    assert await broken.json() == {"error": "bad_json", "message": "请求体不是有效的JSON"}
    missing = await client.post(LOGIN, json={"username": "hejie"})
    assert missing.status == 422
    assert (await missing.json())["message"] == "请填写密码"
    not_object = await client.post(LOGIN, json=["hejie", PASSWORD])
    assert not_object.status == 422


async def test_login_is_rate_limited_after_five_failures(world: World) -> None:
    client = world.gateway.client
    for _ in range(5):
        response = await client.post(LOGIN, json={"username": "zhu", "password": "guess-guess"})
        assert response.status == 401
    refused = await client.post(LOGIN, json={"username": "zhu", "password": PASSWORD})
    body = await refused.json()
    assert refused.status == 429, body
    assert body["error"] == "rate_limited"
    assert "登录失败次数过多" in body["message"] and "分钟后再试" in body["message"]
    assert int(refused.headers["Retry-After"]) > 0
    # another account from the same client is not locked out by zhu's failures
    assert (await client.post(LOGIN, json={"username": "hejie", "password": PASSWORD})).status == 200


async def test_logins_are_audited_with_actor_and_time(world: World) -> None:
    with world.gateway.factory() as session:
        entries = session.execute(select(AuditEntry).where(AuditEntry.action == "login")).scalars().all()
    assert entries == []  # nobody has logged in yet
    await world.as_("hejie")
    await world.as_("admin")
    with world.gateway.factory() as session:
        entries = session.execute(select(AuditEntry).where(AuditEntry.action == "login")).scalars().all()
    assert sorted(e.target for e in entries) == ["user:admin", "user:hejie"]
    assert all(e.actor and e.created_at is not None for e in entries)


async def test_logout_needs_csrf_and_ends_the_session(world: World) -> None:
    hejie = await world.as_("hejie")
    refused = await hejie.post("/api/console/logout", csrf=False)
    assert refused.status == 403
    assert (await refused.json())["error"] == "csrf"
    assert (await hejie.get("/api/console/me")).status == 200  # still logged in
    response = await hejie.post("/api/console/logout")
    assert response.status == 200
    assert await response.json() == {"ok": True}
    after = await hejie.get("/api/console/me")
    assert after.status == 401
    assert (await after.json())["error"] == "unauthorized"


async def test_a_new_login_gets_a_new_session_and_csrf_token(world: World) -> None:
    first = await world.as_("hejie")
    again = await log_in(world.gateway, "hejie")
    assert again.token != first.token
    assert again.csrf != first.csrf
    # a CSRF token of another session does not pass
    mixed = first
    response = await world.gateway.client.post(
        "/api/console/conversations/1/notes",
        json={"text": "备注"},
        headers={"Cookie": f"butler_session={mixed.token}", "X-CSRF-Token": again.csrf},
    )
    assert response.status == 403


async def test_a_malformed_cookie_header_is_refused_or_read_but_never_an_error(world: World) -> None:
    client = world.gateway.client
    odd = "a=1; .=x; weird name=2"
    anonymous = await client.get("/api/console/me", headers={"Cookie": odd})
    assert anonymous.status == 401
    hejie = await world.as_("hejie")
    mixed = await client.get("/api/console/me", headers={"Cookie": f"{odd}; butler_session={hejie.token}"})
    assert mixed.status == 200
    assert (await mixed.json())["user"]["username"] == "hejie"
