"""The OpenAPI document: the operations the issue names, every route described, real answers that fit it."""

from __future__ import annotations

from typing import Any

import jsonschema
from aiohttp import ClientResponse

from gateway.console.openapi import build_openapi
from tests.gateway.console.conftest import World

REQUIRED = {
    "login",
    "listConversations",
    "takeOverConversation",
    "sendButlerMessage",
    "handBackConversation",
    "getTranscript",
    "listTickets",
    "getTicket",
    "recordContact",
    "answerTicket",
}


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
    }


def _json_schema(schema: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0 schema → JSON Schema: inline ``$ref``s, turn ``nullable`` into a null type."""
    if isinstance(schema, list):
        return [_json_schema(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _json_schema(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    out = {key: _json_schema(value, components) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable"):
        out = {"anyOf": [out, {"type": "null"}]}
    return out


async def _conforms(document: dict[str, Any], operation_id: str, response: ClientResponse) -> Any:
    """The response's JSON, after checking it against the documented schema for its status."""
    _, _, op = _operations(document)[operation_id]
    assert str(response.status) in op["responses"], f"{operation_id}: undocumented status {response.status}"
    assert response.content_type == "application/json"
    body = await response.json()
    schema = op["responses"][str(response.status)]["content"]["application/json"]["schema"]
    jsonschema.validate(body, _json_schema(schema, document["components"]["schemas"]))
    return body


def test_the_issue_names_these_operation_ids_exactly() -> None:
    document = build_openapi()
    assert document["openapi"] == "3.0.3"
    operations = _operations(document)
    assert set(operations) >= REQUIRED
    assert operations["login"][:2] == ("POST", "/api/console/login")
    login_body = operations["login"][2]["requestBody"]["content"]["application/json"]["schema"]
    assert document["components"]["schemas"][login_body["$ref"].rsplit("/", 1)[-1]]["required"] == [
        "username",
        "password",
    ]
    assert (
        "csrf_token"
        in operations["login"][2]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]
    )
    (state,) = operations["listConversations"][2]["parameters"]
    assert state["name"] == "state" and "waiting" in state["schema"]["enum"]
    assert "sender" in document["components"]["schemas"]["Conversation"]["required"]
    message = operations["sendButlerMessage"][2]["requestBody"]["content"]["application/json"]["schema"]
    assert document["components"]["schemas"][message["$ref"].rsplit("/", 1)[-1]]["required"] == ["text"]
    schemes = document["components"]["securitySchemes"]
    assert schemes["cookieAuth"] == {"type": "apiKey", "in": "cookie", "name": "butler_session"}
    assert schemes["csrfToken"] == {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}
    for operation_id, (method, _, op) in operations.items():
        errors = set(op["responses"]) - {"200"}
        if operation_id != "login":
            assert "401" in errors, operation_id
        if method == "POST" and operation_id != "login":
            assert {"cookieAuth": [], "csrfToken": []} in op["security"], operation_id
            assert "403" in errors, operation_id


async def test_every_console_route_is_described_and_every_description_is_served(world: World) -> None:
    document = build_openapi()
    described = {(method, path) for method, path, _ in _operations(document).values()}
    served = set()
    for route in world.gateway.app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/console") and path != "/api/console/ws" and route.method != "HEAD":
            served.add((route.method, path))
    assert served == described
    response = await world.gateway.client.get("/api/openapi.json")
    assert response.status == 200
    assert await response.json() == document


async def test_real_answers_fit_the_documented_schemas(world: World) -> None:
    document = build_openapi()
    client = world.gateway.client
    login = await client.post(
        "/api/console/login", json={"username": "hejie", "password": "butler-password-1"}
    )
    await _conforms(document, "login", login)
    await _conforms(
        document, "login", await client.post("/api/console/login", json={"username": "x", "password": "y"})
    )
    await _conforms(document, "login", await client.post("/api/console/login", data="{"))
    client.session.cookie_jar.clear()
    hejie = await world.as_("hejie")
    c = f"/api/console/conversations/{world.conversation_id}"
    t = f"/api/console/tickets/{world.ticket}"
    checks: list[tuple[str, str, str, Any]] = [
        ("getMe", "GET", "/api/console/me", None),
        ("listConversations", "GET", "/api/console/conversations?state=waiting", None),
        ("getTranscript", "GET", f"{c}/transcript", None),
        ("takeOverConversation", "POST", f"{c}/take-over", None),
        ("sendButlerMessage", "POST", f"{c}/messages", {"text": "<b>您好</b>"}),
        ("sendButlerMessage", "POST", f"{c}/messages", {"text": ""}),
        ("addConversationNote", "POST", f"{c}/notes", {"text": "备注"}),
        ("handBackConversation", "POST", f"{c}/hand-back", None),
        ("transferConversation", "POST", f"{c}/transfer", {"butler_id": world.butler_ids["wu"]}),
        ("getTranscript", "GET", "/api/console/conversations/999999/transcript", None),
        ("listCannedReplies", "GET", "/api/console/canned-replies", None),
        ("listButlers", "GET", "/api/console/butlers", None),
        ("listTickets", "GET", "/api/console/tickets?status=open", None),
        ("listTickets", "GET", "/api/console/tickets?light=purple", None),
        ("getTicket", "GET", t, None),
        ("answerTicket", "POST", f"{t}/answer", {"text": "太早了"}),
        ("recordContact", "POST", f"{t}/contact", {"note": "已联系"}),
        ("replyTicket", "POST", f"{t}/reply", {"text": "初步答复"}),
        ("addTicketNote", "POST", f"{t}/notes", {"text": "备注"}),
        ("answerTicket", "POST", f"{t}/answer", {"text": "已办结"}),
        ("transferTicket", "POST", f"{t}/transfer", {"butler_id": world.butler_ids["zhu"]}),
        ("listAudit", "GET", "/api/console/audit", None),
        ("logout", "POST", "/api/console/logout", {}),
        ("getMe", "GET", "/api/console/me", None),
    ]
    statuses = []
    for operation_id, method, path, body in checks:
        response = await (hejie.get(path) if method == "GET" else hejie.post(path, body))
        await _conforms(document, operation_id, response)
        statuses.append(response.status)
    # transfer of a conversation the assistant has again is a 409; the rest as the butler expects
    expected = [200] * 5 + [422] + [200] * 2 + [409, 404] + [200] * 3 + [422, 200, 409] + [200] * 5
    assert statuses == expected + [403, 200, 401]
    admin = await world.as_("admin")
    await _conforms(document, "listAudit", await admin.get("/api/console/audit"))


async def test_the_console_page_is_served(world: World) -> None:
    response = await world.gateway.client.get("/console")
    assert response.status == 200
    assert response.content_type == "text/html"
    assert "<title>企业管家工作台</title>" in await response.text()
    assert response.headers["X-Frame-Options"] == "DENY"
    # only the page's own files run: no inline script, nothing typed by a user
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
