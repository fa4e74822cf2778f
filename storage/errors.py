"""Database failures as people read them: one Chinese sentence, no traceback.

Every package's transaction goes through ``storage.transaction.transaction``,
which turns SQLAlchemy's exceptions into these after rolling back. Domain errors
(``AppealError``…) are separate bases, so callers catch ``StorageError`` too.
"""

from __future__ import annotations


class StorageError(Exception):
    """Base class: ``str(exc)`` is a complete Chinese sentence; nothing was changed."""

    default_message = "数据库暂时不可用，本次操作未生效，请稍后重试"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class StorageUnavailable(StorageError):
    """The database refused or lost the write; the transaction was rolled back."""

    default_message = "系统暂时无法保存，本次操作未生效，请稍后重试"


class ConcurrentUpdate(StorageError):
    """Someone else changed the same row first; the change was not applied."""

    default_message = "数据刚刚被其他人更新，本次操作未生效，请刷新后重试"
