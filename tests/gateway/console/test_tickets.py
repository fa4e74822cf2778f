"""The ticket queue and the 2110 closed-loop actions through the console API."""

from __future__ import annotations

from sqlalchemy import select

from accounts.models import AuditEntry
from appeals import lifecycle
from appeals.notices import pending_notices
from gateway.console.notifications import check_ticket_lights
from storage.transaction import transaction
from tests.gateway.conftest import quiet
from tests.gateway.console.conftest import World


def _audit(world: World, action: str) -> list[AuditEntry]:
    with world.gateway.factory() as session:
        return list(session.execute(select(AuditEntry).where(AuditEntry.action == action)).scalars())


async def test_queue_shows_the_three_lights_and_filters(world: World) -> None:
    hejie = await world.as_("hejie")
    body = await hejie.json("GET", "/api/console/tickets")
    assert [t["number"] for t in body["tickets"]] == [world.ticket]  # not 朱子涵's
    (ticket,) = body["tickets"]
    assert ticket["enterprise_name"] == "示例市腾飞生物医药有限公司"
    assert ticket["status"] == "submitted" and ticket["status_label"] == "已受理"
    assert ticket["lights"] == {"contact": "green", "answer": "green", "resolve": "green"}
    assert ticket["current_deadline"]["label"] and ticket["current_deadline"]["light"] == "green"
    assert ticket["awaiting_rating"] is False and ticket["reopen_count"] == 0

    async def numbers(query: str) -> list[str]:
        return [t["number"] for t in (await hejie.json("GET", f"/api/console/tickets?{query}"))["tickets"]]

    assert await numbers("status=submitted") == [world.ticket]
    assert await numbers("status=open") == [world.ticket]
    assert await numbers("status=closed") == []
    assert await numbers("category=用电用水用气") == [world.ticket]
    assert await numbers("category=用地") == []
    assert await numbers("enterprise=腾飞") == [world.ticket]
    assert await numbers("enterprise=万象") == []
    assert await numbers("light=green") == [world.ticket]
    assert await numbers("light=red") == []
    world.gateway.clock.advance(100 * 60)  # 11:40, less than a quarter of the 2 working hours left
    assert await numbers("light=yellow") == [world.ticket]
    for query, word in (("status=lost", "工单状态"), ("category=天气", "诉求类别"), ("light=blue", "时限灯")):
        refused = await hejie.json("GET", f"/api/console/tickets?{query}", status=422)
        assert word in refused["message"], refused


async def test_detail_has_the_appeal_its_history_and_what_may_be_done(world: World) -> None:
    hejie = await world.as_("hejie")
    ticket = (await hejie.json("GET", f"/api/console/tickets/{world.ticket}"))["ticket"]
    assert ticket["description"] == "我们厂停电三天了，影响生产"
    assert ticket["contact_name"] == "杨刚" and ticket["contact_phone"] == "13900000001"
    assert [e["kind"] for e in ticket["events"]][:1] == ["create"]
    assert ticket["ratings"] == []
    assert "contact" in ticket["allowed_actions"] and "answer" not in ticket["allowed_actions"]
    for number in ("GD209901010001", "abc", "GD2026'--"):
        refused = await hejie.json("GET", f"/api/console/tickets/{number}", status=404)
        assert refused["error"] == "not_found"


