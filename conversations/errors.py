"""Errors the console and the chat show to people, each carrying one Chinese sentence.

The gateway maps them to HTTP: ``ConversationNotFound`` → 404 (also for a
conversation outside the caller's scope, so its existence is not revealed),
``AlreadyTaken`` and ``InvalidState`` → 409, ``NotHolder`` → 403,
``InvalidInput`` → 422.
"""

from __future__ import annotations


class ConversationError(Exception):
    """Base class: ``str(exc)`` is a complete Chinese message for the user."""


class ConversationNotFound(ConversationError):
    """No such conversation, or not one the caller may see."""

    def __init__(self, message: str = "会话不存在或您无权查看") -> None:
        super().__init__(message)


class AlreadyTaken(ConversationError):
    """Another butler holds the conversation (they clicked 接管 first)."""

    def __init__(self, holder_name: str = "") -> None:
        who = f"管家{holder_name}" if holder_name else "其他管家"
        super().__init__(f"该会话已由{who}接管")
        self.holder_name = holder_name


class NotHolder(ConversationError):
    """The caller does not hold the conversation, so cannot reply in it or hand it back."""

    def __init__(self, message: str = "您没有接管该会话，请先接管后再操作") -> None:
        super().__init__(message)


class InvalidState(ConversationError):
    """The move is not possible from the conversation's current state."""


class InvalidInput(ConversationError):
    """Empty or oversized text, an unknown role or butler."""


class ConversationBusy(ConversationError):
    """Others kept changing the conversation while this change was being applied."""

    def __init__(self) -> None:
        super().__init__("会话刚刚被其他人更新，本次操作未生效，请刷新后重试")
