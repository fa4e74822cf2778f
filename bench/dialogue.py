"""The whole assistant in this process, for benchmarks that must see what the dialogue does.

The trained model is loaded with Rasa's ``Agent`` (NLU, RulePolicy, forms), the
custom actions run in-process exactly as ``python -m bot.server`` runs them
(``actions_module`` in endpoints.yml, bot/inprocess_actions.py), the tracker
lives in memory, and the actions' database is a throwaway SQLite file holding
the demo knowledge base and the demo registry. Each message carries the signed
identity the gateway adds for a logged-in enterprise, so the conversation is
bound to an enterprise as in the mini-program.

What a turn did is read from the tracker, not from the wording of the reply:
the appeal flow started when ``action_start_appeal`` ran in that turn (the
rule for ``file_appeal`` runs it, then activates ``appeal_form``) or when
``appeal_form`` became the active loop.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
APPEAL_START_ACTION = "action_start_appeal"
APPEAL_FORM = "appeal_form"
IDENTITY_SECRET = "bench-identity-secret"
# an offer to file an appeal, when a reply makes one: a button that files it, or words that propose it
OFFER_WORDS = re.compile(r"(登记|提交|发起|反映|受理).{0,6}诉求|诉求.{0,4}(登记|提交)")


@dataclass(frozen=True)
class DialogueTurn:
    """What the assistant did after one message."""

    text: str
    actions: tuple[str, ...]
    responses: tuple[dict[str, Any], ...]
    appeal_started: bool
    category_guess: str | None
    description: str | None
    intent: str | None = None
    cards: tuple[dict[str, Any], ...] = field(default=())

    @property
    def guide_card(self) -> dict[str, Any] | None:
        """The guide card this turn sent (custom kind ``guide``), if any."""
        return next((c for c in self.cards if c.get("kind") == "guide"), None)

    @property
    def answer_kind(self) -> str:
        """What the turn came to, scored as the answer path is: a guide with content, or how it was not.

        A card pointing to a name-only item, or one whose kind is ``no_answer``, declines;
        a turn with no card at all (a form question, a greeting) is ``other``.
        """
        card = self.guide_card
        if card is not None:
            return "guide" if card.get("has_guide") else "no_answer"
        return str(self.cards[0].get("kind") or "other") if self.cards else "other"

    @property
    def offered_appeal(self) -> bool:
        """A reply offers an appeal: a button that files one, a card that says so, or words proposing it."""
        for response in self.responses:
            for button in response.get("buttons") or []:
                payload, title = str(button.get("payload") or ""), str(button.get("title") or "")
                if "file_appeal" in payload or "诉求" in title or "诉求" in payload:
                    return True
            if OFFER_WORDS.search(str(response.get("text") or "")):
                return True
        return any("appeal" in str(card.get("kind") or "") or card.get("offer") for card in self.cards)

    @property
    def description_from_message(self) -> bool:
        """The form took the user's own words as the description (it will not ask for them)."""
        return bool(self.description) and _squash(str(self.description)) in _squash(self.text)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def build_world(database_url: str, *, situations: bool = True) -> None:
    """The demo knowledge base and the demo registry of enterprises and butlers, in a fresh database."""
    from appeals import registry
    from bench.common import demo_records
    from knowledge.service import import_records
    from storage.engine import make_engine, make_session_factory
    from storage.migrate import upgrade_to_head
    from storage.transaction import transaction

    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    demo = ROOT / "appeals" / "demo"
    with transaction(factory) as session:
        import_records(session=session, records=demo_records(situations=situations), source="demo")
    with transaction(factory) as session:
        registry.import_departments(session, demo / "departments_demo.csv")
        registry.import_registry(session, demo / "registry_demo.csv")
    engine.dispose()


def first_enterprise_id(database_url: str) -> int:
    from sqlalchemy import text

    from storage.engine import make_engine

    engine = make_engine(database_url)
    with engine.connect() as connection:
        found = connection.execute(text("SELECT min(id) FROM enterprise")).scalar()
    engine.dispose()
    if found is None:
        raise RuntimeError("the demo registry holds no enterprise")
    return int(found)


class Dialogue:
    """The assistant as the chat runs it, one Agent for the whole benchmark; a sender is a conversation.

    Must be created before anything calls ``bot.actions.services.get_services`` in this
    process: the actions read DATABASE_URL and IDENTITY_SECRET once.
    """

    def __init__(self, model_path: Path, database_url: str) -> None:
        os.environ["DATABASE_URL"] = database_url
        os.environ["IDENTITY_SECRET"] = IDENTITY_SECRET
        import logging

        from rasa.core.agent import Agent
        from rasa.core.utils import AvailableEndpoints
        from rasa.utils.log_utils import configure_structlog

        from bot.inprocess_actions import use_inprocess_actions
        from bot.server import compile_action_response_validation

        use_inprocess_actions()
        compile_action_response_validation()
        endpoints = AvailableEndpoints.read_endpoints(str(ROOT / "endpoints.yml"))
        # the tracker store and lock store of endpoints.yml are left out: Agent keeps both in memory
        # Rasa's structlog echoes every parsed text at debug level: a benchmark's log must not show the
        # messages it asks (the held-out set is never read, MSGABench never copied)
        configure_structlog(logging.WARNING)
        self._agent = Agent.load(str(model_path), action_endpoint=endpoints.action)
        self._enterprise_id = first_enterprise_id(database_url)

    async def parse(self, text: str) -> dict[str, Any]:
        """The NLU half alone: what ``butler ask`` and the dev-set benchmark use."""
        return dict(await self._agent.parse_message(text))

    async def say(self, sender: str, text: str) -> DialogueTurn:
        """One message from ``sender``, signed as the gateway signs a logged-in enterprise's."""
        from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

        from appeals.identity import sign_identity

        metadata = {"identity": sign_identity(IDENTITY_SECRET, sender, self._enterprise_id, int(time.time()))}
        output = CollectingOutputChannel()
        await self._agent.handle_message(UserMessage(text, output, sender, metadata=metadata))
        tracker = await self._agent.tracker_store.retrieve(sender)
        assert tracker is not None
        events = list(tracker.events)
        last_user = max(i for i, e in enumerate(events) if type(e).__name__ == "UserUttered")
        turn = events[last_user + 1 :]
        actions = tuple(
            str(getattr(e, "action_name", "")) for e in turn if type(e).__name__ == "ActionExecuted"
        )
        loops = [getattr(e, "name", None) for e in turn if type(e).__name__ == "ActiveLoop"]
        responses = tuple(output.messages)
        cards = tuple(r["custom"] for r in responses if isinstance(r.get("custom"), dict))
        return DialogueTurn(
            text=text,
            actions=actions,
            responses=responses,
            appeal_started=APPEAL_START_ACTION in actions or APPEAL_FORM in loops,
            category_guess=tracker.get_slot("appeal_category_guess"),
            description=tracker.get_slot("appeal_description"),
            intent=(tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None,
            cards=cards,
        )
