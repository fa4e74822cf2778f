"""Custom actions run inside the Rasa process behave as they do behind the action server."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from bot.inprocess_actions import InProcessActionEndpoint, use_inprocess_actions

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet]
slots:
  topic:
    type: text
    mappings: [{type: custom}]
actions: [action_echo_sample, action_reject_sample, action_broken_sample, action_missing_sample]
"""
)
SAMPLES = "tests.bot.sample_actions"


def endpoint() -> EndpointConfig:
    return InProcessActionEndpoint.from_endpoint(
        EndpointConfig.from_dict({"url": "http://127.0.0.1:1/webhook", "actions_module": SAMPLES})
    )


async def run(action_name: str, text: str = "营业执照怎么办") -> list:
    tracker = DialogueStateTracker.from_events(
        "ent-9", [UserUttered(text, {"name": "greet", "confidence": 1.0})]
    )
    return await RemoteAction(action_name, endpoint()).run(
        CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(DOMAIN.responses), tracker, DOMAIN
    )


def test_actions_module_selects_the_in_process_endpoint_and_url_alone_keeps_http() -> None:
    assert isinstance(endpoint(), InProcessActionEndpoint)
    plain = EndpointConfig.from_dict({"url": "http://127.0.0.1:5055/webhook"})
    assert InProcessActionEndpoint.from_endpoint(plain) is plain


async def test_an_action_answers_and_sets_slots_without_an_action_server() -> None:
    events = await run("action_echo_sample")
    uttered = [e for e in events if isinstance(e, BotUttered)]
    assert uttered[0].text == "收到：营业执照怎么办"
    assert uttered[1].data["custom"] == {"kind": "echo", "sender": "ent-9"}
    assert SlotSet("topic", "营业执照怎么办") in events


async def test_a_rejection_reaches_rasa_as_a_rejection() -> None:
    with pytest.raises(ActionExecutionRejection):
        await run("action_reject_sample")


@pytest.mark.parametrize("action_name", ["action_broken_sample", "action_missing_sample"])
async def test_a_failing_or_unknown_action_is_a_rasa_error_not_a_crash(action_name: str) -> None:
    with pytest.raises(RasaException, match=action_name):
        await run(action_name)


def test_a_mistyped_actions_module_stops_the_start_up() -> None:
    with pytest.raises(ValueError, match="cannot import the actions module 'bot.actionz'"):
        InProcessActionEndpoint("bot.actionz", None)


def test_endpoints_files_read_by_the_server_honour_actions_module(tmp_path: Path) -> None:
    use_inprocess_actions()
    path = tmp_path / "endpoints.yml"
    path.write_text(
        f"action_endpoint:\n  url: http://127.0.0.1:5055/webhook\n  actions_module: {SAMPLES}\n",
        encoding="utf-8",
    )
    action = AvailableEndpoints.read_endpoints(str(path)).action
    assert isinstance(action, InProcessActionEndpoint)
    assert "action_echo_sample" in action.executor.actions
