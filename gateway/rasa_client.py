"""The one door from the gateway to Rasa (loopback only): REST webhook and the HTTP API.

Every failure (refused connection, timeout, 5xx, a body that is not JSON) becomes
``RasaUnavailable`` whose text is the Chinese sentence the enterprise sees, so the chat
path never lets an aiohttp exception reach a client.

Rasa is asked once per chat turn and sits on the turn's critical path. aiohttp 3.9 sends
a request's headers and its body in two writes (two TCP segments, two wake-ups of Rasa),
which on a busy machine cost more than the whole request took to build. For a plain
``http://`` Rasa the requests therefore go out in one write, on kept-alive HTTP/1.1
connections of our own (``_Http11``); any other URL goes through the aiohttp session.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, cast
from urllib.parse import quote, urlencode, urlsplit

import aiohttp
import async_timeout

log = logging.getLogger(__name__)

UNAVAILABLE_TEXT = "助手暂时无法回答，请稍后再试或点“联系管家”"

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024
IDLE_SECONDS = 15.0  # aiohttp's keep-alive: well below Rasa's 120 s, so Rasa never closes one under us
MAX_IDLE_CONNECTIONS = 32


class RasaUnavailable(Exception):
    """Rasa did not answer usefully; ``str()`` is what the enterprise is told."""

    def __init__(self, reason: str) -> None:
        super().__init__(UNAVAILABLE_TEXT)
        self.reason = reason


class RasaClient:
    """Calls Rasa's REST channel and HTTP API; ``session`` gives the timeout (and serves non-``http`` URLs)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str = "") -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._token = token
        self._http = _Http11.for_url(self._base, session.timeout.total)

    async def send(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        """Post one enterprise message to the REST webhook; returns Rasa's replies in order."""
        body = {"sender": sender, "message": text, "metadata": metadata}
        result = await self._call("POST", "/webhooks/rest/webhook", {}, body, "send")
        if not isinstance(result, list):
            raise RasaUnavailable("webhook answered something other than a list")
        return [reply for reply in result if isinstance(reply, dict)]

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Append events (pause, resume, butler turns) to the sender's tracker."""
        query = {"include_events": "NONE", **self._auth()}
        await self._call(
            "POST", self._conversation_path(sender, "tracker/events"), query, events, "append_events"
        )

    async def trigger_intent(
        self, sender: str, name: str, entities: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run an external intent in the sender's conversation; returns the messages it produced."""
        query = {"include_events": "NONE", **self._auth()}
        body = {"name": name, "entities": entities or {}}
        path = self._conversation_path(sender, "trigger_intent")
        result = await self._call("POST", path, query, body, "trigger")
        messages = result.get("messages") if isinstance(result, dict) else None
        return [m for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []

    async def is_paused(self, sender: str) -> bool:
        """Whether the sender's tracker is paused (the ``paused`` field of its state)."""
        query = {"include_events": "NONE", **self._auth()}
        state = await self._call("GET", self._conversation_path(sender, "tracker"), query, None, "is_paused")
        return bool(state.get("paused")) if isinstance(state, dict) else False

    async def close(self) -> None:
        """Close the kept-alive connections (the aiohttp session is its owner's to close)."""
        if self._http is not None:
            self._http.close()

    def _auth(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    @staticmethod
    def _conversation_path(sender: str, tail: str) -> str:
        return f"/conversations/{quote(sender, safe='')}/{tail}"

    async def _call(self, method: str, path: str, query: dict[str, str], body: Any, operation: str) -> Any:
        """One request; its JSON answer, or ``RasaUnavailable`` for every way it can fail."""
        try:
            if self._http is not None:
                payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
                target = (
                    f"{self._http.prefix}{path}?{urlencode(query)}" if query else self._http.prefix + path
                )
                status, data = await self._http.request(method, target, payload)
            else:
                status, data = await self._aiohttp_call(method, self._base + path, query, body)
            if status >= 400:
                log.warning(
                    "gateway.rasa.http_error operation=%s status=%s detail=%r",
                    operation,
                    status,
                    data[:200].decode("utf-8", "replace"),
                )
                raise RasaUnavailable(f"HTTP {status}")
            return json.loads(data) if data.strip() else None
        except RasaUnavailable:
            raise
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError) as exc:
            log.warning("gateway.rasa.unreachable operation=%s error=%s", operation, type(exc).__name__)
            raise RasaUnavailable(type(exc).__name__) from exc

    async def _aiohttp_call(
        self, method: str, url: str, query: dict[str, str], body: Any
    ) -> tuple[int, bytes]:
        async with self._session.request(method, url, json=body, params=query) as response:
            return response.status, await response.read()


# -- HTTP/1.1 in one write --------------------------------------------------------------------


class _Http11:
    """Kept-alive HTTP/1.1 connections to one ``http://host:port``; a request is one write.

    A connection serves one request at a time and goes back to the idle list only after its
    whole response was read and the server kept it open; an idle one unused for
    ``IDLE_SECONDS`` is closed. A request is never retried: a POST that may have reached Rasa
    must not reach it twice.
    """

    def __init__(self, host: str, port: int, prefix: str, timeout: float | None) -> None:
        self._host = host
        self._port = port
        self.prefix = prefix
        self._timeout = timeout
        self._host_header = f"Host: {host}:{port}\r\n".encode("ascii")
        self._idle: list[tuple[float, _Connection]] = []

    @classmethod
    def for_url(cls, base_url: str, timeout: float | None) -> _Http11 | None:
        """The one-write path for a plain ``http://`` URL, else ``None`` (aiohttp serves it)."""
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname or parts.query or parts.username:
            return None
        try:
            port = parts.port or 80
            host = parts.hostname.encode("ascii").decode()
        except (ValueError, UnicodeError):
            return None
        return cls(host, port, parts.path.rstrip("/"), timeout)

    async def request(self, method: str, target: str, body: bytes | None) -> tuple[int, bytes]:
        """``(status, body)`` of one request; raises ``OSError``, ``ValueError`` or a timeout."""
        head = [f"{method} {target} HTTP/1.1\r\n".encode(), self._host_header]
        if body is not None:
            head.append(b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body))
        head.append(b"\r\n")
        raw = b"".join(head) + (body or b"")
        async with async_timeout.timeout(self._timeout):
            connection = self._take_idle() or await self._connect()
            try:
                status, data, keep = await connection.exchange(raw)
            except BaseException:
                connection.close()
                raise
        if keep and len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append((time.monotonic(), connection))
        else:
            connection.close()
        return status, data

    def close(self) -> None:
        """Close every idle connection."""
        idle, self._idle = self._idle, []
        for _, connection in idle:
            connection.close()

    def _take_idle(self) -> _Connection | None:
        stale_before = time.monotonic() - IDLE_SECONDS
        while self._idle:
            since, connection = self._idle.pop()
            if since >= stale_before and connection.usable():
                return connection
            connection.close()
        return None

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self._host, self._port)
        return connection


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: writes a request, collects its response (length-framed or chunked)."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes, bool]] | None = None
        self._head: tuple[int, int | None, bool, bool, int] | None = (
            None  # status, length, chunked, keep, start
        )
        self._lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # a stream transport of whichever loop runs (uvloop's TCPTransport is no asyncio.Transport subclass)
        self._transport = cast(asyncio.Transport, transport)

    def usable(self) -> bool:
        """Open and quiet: the server has neither closed it nor sent anything unasked."""
        return (
            not self._lost
            and self._transport is not None
            and not self._transport.is_closing()
            and not self._buffer
        )

    async def exchange(self, raw: bytes) -> tuple[int, bytes, bool]:
        """Send one request; ``(status, body, keep_alive)`` of its response."""
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._head = None
        self._transport.write(raw)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            self._fail(ValueError("unexpected data from Rasa"))
            return
        try:
            self._parse(eof=False)
        except ValueError as exc:
            self._fail(exc)

    def eof_received(self) -> bool:
        try:
            self._parse(eof=True)
        except ValueError as exc:
            self._fail(exc)
        self._fail(ConnectionResetError("Rasa closed the connection"))
        return False  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        self._fail(exc or ConnectionResetError("connection lost"))

    def _fail(self, exc: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(exc)
        if self._transport is not None:
            self._transport.close()

    def _parse(self, *, eof: bool) -> None:
        """Complete the waiter once the whole response is in the buffer."""
        buffer = self._buffer
        if self._head is None:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > MAX_HEAD_BYTES:
                    raise ValueError("response head too large")
                return
            self._head = _parse_head(bytes(buffer[:end]), end + 4)
        status, length, chunked, keep, start = self._head
        if length is not None:
            if len(buffer) - start < length:
                return
            body = bytes(buffer[start : start + length])
            rest = len(buffer) - start - length
        elif chunked:
            decoded = _dechunk(buffer, start)
            if decoded is None:
                if len(buffer) - start > MAX_BODY_BYTES:
                    raise ValueError("response body too large")
                return
            body, rest = decoded
        else:  # delimited by the end of the connection
            if not eof:
                if len(buffer) - start > MAX_BODY_BYTES:
                    raise ValueError("response body too large")
                return
            body, rest, keep = bytes(buffer[start:]), 0, False
        del buffer[:]
        assert self._waiter is not None
        if not self._waiter.done():
            self._waiter.set_result((status, body, keep and not rest and not eof))


def _parse_head(head: bytes, start: int) -> tuple[int, int | None, bool, bool, int]:
    """Status, Content-Length, chunked, keep-alive and where the body starts, from a response head."""
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    if not version.startswith(b"HTTP/1."):
        raise ValueError("not an HTTP/1.x response")
    status = int(rest[:3])
    length: int | None = None
    chunked = False
    keep = version == b"HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        value = value.strip().lower()
        if name == b"content-length":
            length = int(value)
            if length < 0 or length > MAX_BODY_BYTES:
                raise ValueError("bad Content-Length")
        elif name == b"transfer-encoding":
            chunked = value.endswith(b"chunked")
        elif name == b"connection":
            keep = b"keep-alive" in value if not keep else b"close" not in value
    if chunked:
        length = None
    if status in (204, 304) or 100 <= status < 200:
        length, chunked = 0, False
    return status, length, chunked, keep, start


def _dechunk(buffer: bytearray, start: int) -> tuple[bytes, int] | None:
    """A complete chunked body from ``start``: ``(body, bytes after it)``, or ``None`` while incomplete."""
    parts: list[bytes] = []
    position = start
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size = int(bytes(buffer[position:line_end]).split(b";", 1)[0].strip(), 16)
        position = line_end + 2
        if size == 0:
            trailer_end = buffer.find(b"\r\n\r\n", position - 2)
            if trailer_end < 0:
                return None
            return b"".join(parts), len(buffer) - trailer_end - 4
        if len(buffer) < position + size + 2:
            return None
        parts.append(bytes(buffer[position : position + size]))
        position += size + 2
