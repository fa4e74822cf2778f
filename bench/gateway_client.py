"""The enterprise side of the gateway benchmarks: WebSocket conversations, timed turns, and an audit.

A turn is one ``{"type": "message"}`` frame. It ends when the gateway has both acknowledged
the message (``ack`` with its id) and delivered the bot frame that carries ``custom``: the
assistant puts ``custom`` (guide card, choices, no-answer marker) on the last message of
every reply, and the fake Rasa sends one such message. Frames of the turn that arrive
after that one are counted as late, so a wrong end-of-turn rule shows in the figures.

The audit checks what a user would: every message acknowledged once and answered once,
and the conversation's ``seq`` numbers without gaps or repeats (docs/chat-protocol.md).
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp


def is_reply(frame: dict[str, Any]) -> bool:
    """The frame that ends a bot turn: a bot message carrying ``custom``."""
    return frame.get("type") == "message" and frame.get("from") == "bot" and "custom" in frame


@dataclass
class Turn:
    """One message in flight: when it left, when its ack and its reply arrived."""

    id: str
    sent_at: float
    acked_at: float | None = None
    replied_at: float | None = None
    error: str | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def seconds(self) -> float | None:
        """Send to the later of ack and reply; ``None`` while either is missing."""
        if self.acked_at is None or self.replied_at is None:
            return None
        return max(self.acked_at, self.replied_at) - self.sent_at


@dataclass
class ChatConversation:
    """One enterprise conversation over the gateway's WebSocket, as its client sees it."""

    sender: str
    token: str
    ws: aiohttp.ClientWebSocketResponse
    frames: list[dict[str, Any]] = field(default_factory=list)
    in_flight: list[str | None] = field(default_factory=list)  # the turn each frame arrived during
    sent_ids: list[str] = field(default_factory=list)
    turn: Turn | None = None
    closed_by_server: bool = False
    closing: bool = False
    reader: asyncio.Task[None] | None = None

    def start_reading(self) -> None:
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._on_frame(json.loads(message.data), time.perf_counter())
                elif message.type == aiohttp.WSMsgType.ERROR:
                    break
        finally:
            if not self.closing:
                self.closed_by_server = True
            if self.turn is not None and not self.turn.done.is_set():
                self.turn.error = "closed"
                self.turn.done.set()

    def _on_frame(self, frame: dict[str, Any], at: float) -> None:
        turn = self.turn
        self.frames.append(frame)
        self.in_flight.append(turn.id if turn is not None else None)
        if turn is None or turn.done.is_set():
            return
        if frame.get("type") == "ack" and frame.get("id") == turn.id:
            turn.acked_at = at
        elif is_reply(frame) and frame.get("reply_to", turn.id) == turn.id:
            turn.replied_at = at
        elif frame.get("type") == "error" and frame.get("id") in (turn.id, None):
            turn.error = str(frame.get("code", "error"))
            turn.done.set()
        if turn.seconds is not None:
            turn.done.set()

    async def ask(self, message_id: str, text: str, timeout: float) -> Turn:
        """Send one message and wait for its ack and reply (or an error, a close, the timeout)."""
        turn = Turn(id=message_id, sent_at=time.perf_counter())
        self.turn = turn
        self.sent_ids.append(message_id)
        try:
            await self.ws.send_str(json.dumps({"type": "message", "id": message_id, "text": text}))
            await asyncio.wait_for(turn.done.wait(), timeout)
        except asyncio.TimeoutError:
            turn.error = "timeout"
        except (ConnectionError, RuntimeError) as exc:
            turn.error = type(exc).__name__
        turn.done.set()  # frames of this turn arriving now are left to the audit
        return turn

    async def close(self) -> None:
        self.closing = True
        if not self.ws.closed:
            await self.ws.close()
        if self.reader is not None:
            await self.reader


