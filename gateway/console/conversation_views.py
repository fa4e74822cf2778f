"""The conversation inbox and the hand-off actions of the console.

The moves themselves (take over, reply, note, transfer, hand back) are
``gateway.handoff``'s: it changes the state in the database, writes the audit
line, mirrors the move into Rasa, tells the enterprise and notifies the consoles.
These views only check the caller and the input and shape the answer. A
conversation outside the caller's scope is a 404, like an unknown one.
"""

from __future__ import annotations

from datetime import tzinfo

from aiohttp import web
from sqlalchemy.orm import Session

from accounts import service as accounts
from conversations import service as conversations
from conversations.views import ConversationPublic, MessagePublic
from gateway import handoff
from gateway.console.auth import Caller, console_view
from gateway.console.inputs import conversation_id, id_field, query_choice, read_body, text_field
from gateway.console.openapi import CONVERSATION_STATE_FILTERS
from gateway.console.serializers import butler_json, canned_reply_json
from gateway.db import now_utc, run_db
from gateway.frames import conversation_json, message_frame
from gateway.typedefs import SETTINGS_KEY

CLIENT_ID_MAX = 64


def _tz(request: web.Request) -> tzinfo:
    return request.app[SETTINGS_KEY].appeals_settings.tz


def _conversation_response(request: web.Request, conversation: ConversationPublic) -> web.Response:
    body = {"conversation": conversation_json(conversation, _tz(request), now_utc(request.app))}
    return web.json_response(body)


def _message_response(request: web.Request, message: MessagePublic) -> web.Response:
    return web.json_response({"message": message_frame(message, _tz(request))})


@console_view()
async def list_conversations(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``listConversations``: waiting and held ones by default; ``state`` narrows (``mine``: held by me)."""
    state = query_choice(request, "state", "会话状态", CONVERSATION_STATE_FILTERS)
    scope = accounts.conversation_scope(caller.user)
    found = await run_db(request.app, lambda s: conversations.inbox(s, scope, state))
    tz, now = _tz(request), now_utc(request.app)
    return web.json_response({"conversations": [conversation_json(c, tz, now) for c in found]})


@console_view()
async def get_transcript(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``getTranscript``: the conversation and every turn, internal notes included."""
    number = conversation_id(request)
    scope = accounts.conversation_scope(caller.user)

    def work(session: Session) -> tuple[ConversationPublic, list[MessagePublic]]:
        return (
            conversations.get_conversation(session, number, scope),
            conversations.transcript(session, number, scope),
        )

    conversation, messages = await run_db(request.app, work)
    tz = _tz(request)
    return web.json_response(
        {
            "conversation": conversation_json(conversation, tz, now_utc(request.app)),
            "messages": [message_frame(m, tz) for m in messages],
        }
    )


@console_view(write=True)
async def take_over(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``takeOverConversation``: a second click by the holder answers 200 with the same conversation."""
    result = await handoff.take_over(request.app, conversation_id(request), caller.user)
    return _conversation_response(request, result.conversation)


@console_view(write=True)
async def send_message(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``sendButlerMessage``: the holder's reply; an optional ``id`` makes a retried send count once."""
    number = conversation_id(request)
    body = await read_body(request)
    text = text_field(body, "text", "消息内容", max_chars=request.app[SETTINGS_KEY].max_text_chars)
    client_id = text_field(body, "id", "消息编号", max_chars=CLIENT_ID_MAX, required=False) or None
    message = await handoff.send_butler_message(request.app, number, caller.user, text, client_id)
    return _message_response(request, message)


@console_view(write=True)
async def add_note(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``addConversationNote``: an internal note, seen in the transcript, never by the enterprise."""
    number = conversation_id(request)
    body = await read_body(request)
    text = text_field(body, "text", "备注内容", max_chars=request.app[SETTINGS_KEY].max_text_chars)
    message = await handoff.add_note(request.app, number, caller.user, text)
    return _message_response(request, message)


@console_view(write=True)
async def transfer(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``transferConversation``: to another butler, who then holds it."""
    number = conversation_id(request)
    body = await read_body(request)
    butler_id = id_field(body, "butler_id", "转交的管家")
    result = await handoff.transfer(request.app, number, caller.user, butler_id)
    return _conversation_response(request, result.conversation)


@console_view(write=True)
async def hand_back(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``handBackConversation``: back to the assistant, which answers the next question."""
    result = await handoff.hand_back(request.app, conversation_id(request), caller.user)
    return _conversation_response(request, result.conversation)


@console_view()
async def list_canned_replies(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``listCannedReplies``: the 常用语 the administrator keeps."""
    replies = await run_db(request.app, conversations.canned_replies)
    return web.json_response({"replies": [canned_reply_json(r) for r in replies]})


@console_view()
async def list_butlers(request: web.Request, caller: Caller) -> web.StreamResponse:
    """``listButlers``: active butlers a conversation or ticket can be given to."""
    butlers = await run_db(request.app, conversations.transfer_targets)
    return web.json_response({"butlers": [butler_json(b) for b in butlers]})
