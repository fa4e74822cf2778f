"""The one transaction helper every package uses: commit on success, roll back and explain on failure."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from storage.errors import ConcurrentUpdate, StorageUnavailable

logger = logging.getLogger(__name__)


@contextmanager
def transaction(session_factory: sessionmaker) -> Iterator[Session]:
    """A session in one transaction owned by the caller.

    Commits when the block succeeds. On a database failure rolls back and raises
    ``StorageUnavailable`` (``ConcurrentUpdate`` for a stale version), so a failed
    write leaves the data as it was; any other exception rolls back and propagates.
    """
    try:
        with session_factory.begin() as session:
            yield session
    except StaleDataError as exc:
        logger.warning("storage.concurrent_update", extra={"event": "storage.concurrent_update"})
        raise ConcurrentUpdate() from exc
    except SQLAlchemyError as exc:
        logger.error("storage.error error=%s", type(exc).__name__, extra={"event": "storage.error"})
        raise StorageUnavailable() from exc