async def open_conversation(http: aiohttp.ClientSession, base_url: str, ws_base_url: str) -> ChatConversation:
    """``POST /api/chat/session`` then ``GET /api/chat/ws?token=``, as the chat page does."""
    async with http.post(f"{base_url}/api/chat/session", json={}) as response:
        if response.status != 200:
            raise RuntimeError(f"session: HTTP {response.status}")
        session = await response.json()
    ws = await http.ws_connect(f"{ws_base_url}/api/chat/ws", params={"token": session["token"]})
    conversation = ChatConversation(sender=session["sender"], token=session["token"], ws=ws)
    conversation.start_reading()
    return conversation


@dataclass
class Audit:
    """Per message: acknowledged once, answered once; per conversation: seq without gaps or repeats."""

    messages: int = 0
    acked_once: int = 0
    ack_missing: int = 0
    ack_repeated: int = 0
    replied_once: int = 0
    reply_missing: int = 0
    reply_repeated: int = 0
    late_frames: int = 0
    seq_missing: int = 0
    seq_repeated: int = 0
    seq_out_of_order: int = 0
    error_frames: dict[str, int] = field(default_factory=dict)

    def add(self, other: Audit) -> None:
        for name in self.__dataclass_fields__:
            if name == "error_frames":
                for code, count in other.error_frames.items():
                    self.error_frames[code] = self.error_frames.get(code, 0) + count
            else:
                setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def clean(self) -> bool:
        """Nothing dropped, nothing duplicated, nothing refused."""
        return (
            self.acked_once == self.messages
            and self.replied_once == self.messages
            and not (self.seq_missing or self.seq_repeated or self.seq_out_of_order or self.error_frames)
        )


def audit(
    sent_ids: list[str], frames: list[dict[str, Any]], in_flight: list[str | None] | None = None
) -> Audit:
    """Check one conversation's frames, in arrival order, against the ids it sent.

    A bot frame without ``reply_to`` belongs to the message that was in flight when it
    arrived (``in_flight``, parallel to ``frames``; the client sends the next message only
    after the reply), else to the latest one acknowledged before it. Bot frames of a turn arriving
    after its reply are late. ``seq`` numbers (on message frames, and the stored frame
    number an ack names) must be 1, 2, 3… each once and in order.
    """
    acks: collections.Counter[str] = collections.Counter()
    replies: collections.Counter[str] = collections.Counter()
    result = Audit(messages=len(sent_ids))
    current: str | None = None
    seqs: list[int] = []
    acked_seqs: set[int] = set()
    for index, frame in enumerate(frames):
        kind = frame.get("type")
        if in_flight is not None:
            current = in_flight[index]
        if kind == "ack":
            frame_id = str(frame.get("id"))
            acks[frame_id] += 1
            if frame.get("duplicate"):
                acks[frame_id] += 1  # the gateway saw this id twice: we never send one twice
            if in_flight is None:
                current = frame_id
            if isinstance(frame.get("seq"), int):
                acked_seqs.add(frame["seq"])
        elif kind == "error":
            code = str(frame.get("code", "error"))
            result.error_frames[code] = result.error_frames.get(code, 0) + 1
        elif kind == "message":
            if isinstance(frame.get("seq"), int):
                seqs.append(frame["seq"])
            if frame.get("from") == "bot":
                owner = str(frame.get("reply_to") or current)
                if replies[owner] and "custom" not in frame:
                    result.late_frames += 1
                if is_reply(frame):
                    replies[owner] += 1
    for message_id in sent_ids:
        result.acked_once += acks[message_id] == 1
        result.ack_missing += acks[message_id] == 0
        result.ack_repeated += acks[message_id] > 1
        result.replied_once += replies[message_id] == 1
        result.reply_missing += replies[message_id] == 0
        result.reply_repeated += replies[message_id] > 1
    counted = collections.Counter(seqs)
    result.seq_repeated = sum(count - 1 for count in counted.values())
    result.seq_out_of_order = sum(1 for a, b in itertools.pairwise(seqs) if b < a)
    seen = set(counted) | acked_seqs
    if seen:
        result.seq_missing = len(set(range(1, max(seen) + 1)) - seen)
    return result
