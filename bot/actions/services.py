"""The services the actions call, built once per action-server process from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.orm import sessionmaker

from appeals.settings import AppealsSettings
from knowledge.assistant import GuideAssistant
from knowledge.live_index import LiveIndex
from knowledge.settings import Settings as KnowledgeSettings
from storage.engine import make_engine, make_session_factory


@dataclass(frozen=True)
class Services:
    session_factory: sessionmaker  # one database for guides and appeals
    guides: GuideAssistant
    appeals: AppealsSettings  # deadlines, working hours, time zone for the ticket service


@lru_cache(maxsize=1)
def get_services() -> Services:
    """Build on first use, not at import time, so importing the actions needs no database."""
    settings = KnowledgeSettings.from_env()
    session_factory = make_session_factory(make_engine(settings.database_url))
    return Services(
        session_factory=session_factory,
        guides=GuideAssistant(session_factory, LiveIndex(session_factory)),
        appeals=AppealsSettings.from_env(),
    )
