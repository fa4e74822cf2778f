"""Errors the chat and the CLI show to people, each carrying one Chinese sentence.

Callers catch ``AppealError`` and ``storage.errors.StorageError`` and print
``str(exc)``; nothing below them needs a traceback to be understood. The two
storage failures are the storage package's own classes, re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.errors import ConcurrentUpdate, StorageError, StorageUnavailable

__all__ = [
    "AmbiguousEnterprise",
    "AppealError",
    "ConcurrentUpdate",
    "InvalidInput",
    "NotFound",
    "StorageError",
    "StorageUnavailable",
]


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
