"""Alembic environment: one migration history for every package's tables."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

import accounts.models  # noqa: E402
import appeals.models  # noqa: E402
import conversations.models  # noqa: E402
import knowledge.models  # noqa: E402
from storage.engine import make_engine
from storage.settings import Settings

target_metadata = [
    knowledge.models.Base.metadata,
    appeals.models.Base.metadata,
    conversations.models.Base.metadata,
    accounts.models.Base.metadata,
]


def _url() -> str:
    return context.config.get_main_option("sqlalchemy.url") or Settings.from_env().database_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
