"""Errors the chat and the CLI show to people, each carrying one Chinese sentence.

Callers catch ``AppealError`` and print ``str(exc)``; nothing below it needs a
traceback to be understood.
"""

from __future__ import annotations

from collections.abc import Sequence


class AppealError(Exception):
    """Base class: ``str(exc)`` is a complete Chinese message for the user."""


class InvalidInput(AppealError):
    """The user typed something the service cannot accept (phone, category, code…)."""


class NotFound(AppealError):
    """The ticket, enterprise or butler does not exist (or is not the caller's)."""


class AmbiguousEnterprise(AppealError):
    """A name matched several enterprises; ``candidates`` lets the chat ask which one."""

    def __init__(self, message: str, candidates: Sequence[str]) -> None:
        super().__init__(message)
        self.candidates = list(candidates)


class StorageUnavailable(AppealError):
    """The database refused or lost the write; nothing was changed."""


class ConcurrentUpdate(AppealError):
    """Someone else changed the ticket first; the change was not applied."""