async def test_the_closed_loop_contact_preliminary_answer_answered_and_the_rating_request(
    world: World,
) -> None:
    hejie = await world.as_("hejie")
    t = f"/api/console/tickets/{world.ticket}"
    early = await hejie.json("POST", f"{t}/answer", {"text": "已恢复供电"}, status=409)
    assert "请先联系企业或给出初步答复" in early["message"]

    contacted = (await hejie.json("POST", f"{t}/contact", {"note": "已电话联系杨经理"}))["ticket"]
    assert contacted["status"] == "contacted" and contacted["lights"]["contact"] == "done"
    assert contacted["events"][-1]["note"] == "已电话联系杨经理"
    assert contacted["events"][-1]["actor"] == "何杰（hejie）"

    replied = (await hejie.json("POST", f"{t}/reply", {"text": "已协调供电公司，今天下午到场"}))["ticket"]
    assert replied["status"] == "in_progress"
    assert replied["lights"]["answer"] == "done"  # the first reply is the preliminary answer

    answered = (await hejie.json("POST", f"{t}/answer", {"text": "线路已修复，恢复供电"}))["ticket"]
    assert answered["status"] == "answered" and answered["awaiting_rating"] is True
    assert answered["current_deadline"] is None
    with world.gateway.factory() as session:
        notices = [n for n in pending_notices(session) if n.ticket_number == world.ticket]
    # the reply reaches the enterprise, and the answer asks it to rate
    assert [n.kind for n in notices] == ["butler_reply", "answered"]
    assert notices[-1].text == "线路已修复，恢复供电"

    for action in ("ticket_contact", "ticket_reply", "ticket_answer"):
        (entry,) = _audit(world, action)
        assert entry.actor == "何杰（hejie）" and entry.target == f"ticket:{world.ticket}"
        assert entry.created_at is not None


async def test_a_retried_action_changes_nothing_twice(world: World) -> None:
    hejie = await world.as_("hejie")
    t = f"/api/console/tickets/{world.ticket}"
    first = (await hejie.json("POST", f"{t}/reply", {"text": "收到，正在处理"}))["ticket"]
    again = (await hejie.json("POST", f"{t}/reply", {"text": "收到，正在处理"}))["ticket"]
    assert len(first["events"]) == len(again["events"])
    assert len(_audit(world, "ticket_reply")) == 1
    with world.gateway.factory() as session:
        kinds = [n.kind for n in pending_notices(session) if n.ticket_number == world.ticket]
    assert kinds.count("butler_reply") == 1


async def test_a_closed_ticket_refuses_changes_with_the_reason_but_takes_notes(world: World) -> None:
    with transaction(world.gateway.factory) as session:
        lifecycle.close_ticket(
            session, world.ticket, "管理员", "企业撤回诉求", settings=world.gateway.settings.appeals_settings
        )
    hejie = await world.as_("hejie")
    t = f"/api/console/tickets/{world.ticket}"
    for path, body in (("contact", {}), ("reply", {"text": "您好"}), ("answer", {"text": "已办结"})):
        refused = await hejie.json("POST", f"{t}/{path}", body, status=409)
        assert refused["error"] == "conflict" and "已办结" in refused["message"], refused
    noted = (await hejie.json("POST", f"{t}/notes", {"text": "企业来电确认撤回"}))["ticket"]
    assert noted["status"] == "closed" and noted["events"][-1]["note"] == "企业来电确认撤回"


async def test_transfer_hands_the_ticket_to_another_butler(world: World) -> None:
    hejie = await world.as_("hejie")
    t = f"/api/console/tickets/{world.ticket}"
    moved = (
        await hejie.json(
            "POST", f"{t}/transfer", {"butler_id": world.butler_ids["zhu"], "reason": "涉及城西区"}
        )
    )["ticket"]
    assert moved["butler_name"] == "朱子涵"
    assert "改派给管家朱子涵：涉及城西区" in moved["events"][-1]["note"]
    (entry,) = _audit(world, "ticket_transfer")
    assert entry.actor == "何杰（hejie）"
    zhu = await world.as_("zhu")
    assert world.ticket in [x["number"] for x in (await zhu.json("GET", "/api/console/tickets"))["tickets"]]
    for body, word in (
        ({"butler_id": 999999}, "不存在"),
        ({}, "改派的管家"),
        ({"butler_id": "x"}, "改派的管家"),
    ):
        refused = await hejie.json("POST", f"{t}/transfer", body, status=422)
        assert word in refused["message"], refused


