"""The appeal slots as the actions read and write them, and the caller they describe.

An appeal filing collects ``APPEAL_SLOTS``; the enterprise binding
(``enterprise_id``/``enterprise_name``) is kept apart and survives a filing, so a
conversation is not asked again which enterprise it is.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet

from appeals.chat import Binding, ChatCaller
from bot.actions.reading import as_int, metadata_of

FORM = "appeal_form"
REQUESTED = "requested_slot"
ENTERPRISE_ID = "enterprise_id"
ENTERPRISE_NAME = "enterprise_name"
RATING_TICKET = "rating_ticket"
REGION = "region"  # the district the user chose for guide answers
OFFERED_DESCRIPTION = "offered_description"  # a complaint a guide answer offered to file

# everything one filing attempt collects
APPEAL_SLOTS: tuple[str, ...] = (
    "appeal_id",
    "appeal_enterprise",
    "appeal_description",
    "appeal_category_guess",
    "appeal_category",
    "contact_name",
    "contact_phone",
    "appeal_urgency",
    "appeal_confirm",
)
# the slots whose answers are plain text that NLU may mistake for a command
FORM_ANSWERS = frozenset({"appeal_enterprise", "contact_name", "contact_phone", "appeal_urgency"})


def caller_of(tracker: Tracker) -> ChatCaller:
    """The sender, the latest message's metadata (the gateway's signed identity) and the binding so far."""
    return ChatCaller(
        sender=tracker.sender_id,
        metadata=metadata_of(tracker),
        enterprise_id=as_int(tracker.get_slot(ENTERPRISE_ID)),
        enterprise_name=tracker.get_slot(ENTERPRISE_NAME),
    )


def binding_events(binding: Binding) -> list[EventType]:
    """The slot events that record a (re)binding; none when it did not change."""
    if not binding.changed:
        return []
    return [SlotSet(ENTERPRISE_ID, binding.enterprise_id), SlotSet(ENTERPRISE_NAME, binding.enterprise_name)]


def reset_appeal_slots() -> list[EventType]:
    """Forget the filing; the binding stays."""
    return [SlotSet(slot, None) for slot in APPEAL_SLOTS]


def cleared(field: str) -> dict[str, Any]:
    """The slots to empty so the form asks ``field`` again and the summary is confirmed again."""
    changes: dict[str, Any] = {field: None, "appeal_confirm": None}
    if field == "appeal_enterprise":
        changes.update({ENTERPRISE_ID: None, ENTERPRISE_NAME: None})
    if field == "appeal_category":
        changes["appeal_category_guess"] = None
    return changes
