"""Every console endpoint probed as every kind of caller: who is refused, how, and who succeeds.

The table below lists every operation of the OpenAPI document; a test fails when an
operation is added without being probed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from accounts.models import AuditEntry
from appeals.models import Enterprise, Ticket, TicketEvent
from conversations.models import Conversation, ConversationMessage
from gateway.console.openapi import build_openapi
from tests.gateway.console.conftest import TENGFEI, TENGFEI_SENDER, World


@dataclass(frozen=True)
class Endpoint:
    operation: str
    method: str
    path: str  # {conversation}, {ticket} and {enterprise} (腾飞's) are filled in from the world
    body: dict[str, Any] | None = None
    resource: str | None = None  # "conversation", "ticket" or "enterprise" when the path names one

    def url(self, world: World) -> str:
        with world.gateway.factory() as session:
            enterprise = session.execute(select(Enterprise.id).where(Enterprise.name == TENGFEI)).scalar_one()
        return self.path.format(
            conversation=world.conversation_id, ticket=world.ticket, enterprise=enterprise
        )


C = "/api/console/conversations/{conversation}"
T = "/api/console/tickets/{ticket}"
ENDPOINTS = [
    Endpoint("logout", "POST", "/api/console/logout", {}),
    Endpoint("getMe", "GET", "/api/console/me"),
    Endpoint("listConversations", "GET", "/api/console/conversations"),
    Endpoint("getTranscript", "GET", f"{C}/transcript", resource="conversation"),
    Endpoint("takeOverConversation", "POST", f"{C}/take-over", resource="conversation"),
    Endpoint("sendButlerMessage", "POST", f"{C}/messages", {"text": "您好"}, "conversation"),
    Endpoint("addConversationNote", "POST", f"{C}/notes", {"text": "内部备注"}, "conversation"),
    Endpoint("transferConversation", "POST", f"{C}/transfer", {"butler_id": 1}, "conversation"),
    Endpoint("handBackConversation", "POST", f"{C}/hand-back", resource="conversation"),
    Endpoint("listCannedReplies", "GET", "/api/console/canned-replies"),
    Endpoint("listButlers", "GET", "/api/console/butlers"),
    Endpoint("listTickets", "GET", "/api/console/tickets"),
    Endpoint("getTicket", "GET", T, resource="ticket"),
    Endpoint("recordContact", "POST", f"{T}/contact", {"note": "已电话联系"}, "ticket"),
    Endpoint("replyTicket", "POST", f"{T}/reply", {"text": "已协调供电公司"}, "ticket"),
    Endpoint("answerTicket", "POST", f"{T}/answer", {"text": "已恢复供电"}, "ticket"),
    Endpoint("transferTicket", "POST", f"{T}/transfer", {"butler_id": 1, "reason": "改派"}, "ticket"),
    Endpoint("addTicketNote", "POST", f"{T}/notes", {"text": "内部备注"}, "ticket"),
    Endpoint("listAudit", "GET", "/api/console/audit"),
    Endpoint("listEnterprises", "GET", "/api/console/enterprises"),
    Endpoint(
        "issueBindingCode", "POST", "/api/console/enterprises/{enterprise}/binding-code", {}, "enterprise"
    ),
]
POSTS = [e for e in ENDPOINTS if e.method == "POST"]
RESOURCES = [e for e in ENDPOINTS if e.resource is not None]


def _snapshot(world: World) -> dict[str, Any]:
    """What a refused call must leave as it was: the conversation, its turns, the ticket, its history."""
    with world.gateway.factory() as session:
        conversation = session.get(Conversation, world.conversation_id)
        ticket = session.execute(select(Ticket).where(Ticket.number == world.ticket)).scalar_one()
        return {
            "conversation": (conversation.state, conversation.butler_id, conversation.version),
            "turns": session.execute(
                select(func.count())
                .select_from(ConversationMessage)
                .where(ConversationMessage.conversation_id == world.conversation_id)
            ).scalar_one(),
            "ticket": (ticket.status, ticket.butler_id, ticket.version),
            "events": session.execute(
                select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
            ).scalar_one(),
            "audit": session.execute(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action != "login")
            ).scalar_one(),
        }


async def _call(world: World, endpoint: Endpoint, headers: dict[str, str]) -> tuple[int, Any]:
    client = world.gateway.client
    if endpoint.method == "GET":
        response = await client.get(endpoint.url(world), headers=headers)
    else:
        response = await client.post(endpoint.url(world), json=endpoint.body, headers=headers)
    return response.status, await response.json()


def test_every_operation_of_the_contract_is_probed() -> None:
    document = build_openapi()
    operations = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert operations == {e.operation for e in ENDPOINTS} | {"login"}


async def test_anonymous_callers_get_401_everywhere(world: World) -> None:
    before = _snapshot(world)
    for endpoint in ENDPOINTS:
        status, body = await _call(world, endpoint, {})
        assert (status, body["error"]) == (401, "unauthorized"), endpoint.operation
        assert body["message"] == "未登录或登录已过期，请重新登录"
    response = await world.gateway.client.get("/api/console/ws")
    assert response.status == 401  # refused before the upgrade
    assert _snapshot(world) == before


async def test_a_forged_or_expired_session_gets_401_everywhere(world: World) -> None:
    hejie = await world.as_("hejie")
    before = _snapshot(world)
    forged = {"Cookie": "butler_session=" + "A" * 43, "X-CSRF-Token": hejie.csrf}
    for endpoint in ENDPOINTS:
        status, body = await _call(world, endpoint, forged)
        assert (status, body["error"]) == (401, "unauthorized"), endpoint.operation
    # a real session past its 12 hours is as good as none
    world.gateway.clock.advance(13 * 3600)
    for endpoint in ENDPOINTS:
        status, _ = await _call(world, endpoint, hejie.headers())
        assert status == 401, endpoint.operation
    ws = await world.gateway.client.get("/api/console/ws", headers=hejie.headers())
    assert ws.status == 401
    assert _snapshot(world) == before


async def test_posts_without_the_csrf_token_get_403_and_change_nothing(world: World) -> None:
    hejie = await world.as_("hejie")  # the right butler: only the missing token stops him
    before = _snapshot(world)
    for endpoint in POSTS:
        for headers in (hejie.headers(csrf=False), {**hejie.headers(), "X-CSRF-Token": "wrong"}):
            status, body = await _call(world, endpoint, headers)
            assert (status, body["error"]) == (403, "csrf"), endpoint.operation
            assert "X-CSRF-Token" in body["message"]
    assert _snapshot(world) == before
    assert (await hejie.get("/api/console/me")).status == 200  # logout without the token did not log out


@pytest.mark.parametrize("username", ["zhu", "east_head"])
async def test_the_wrong_butler_and_a_head_of_another_department_get_404(world: World, username: str) -> None:
    caller = await world.as_(username)
    before = _snapshot(world)
    for endpoint in RESOURCES:
        status, body = await _call(world, endpoint, caller.headers())
        assert (status, body["error"]) == (404, "not_found"), endpoint.operation
    # nor do the lists reveal them
    conversations = await caller.json("GET", "/api/console/conversations?state=waiting")
    assert world.conversation_id not in {c["id"] for c in conversations["conversations"]}
    tickets = await caller.json("GET", "/api/console/tickets")
    assert world.ticket not in {t["number"] for t in tickets["tickets"]}
    assert _snapshot(world) == before


async def test_a_butler_may_not_read_the_audit_log(world: World) -> None:
    hejie = await world.as_("hejie")
    body = await hejie.json("GET", "/api/console/audit", status=403)
    assert body["error"] == "forbidden"


@pytest.mark.parametrize("username", ["hejie", "commerce_head", "admin"])
async def test_the_right_butler_their_head_and_the_admin_can_do_everything(
    world: World, username: str
) -> None:
    caller = await world.as_(username)
    shown = {"hejie": "何杰", "commerce_head": "郭海燕", "admin": "何洋"}[username]
    c = f"/api/console/conversations/{world.conversation_id}"
    t = f"/api/console/tickets/{world.ticket}"

    me = await caller.json("GET", "/api/console/me")
    assert me["user"]["username"] == username
    waiting = await caller.json("GET", "/api/console/conversations?state=waiting")
    listed = [x for x in waiting["conversations"] if x["id"] == world.conversation_id]
    assert listed and listed[0]["sender"] == TENGFEI_SENDER
    transcript = await caller.json("GET", f"{c}/transcript")
    assert [m["text"] for m in transcript["messages"]][0] == "我要找人工"

    taken = await caller.json("POST", f"{c}/take-over")
    assert (taken["conversation"]["state"], taken["conversation"]["butler_name"]) == ("butler", shown)
    sent = await caller.json("POST", f"{c}/messages", {"text": "您好，我来处理"})
    assert (sent["message"]["from"], sent["message"]["author"]) == ("butler", shown)
    note = await caller.json("POST", f"{c}/notes", {"text": "企业情绪较急"})
    assert note["message"]["from"] == "note"
    back = await caller.json("POST", f"{c}/hand-back")
    assert back["conversation"]["state"] == "bot"
    await caller.json("POST", f"{c}/take-over")
    moved = await caller.json("POST", f"{c}/transfer", {"butler_id": world.butler_ids["wu"]})
    assert (moved["conversation"]["state"], moved["conversation"]["butler_name"]) == ("butler", "吴晓东")

    replies = await caller.json("GET", "/api/console/canned-replies")
    assert isinstance(replies["replies"], list)
    butlers = await caller.json("GET", "/api/console/butlers")
    assert {"id": world.butler_ids["wu"], "name": "吴晓东", "department": "市工信局"} in butlers["butlers"]

    tickets = await caller.json("GET", "/api/console/tickets")
    assert world.ticket in {x["number"] for x in tickets["tickets"]}
    detail = await caller.json("GET", t)
    assert detail["ticket"]["status"] == "submitted"
    assert (await caller.json("POST", f"{t}/contact", {"note": "已电话联系"}))["ticket"][
        "status"
    ] == "contacted"
    assert (await caller.json("POST", f"{t}/reply", {"text": "已协调"}))["ticket"]["status"] == "in_progress"
    noted = await caller.json("POST", f"{t}/notes", {"text": "供电公司已派人"})
    assert noted["ticket"]["events"][-1]["note"] == "供电公司已派人"
    assert (await caller.json("POST", f"{t}/answer", {"text": "已恢复供电"}))["ticket"][
        "status"
    ] == "answered"
    moved_ticket = await caller.json(
        "POST", f"{t}/transfer", {"butler_id": world.butler_ids["wu"], "reason": "回访"}
    )
    assert moved_ticket["ticket"]["butler_name"] == "吴晓东"

    if username == "hejie":
        await caller.json("GET", "/api/console/audit", status=403)
    else:
        audit = await caller.json("GET", "/api/console/audit")
        actions = [e["action"] for e in audit["entries"]]
        for action in (
            "take_over",
            "hand_back",
            "transfer",
            "ticket_contact",
            "ticket_reply",
            "ticket_answer",
        ):
            assert action in actions, action
        assert all(
            e["actor"].startswith(shown) for e in audit["entries"] if e["action"].startswith("ticket_")
        )

    assert (await caller.json("POST", "/api/console/logout", {})) == {"ok": True}
    assert (await caller.get("/api/console/me")).status == 401
