"""The one door from the gateway to Rasa (loopback only): REST webhook and the HTTP API.

Every failure (refused connection, timeout, 5xx, a body that is not JSON) becomes
``RasaUnavailable`` whose text is the Chinese sentence the enterprise sees, so the chat
path never lets an aiohttp exception reach a client.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

UNAVAILABLE_TEXT = "助手暂时无法回答，请稍后再试或点“联系管家”"


class RasaUnavailable(Exception):
    """Rasa did not answer usefully; ``str()`` is what the enterprise is told."""

    def __init__(self, reason: str) -> None:
        super().__init__(UNAVAILABLE_TEXT)
        self.reason = reason


class RasaClient:
    """Calls Rasa's REST channel and HTTP API over one shared ``aiohttp.ClientSession``."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str = "") -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._token = token

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Post one enterprise message to the REST webhook; returns Rasa's replies in order."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        result = await self._post(f"{self._base}/webhooks/rest/webhook", body, {}, "send")
        if not isinstance(result, list):
            raise RasaUnavailable("webhook answered something other than a list")
        return [reply for reply in result if isinstance(reply, dict)]

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Append events (pause, resume, butler turns) to the sender's tracker."""
        query = {"include_events": "NONE", **self._auth()}
        await self._post(self._conversation_url(sender, "tracker/events"), events, query, "append_events")

    async def trigger_intent(
        self, sender: str, name: str, entities: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run an external intent in the sender's conversation; returns the messages it produced."""
        query = {"include_events": "NONE", **self._auth()}
        body = {"name": name, "entities": entities or {}}
        result = await self._post(self._conversation_url(sender, "trigger_intent"), body, query, "trigger")
        messages = result.get("messages") if isinstance(result, dict) else None
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    async def is_paused(self, sender: str) -> bool:
        """Whether the sender's tracker is paused (the ``paused`` field of its state)."""
        query = {"include_events": "NONE", **self._auth()}
        url = self._conversation_url(sender, "tracker")
        try:
            async with self._session.get(url, params=query) as response:
                if response.status >= 400:
                    raise RasaUnavailable(f"HTTP {response.status}")
                state = await response.json(content_type=None)
        except RasaUnavailable:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise RasaUnavailable(type(exc).__name__) from exc
        return bool(state.get("paused")) if isinstance(state, dict) else False

    def _auth(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    def _conversation_url(self, sender: str, tail: str) -> str:
        return f"{self._base}/conversations/{quote(sender, safe='')}/{tail}"

    async def _post(self, url: str, body: Any, query: dict[str, str], operation: str) -> Any:
        try:
            async with self._session.post(url, json=body, params=query) as response:
                if response.status >= 400:
                    detail = (await response.text())[:200]
                    log.warning(
                        "gateway.rasa.http_error operation=%s status=%s detail=%r",
                        operation,
                        response.status,
                        detail,
                    )
                    raise RasaUnavailable(f"HTTP {response.status}")
                return await response.json(content_type=None)
        except RasaUnavailable:
            raise
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("gateway.rasa.unreachable operation=%s error=%s", operation, type(exc).__name__)
            raise RasaUnavailable(type(exc).__name__) from exc
