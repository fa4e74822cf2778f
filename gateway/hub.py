"""Live delivery: the open enterprise WebSockets (several tabs per sender) and console sockets.

Frames are stored before they are published, so a socket that is closed or slow only
misses what it will get again on ``resume``; a failed send never raises into the caller.
Channels that are not sockets (WeChat's ``custom/send``) register a listener: it hears
that a stored frame was published for a sender and fetches the stored frames itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar
from weakref import WeakValueDictionary

from aiohttp import web

log = logging.getLogger(__name__)

U = TypeVar("U")

# told (sender, frame) for every stored frame published to a conversation; must not block or raise
Listener = Callable[[str, dict[str, Any]], None]


def dumps(frame: dict[str, Any]) -> str:
    """JSON text as the clients expect it (Chinese kept readable, no spaces)."""
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


async def send_frame(ws: web.WebSocketResponse, frame: dict[str, Any] | str) -> bool:
    """Send one frame; ``False`` if the socket is gone (never raises)."""
    if ws.closed:
        return False
    try:
        await ws.send_str(frame if isinstance(frame, str) else dumps(frame))
    except (ConnectionError, RuntimeError) as exc:  # closing transport, reset peer
        log.debug("gateway.hub.send_failed error=%s", type(exc).__name__)
        return False
    return True


class Hub(Generic[U]):
    """Who is listening right now; ``U`` is the console user type (``accounts`` ``UserPublic``)."""

    def __init__(self) -> None:
        self._chats: dict[str, set[web.WebSocketResponse]] = {}
        self._consoles: dict[web.WebSocketResponse, U] = {}
        # the first stored frame each chat socket received live, so ``resume`` does not repeat it
        self._first_live: dict[web.WebSocketResponse, int] = {}
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Hear every stored frame published to any conversation (a channel that is not a socket)."""
        self._listeners.append(listener)

    def _notify(self, sender: str, frame: dict[str, Any]) -> None:
        if not isinstance(frame.get("seq"), int):
            return
        for listener in self._listeners:
            try:
                listener(sender, frame)
            except Exception:  # one channel's failure must not stop the chat's delivery
                log.exception("gateway.hub.listener_failed")

    # -- enterprise side --------------------------------------------------------------

    def add_chat(self, sender: str, ws: web.WebSocketResponse) -> None:
        """Register one open tab of ``sender``."""
        self._chats.setdefault(sender, set()).add(ws)

    def remove_chat(self, sender: str, ws: web.WebSocketResponse) -> None:
        """Forget a closed tab."""
        sockets = self._chats.get(sender)
        if sockets is None:
            return
        sockets.discard(ws)
        self._first_live.pop(ws, None)
        if not sockets:
            del self._chats[sender]

    def chat_count(self) -> int:
        """Open enterprise sockets, for logs and the benchmark."""
        return sum(len(sockets) for sockets in self._chats.values())

    def is_online(self, sender: str) -> bool:
        """Whether ``sender`` has at least one open tab."""
        return bool(self._chats.get(sender))

    async def to_chat(self, sender: str, frame: dict[str, Any]) -> int:
        """Send ``frame`` to every open tab of ``sender``; returns how many got it."""
        self._notify(sender, frame)
        sockets = list(self._chats.get(sender, ()))
        if not sockets:
            return 0
        text = dumps(frame)
        seq = frame.get("seq")
        delivered = 0
        for ws in sockets:
            if isinstance(seq, int):
                self._first_live.setdefault(ws, seq)
            if await send_frame(ws, text):
                delivered += 1
            else:
                self.remove_chat(sender, ws)
        return delivered

    def first_live_seq(self, ws: web.WebSocketResponse) -> int | None:
        """The ``seq`` of the first stored frame ``ws`` received live (``None`` before any)."""
        return self._first_live.get(ws)

    def lock(self, sender: str) -> asyncio.Lock:
        """One lock per conversation, so its turns are processed and published in order."""
        lock = self._locks.get(sender)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[sender] = lock
        return lock

    # -- console side -----------------------------------------------------------------

    def add_console(self, ws: web.WebSocketResponse, user: U) -> None:
        """Register a logged-in console socket."""
        self._consoles[ws] = user

    def remove_console(self, ws: web.WebSocketResponse) -> None:
        """Forget a closed console socket."""
        self._consoles.pop(ws, None)

    def console_users(self) -> list[U]:
        """The users behind the open console sockets (one entry per socket)."""
        return list(self._consoles.values())

    async def to_console(self, event: dict[str, Any], visible: Callable[[U], bool]) -> int:
        """Send ``event`` to every console user for whom ``visible(user)`` is true."""
        text = dumps(event)
        delivered = 0
        for ws, user in list(self._consoles.items()):
            try:
                allowed = visible(user)
            except Exception:  # a scope check must never break delivery to the others
                log.exception("gateway.hub.visibility_failed")
                allowed = False
            if not allowed:
                continue
            if await send_frame(ws, text):
                delivered += 1
            else:
                self.remove_console(ws)
        return delivered

    async def close_all(self) -> None:
        """Close every socket at shutdown so clients reconnect to the next process."""
        sockets = [ws for group in self._chats.values() for ws in group] + list(self._consoles)
        for ws in sockets:
            if not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.close(code=1001, message=b"server shutdown")
        self._chats.clear()
        self._consoles.clear()