async def test_bad_ticket_input_is_refused_in_chinese(world: World) -> None:
    hejie = await world.as_("hejie")
    t = f"/api/console/tickets/{world.ticket}"
    broken = await hejie.post(f"{t}/reply", data="not json", headers={"Content-Type": "application/json"})
    assert broken.status == 400
    assert await broken.json() == {"error": "bad_json", "message": "请求体不是有效的JSON"}
    for path, body, word in (
        ("reply", {"text": ""}, "答复内容不能为空"),
        ("answer", {}, "办理结果"),
        ("notes", {"text": "字" * 2001}, "太长"),
        ("contact", {"note": 12}, "联系情况"),
    ):
        refused = await hejie.json("POST", f"{t}/{path}", body, status=422)
        assert word in refused["message"], refused
    # contact needs no body at all
    response = await hejie.post(f"{t}/contact")
    assert response.status == 200


async def test_heads_read_their_departments_audit_and_admins_everything(world: World) -> None:
    hejie, head, east, admin = [await world.as_(n) for n in ("hejie", "commerce_head", "east_head", "admin")]
    await hejie.json("POST", f"/api/console/tickets/{world.ticket}/contact", {})
    zhu = await world.as_("zhu")
    await zhu.json("POST", f"/api/console/tickets/{world.other_ticket}/contact", {})
    targets = lambda body: {e["target"] for e in body["entries"]}  # noqa: E731
    assert f"ticket:{world.ticket}" in targets(await head.json("GET", "/api/console/audit"))
    assert f"ticket:{world.other_ticket}" not in targets(await head.json("GET", "/api/console/audit"))
    assert f"ticket:{world.ticket}" not in targets(await east.json("GET", "/api/console/audit"))
    everything = targets(await admin.json("GET", "/api/console/audit"))
    assert {f"ticket:{world.ticket}", f"ticket:{world.other_ticket}"} <= everything


async def test_a_light_turning_yellow_reaches_only_the_consoles_that_see_the_ticket(world: World) -> None:
    hejie, zhu = await world.as_("hejie"), await world.as_("zhu")
    hejie_live, zhu_live = await hejie.ws(), await zhu.ws()
    assert await check_ticket_lights(world.gateway.app) == []  # the first look only remembers
    world.gateway.clock.advance(100 * 60)  # 11:40
    turned = await check_ticket_lights(world.gateway.app)
    assert sorted(turned) == sorted([world.ticket, world.other_ticket])
    heard = [e for e in await quiet(hejie_live) if e["type"] == "ticket"]
    assert [(e["event"], e["ticket"]["number"]) for e in heard] == [("light", world.ticket)]
    assert heard[0]["ticket"]["current_deadline"]["light"] == "yellow"
    other = [e for e in await quiet(zhu_live) if e["type"] == "ticket"]
    assert [e["ticket"]["number"] for e in other] == [world.other_ticket]
    # no change, no news; red is news again
    assert await check_ticket_lights(world.gateway.app) == []
    world.gateway.clock.advance(30 * 60)  # 12:10, past the contact deadline
    assert world.ticket in await check_ticket_lights(world.gateway.app)
    red = [e for e in await quiet(hejie_live) if e["type"] == "ticket"]
    assert red[-1]["ticket"]["current_deadline"]["light"] == "red"


async def test_a_ticket_action_is_announced_to_the_consoles_in_scope(world: World) -> None:
    hejie, head, zhu = await world.as_("hejie"), await world.as_("commerce_head"), await world.as_("zhu")
    sockets = {name: await c.ws() for name, c in (("hejie", hejie), ("head", head), ("zhu", zhu))}
    await hejie.json("POST", f"/api/console/tickets/{world.ticket}/contact", {"note": "已联系"})
    for name in ("hejie", "head"):
        events = [e for e in await quiet(sockets[name]) if e["type"] == "ticket"]
        assert [(e["event"], e["ticket"]["status"]) for e in events] == [("updated", "contacted")], name
    assert [e for e in await quiet(sockets["zhu"]) if e["type"] == "ticket"] == []
