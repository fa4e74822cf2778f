"""The whole journey of issue 7 over the real assistant (Rasa with the trained model) and the gateway.

An enterprise chats on /chat and asks for a person; a butler logs in, takes over and replies; the
enterprise sees the reply live; the butler hands back and the assistant answers the next guide
question; the butler answers a ticket and the enterprise rates it in the chat.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from sqlalchemy import select

from accounts.service import create_user
from appeals.models import Rating, Ticket
from storage.engine import make_engine, make_session_factory
from storage.transaction import transaction
from tests.browser.journey import BUTLER, BUTLER_PHONE, CHROMIUM, no_pictures, play
from tests.conftest import MODEL, build_demo_world
from tests.servers import RunningStack, running_stack

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
PASSWORD = secrets.token_urlsafe(12)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    assert MODEL.exists(), "train the model first (make train)"
    work: Path = tmp_path_factory.mktemp("journey")
    database_url = f"sqlite:///{work / 'butler.db'}"
    factory = build_demo_world(database_url)
    with transaction(factory) as session:
        create_user(session, BUTLER, PASSWORD, "butler", butler_phone=BUTLER_PHONE)
    with running_stack(MODEL, work, database_url) as running:
        yield running


def test_an_enterprise_and_its_butler_through_a_day(stack: RunningStack) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            number = play(browser, stack.gateway.url, PASSWORD, no_pictures)
        finally:
            browser.close()
    # what the chat showed is what the ticket records: answered by 何杰, rated 满意, closed
    factory = make_session_factory(make_engine(stack.database_url))
    with factory() as session:
        ticket = session.execute(select(Ticket).where(Ticket.number == number)).scalar_one()
        ratings = session.execute(select(Rating.score).where(Rating.ticket_id == ticket.id)).scalars().all()
        assert ticket.status == "closed"
        assert ticket.butler.name == "何杰"
        assert ratings == ["满意"]
