"""The assistant's conversation frames as WeChat customer-service messages, within WeChat's limits.

WeChat's native customer-service chat has no buttons (the reference documents no menu links
for mini-program customer service), so a frame's buttons become numbered options (“回复数字
选择”) and ``ButtonMemory`` maps the user's “2” back to the second button's payload. A guide
card with an online address becomes a link message when the quota allows one.

The quota is 5 messages per user message (``WECHAT_QUOTA_PER_MESSAGE``), so ``plan_messages``
merges the turn's frames into as few text messages as fit (≤ ``TEXT_LIMIT_BYTES`` UTF-8 bytes
each), splits long Chinese text at paragraph, line, then sentence boundaries, never inside a
character (nor between a character and its combining marks), and marks what did not fit as
``deferred`` for the caller to send after the user's next message or as a subscribe message.

Frame shapes: docs/chat-protocol.md (``from``, ``text``, ``buttons``, ``custom``, ``author``).
"""

from __future__ import annotations

import time
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from appeals.deadlines import light_label
from appeals.views import format_time

TEXT_LIMIT_BYTES = 2000  # WeChat's limit is not documented for mini-programs; ≈2048 bytes measured
CHOOSE_HINT = "回复数字即可选择："
HANDOFF_HINT = "如需人工服务，请回复“转人工”。"
OVERFLOW_NOTE = "（内容较多，余下部分将在您发送下一条消息后送达）"
LINK_DESCRIPTION = "点击打开在线办理入口"
SHOWN_FROM = ("bot", "butler", "system")

# split points, best first: a paragraph, a line, a sentence, a clause, a space
_BREAKS: tuple[tuple[str, ...], ...] = (
    ("\n\n",),
    ("\n",),
    ("。", "！", "？", "；", "!", "?", ";", "…"),
    ("，", "、", "：", ",", ":"),
    (" ",),
)
_DENSE_BREAKS = (_BREAKS[0] + _BREAKS[1] + _BREAKS[2], *_BREAKS[3:])
_CLOSERS = "”’」』）)】》\"'"  # kept with the sentence they close

__all__ = [
    "CHOOSE_HINT",
    "OVERFLOW_NOTE",
    "TEXT_LIMIT_BYTES",
    "ButtonMemory",
    "LinkCard",
    "Option",
    "OutgoingMessage",
    "frame_text",
    "numbered_options",
    "plan_messages",
    "split_text",
    "utf8_len",
]


@dataclass(frozen=True)
class Option:
    """One numbered choice: what the user sees (``title``) and what the assistant receives (``payload``)."""

    number: int
    title: str
    payload: str


@dataclass(frozen=True)
class LinkCard:
    """A link message's fields (``custom/send`` msgtype ``link``)."""

    title: str
    description: str
    url: str
    thumb_url: str = ""


@dataclass(frozen=True)
class OutgoingMessage:
    """One ``custom/send`` message; ``deferred`` ones did not fit the quota of this turn."""

    msgtype: str
    text: str = ""
    link: LinkCard | None = None
    deferred: bool = False

    @property
    def payload(self) -> dict[str, Any]:
        """The ``custom/send`` body without ``touser``: what ``WeChatApi.send_custom`` takes."""
        if self.link is not None:
            card = self.link
            return {
                "msgtype": "link",
                "link": {
                    "title": card.title,
                    "description": card.description,
                    "url": card.url,
                    "thumb_url": card.thumb_url,
                },
            }
        return {"msgtype": "text", "text": {"content": self.text}}


def utf8_len(text: str) -> int:
    """The size WeChat counts: UTF-8 bytes (a Chinese character is 3)."""
    return len(text.encode("utf-8"))


# -- splitting --------------------------------------------------------------------------------------


def _joins_previous(char: str) -> bool:
    """Whether ``char`` belongs to the character before it (combining mark, ZWJ, variation selector)."""
    return (
        unicodedata.combining(char) > 0
        or char in "\u200d\ufe0e\ufe0f"
        or "\U0001f3fb" <= char <= "\U0001f3ff"
    )


