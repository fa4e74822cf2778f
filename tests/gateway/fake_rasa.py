"""A small stand-in for Rasa's REST channel and HTTP API that records every request.

It answers like Rasa 3.6: ``text`` and ``custom`` of one response arrive as two REST
messages; a paused conversation (after a ``pause`` event) answers ``[]``; the HTTP API
refuses a wrong token with 401. Replies are scripted per message text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    """One request the gateway made."""

    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeRasa:
    token: str = "rasa-token"
    script: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    trigger_script: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    paused: set[str] = field(default_factory=set)
    down: bool = False

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_post("/conversations/{sender}/tracker/events", self._events)
        app.router.add_post("/conversations/{sender}/trigger_intent", self._trigger)
        app.router.add_get("/conversations/{sender}/tracker", self._tracker)
        return app

    # -- what the tests read ----------------------------------------------------------------

    def messages(self, sender: str | None = None) -> list[dict[str, Any]]:
        """Bodies posted to the REST webhook (optionally for one sender)."""
        return [
            c.body
            for c in self.calls
            if c.path == "webhook" and (sender is None or c.body.get("sender") == sender)
        ]

    def events(self, sender: str) -> list[dict[str, Any]]:
        """Every tracker event appended for ``sender``, in order."""
        found: list[dict[str, Any]] = []
        for call in self.calls:
            if call.path == f"events/{sender}":
                found += call.body if isinstance(call.body, list) else [call.body]
        return found

    def triggers(self, sender: str) -> list[dict[str, Any]]:
        return [c.body for c in self.calls if c.path == f"trigger/{sender}"]

    # -- handlers ----------------------------------------------------------------------------

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(Call("webhook", dict(request.query), body))
        if self.down:
            return web.Response(status=500, text="boom")
        sender = body["sender"]
        if sender in self.paused:
            return web.json_response([])
        text = body["message"]
        replies = self.script.get(text, [{"text": f"答复：{text}"}])
        return web.json_response(_as_rest(sender, replies))

    def _authorised(self, request: web.Request) -> bool:
        return request.query.get("token") == self.token

    async def _events(self, request: web.Request) -> web.Response:
        sender = request.match_info["sender"]
        body = await request.json()
        self.calls.append(Call(f"events/{sender}", dict(request.query), body))
        if not self._authorised(request):
            return web.json_response({"status": "failure", "reason": "NotAuthenticated"}, status=401)
        if self.down:
            return web.Response(status=500, text="boom")
        for event in body if isinstance(body, list) else [body]:
            if event.get("event") == "pause":
                self.paused.add(sender)
            elif event.get("event") == "resume":
                self.paused.discard(sender)
        return web.json_response({"sender_id": sender})

    async def _tracker(self, request: web.Request) -> web.Response:
        sender = request.match_info["sender"]
        self.calls.append(Call(f"tracker/{sender}", dict(request.query), None))
        if not self._authorised(request):
            return web.json_response({"status": "failure", "reason": "NotAuthenticated"}, status=401)
        return web.json_response({"sender_id": sender, "paused": sender in self.paused})

    async def _trigger(self, request: web.Request) -> web.Response:
        sender = request.match_info["sender"]
        body = await request.json()
        self.calls.append(Call(f"trigger/{sender}", dict(request.query), body))
        if not self._authorised(request):
            return web.json_response({"status": "failure", "reason": "NotAuthenticated"}, status=401)
        if self.down:
            return web.Response(status=500, text="boom")
        replies = self.trigger_script.get(body.get("name", ""), [])
        return web.json_response({"tracker": {"sender_id": sender}, "messages": _as_rest(sender, replies)})


def _as_rest(sender: str, replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rasa's CollectingOutputChannel: text (with buttons) first, then ``custom`` on its own."""
    out: list[dict[str, Any]] = []
    for reply in replies:
        if reply.get("text") is not None:
            message = {"recipient_id": sender, "text": reply["text"]}
            if reply.get("buttons"):
                message["buttons"] = reply["buttons"]
            out.append(message)
        if reply.get("custom") is not None:
            out.append({"recipient_id": sender, "custom": reply["custom"]})
    return out
