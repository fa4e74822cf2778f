"""The public duty queue: a visitor who is not logged in as an enterprise waits for any butler."""

from __future__ import annotations

from tests.gateway.console.conftest import World, open_waiting_conversation


async def test_every_butler_sees_a_waiting_visitor_and_the_late_click_hears_who_took_it(world: World) -> None:
    conversation_id = open_waiting_conversation(world.gateway.factory, "web-anonymous-visitor", None)
    hejie = await world.as_("hejie")
    zhu = await world.as_("zhu")
    for butler in (hejie, zhu):
        waiting = await butler.json("GET", "/api/console/conversations?state=waiting")
        assert conversation_id in {c["id"] for c in waiting["conversations"]}

    url = f"/api/console/conversations/{conversation_id}/take-over"
    await hejie.json("POST", url)
    late = await zhu.json("POST", url, status=409)
    assert late["message"] == "该会话已由管家何杰接管"
    # once taken, it has left the queue the others see, and they cannot read it
    waiting = await zhu.json("GET", "/api/console/conversations?state=waiting")
    assert conversation_id not in {c["id"] for c in waiting["conversations"]}
    await zhu.json("GET", f"/api/console/conversations/{conversation_id}/transcript", status=404)