def _fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` bytes, not cutting a character from its marks."""
    size = 0
    end = 0
    for index, char in enumerate(text):
        size += utf8_len(char)
        if size > limit:
            break
        end = index + 1
    while 0 < end < len(text) and _joins_previous(text[end]):
        end -= 1
    return end


def _cut(text: str, limit: int, dense: bool = False) -> tuple[str, str]:
    """The longest head of ``text`` within ``limit`` bytes, ended at the best boundary in its last half.

    ``dense``: take the latest sentence (or stronger) boundary rather than preferring paragraphs,
    when fewer, fuller messages matter more than where they break.
    """
    if utf8_len(text) <= limit:
        return text, ""
    end = _fit(text, limit)
    if end == 0:
        return "", text  # not even one character fits
    window = text[:end]
    floor = end // 2
    for marks in _DENSE_BREAKS if dense else _BREAKS:
        best = max((window.rfind(mark) + len(mark) for mark in marks if window.rfind(mark) >= 0), default=-1)
        while 0 <= best < end and text[best] in _CLOSERS and utf8_len(text[: best + 1]) <= limit:
            best += 1
        if best > floor:
            return text[:best].rstrip(), text[best:].lstrip("\n ")
    return text[:end], text[end:]


def split_text(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """``text`` in pieces of at most ``limit`` UTF-8 bytes, each ending at the best boundary available."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        head, rest = _cut(rest, limit)
        if not head:
            raise ValueError(f"limit {limit} is smaller than one character")
        pieces.append(head)
    return pieces


# -- frames as text -----------------------------------------------------------------------------------


def _shown(frames: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        f
        for f in frames
        if f.get("from", "bot") in SHOWN_FROM and (f.get("text") or f.get("custom") or f.get("buttons"))
    ]


def numbered_options(frames: Iterable[Mapping[str, Any]]) -> list[Option]:
    """Every button of the turn, numbered 1, 2, 3… across frames in the order they are shown."""
    options: list[Option] = []
    for frame in _shown(frames):
        for button in frame.get("buttons") or []:
            if not isinstance(button, Mapping):
                continue
            title = str(button.get("title") or button.get("payload") or "").strip()
            payload = str(button.get("payload") or title).strip()
            if title:
                options.append(Option(len(options) + 1, title, payload))
    return options


def _custom(frame: Mapping[str, Any]) -> Mapping[str, Any]:
    custom = frame.get("custom")
    return custom if isinstance(custom, Mapping) else {}


def _guide_url(custom: Mapping[str, Any]) -> str:
    url = custom.get("online_url") or custom.get("url") or custom.get("link") or ""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else ""


def _ticket_lines(custom: Mapping[str, Any], text: str) -> list[str]:
    """A ticket card as short lines, leaving out what the frame's text already says."""
    number = str(custom.get("number") or custom.get("ticket_number") or "")
    lines = []
    status = str(custom.get("status_label") or "")
    if number and (number not in text or (status and status not in text)):
        category = f"（{custom['category']}）" if custom.get("category") else ""
        lines.append(f"工单 {number}{category}：{status}".rstrip("："))
    butler = str(custom.get("butler_name") or "")
    if butler and butler not in text:
        lines.append(f"负责管家：{butler} {custom.get('butler_phone') or ''}".rstrip())
    deadline = custom.get("current_deadline")
    if isinstance(deadline, Mapping) and deadline.get("due") and "时限" not in text:
        try:
            due = format_time(datetime.fromisoformat(str(deadline["due"])))
        except ValueError:
            due = str(deadline["due"])
        light = str(deadline.get("light") or "")
        light_text = f"（{light_label(light, False)}）" if light in ("green", "yellow", "red") else ""
        lines.append(f"当前时限：{deadline.get('label') or ''}，{due}前{light_text}")
    return lines


def frame_text(frame: Mapping[str, Any], options: Sequence[Option] = ()) -> str:
    """One frame as plain text: its text, its card's lines, and its own numbered ``options``."""
    text = str(frame.get("text") or "").strip()
    custom = _custom(frame)
    kind = custom.get("kind")
    parts = [text] if text else []
    if frame.get("from") == "butler" and frame.get("author") and parts:
        parts[0] = f"{frame['author']}（管家）：{parts[0]}"
    if kind == "ticket":
        parts.extend(_ticket_lines(custom, text))
    if options:
        parts.append(CHOOSE_HINT + "\n" + "\n".join(f"{o.number}. {o.title}" for o in options))
    if kind == "no_answer" and "转人工" not in text and not any(o.title == "转人工" for o in options):
        parts.append(HANDOFF_HINT)
    return "\n".join(parts)


def _blocks(frames: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[tuple[int, LinkCard]]]:
    """The turn's text blocks (one per frame) and its link cards (with the block they belong to)."""
    options = iter(numbered_options(frames))
    blocks: list[str] = []
    links: list[tuple[int, LinkCard]] = []
    for frame in frames:
        own = [
            next(options)
            for b in frame.get("buttons") or []
            if isinstance(b, Mapping) and (b.get("title") or b.get("payload"))
        ]
        blocks.append(frame_text(frame, own))
        custom = _custom(frame)
        url = _guide_url(custom) if custom.get("kind") == "guide" else ""
        if url:
            title = str(custom.get("guide_name") or "办事指南")[:60]
            links.append((len(blocks) - 1, LinkCard(title, LINK_DESCRIPTION, url)))
    return blocks, links


# -- the plan ----------------------------------------------------------------------------------------


def _pack(text: str, budget: int, limit: int, note: str | None, dense: bool = False) -> list[OutgoingMessage]:
    """``text`` in as few messages as fit; past ``budget`` the rest is deferred (``note`` closes the last sent one)."""
    messages: list[OutgoingMessage] = []
    rest = text.strip()
    while rest:
        sending = len(messages) < budget
        last_slot = len(messages) == budget - 1
        overflow = utf8_len(rest) > limit
        reserve = utf8_len("\n" + note) if note and sending and last_slot and overflow else 0
        head, rest = _cut(rest, limit - reserve, dense)
        if not head:
            raise ValueError(f"limit {limit} is too small for the overflow note")
        if reserve and note:
            head = f"{head}\n{note}"
        messages.append(OutgoingMessage("text", head, deferred=not sending))
    return messages


def _pack_fewest(text: str, budget: int, limit: int, note: str | None) -> list[OutgoingMessage]:
    """Break at paragraphs where that still fits the budget; otherwise pack messages fuller."""
    roomy = _pack(text, budget, limit, note)
    if not any(m.deferred for m in roomy):
        return roomy
    return _pack(text, budget, limit, note, dense=True)


def plan_messages(
    frames: Sequence[Mapping[str, Any]],
    budget: int,
    *,
    limit: int = TEXT_LIMIT_BYTES,
    overflow_note: str | None = OVERFLOW_NOTE,
) -> list[OutgoingMessage]:
    """The turn's frames as ``custom/send`` messages: at most ``budget`` not ``deferred``.

    Texts of all frames are merged (a blank line between frames) and split only where a
    message is full; link cards follow when the budget has room for them, otherwise their
    address joins the text. Frames from the enterprise itself and internal notes are skipped.
    """
    shown = _shown(frames)
    blocks, links = _blocks(shown)
    text_count = len(_pack_fewest("\n\n".join(b for b in blocks if b), budget, limit, None))
    if links and text_count + len(links) > budget:
        for index, card in links:
            if card.url not in blocks[index]:
                blocks[index] = f"{blocks[index]}\n办理入口：{card.url}".strip()
        links = []
    messages = _pack_fewest("\n\n".join(b for b in blocks if b), budget, limit, overflow_note)
    for _, card in links:
        messages.append(OutgoingMessage("link", link=card, deferred=len(messages) >= budget))
    return messages


# -- replies by number --------------------------------------------------------------------------------


_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


class ButtonMemory:
    """The numbered options last shown to each user, so a reply “2” becomes the second button's payload.

    In-process and bounded (``max_users``, oldest forgotten first); options older than
    ``ttl`` seconds are forgotten, so an old “1” is read as plain text again.
    """

    def __init__(
        self, ttl: float = 48 * 3600.0, max_users: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._max = max_users
        self._clock = clock
        self._options: OrderedDict[str, tuple[float, list[Option]]] = OrderedDict()

    def remember(self, user: str, frames: Sequence[Mapping[str, Any]]) -> list[Option]:
        """Keep the options of the turn just sent (a turn without buttons clears the old ones)."""
        options = numbered_options(frames)
        self._options.pop(user, None)
        if options:
            self._options[user] = (self._clock(), options)
            while len(self._options) > self._max:
                self._options.popitem(last=False)
        return options

    def forget(self, user: str) -> None:
        """Drop the user's options (e.g. when a butler takes over)."""
        self._options.pop(user, None)

    def resolve(self, user: str, text: str) -> str | None:
        """The payload the user's reply picks (“2”, “２”, “2.”, “第2个” or an option's exact title), else None."""
        entry = self._options.get(user)
        if entry is None:
            return None
        saved_at, options = entry
        if self._clock() - saved_at > self._ttl:
            self._options.pop(user, None)
            return None
        reply = text.strip().translate(_FULLWIDTH).strip("。.、，, ")
        if reply.startswith("第") and reply.endswith(("个", "项", "条")):
            reply = reply[1:-1]
        for option in options:
            if reply == str(option.number) or reply == option.title:
                return option.payload
        return None
