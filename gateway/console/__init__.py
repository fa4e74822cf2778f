"""The butler console: its JSON API under /api/console, its WebSocket, the /console page and the contract.

``setup_console(app)`` registers every route (named after the operationIds of
``gateway.console.openapi``) and hooks the light watcher into the gateway's
periodic jobs. The modules each do one thing: ``auth`` (session cookie, CSRF,
log-in), ``conversation_views``, ``ticket_views``, ``audit_views``, ``enterprise_views`` (binding codes),
``notifications`` (WebSocket, light watcher), ``serializers``, ``inputs``,
``errors``, ``openapi`` and ``pages``.
"""

from __future__ import annotations

from aiohttp import web

from accounts.settings import AccountsSettings
from gateway.console import audit_views, auth, conversation_views, enterprise_views, pages, ticket_views
from gateway.console.notifications import LIGHT_MEMORY_KEY, LightMemory, console_ws, watch_ticket_lights
from gateway.console.openapi import build_openapi
from gateway.typedefs import WATCHERS_KEY

__all__ = ["build_openapi", "setup_console", "watch_ticket_lights"]

API = "/api/console"


def setup_console(app: web.Application) -> None:
    """Register the console's routes, its settings and its light watcher on the gateway app."""
    app[auth.ACCOUNTS_SETTINGS_KEY] = AccountsSettings.from_env()
    app[LIGHT_MEMORY_KEY] = LightMemory()
    app[pages.OPENAPI_KEY] = build_openapi()
    if WATCHERS_KEY in app:
        app[WATCHERS_KEY].append(watch_ticket_lights)
    conversation = f"{API}/conversations/{{conversation_id:[^/]+}}"
    ticket = f"{API}/tickets/{{number:[^/]+}}"
    router = app.router
    router.add_get("/console", pages.console_page, name="console_page")
    router.add_get("/api/openapi.json", pages.openapi_document, name="openapi")
    router.add_get(f"{API}/ws", console_ws, name="console_ws")
    router.add_post(f"{API}/login", auth.login, name="login")
    router.add_post(f"{API}/logout", auth.logout, name="logout")
    router.add_get(f"{API}/me", auth.me, name="getMe")
    router.add_get(f"{API}/conversations", conversation_views.list_conversations, name="listConversations")
    router.add_get(f"{conversation}/transcript", conversation_views.get_transcript, name="getTranscript")
    router.add_post(f"{conversation}/take-over", conversation_views.take_over, name="takeOverConversation")
    router.add_post(f"{conversation}/messages", conversation_views.send_message, name="sendButlerMessage")
    router.add_post(f"{conversation}/notes", conversation_views.add_note, name="addConversationNote")
    router.add_post(f"{conversation}/transfer", conversation_views.transfer, name="transferConversation")
    router.add_post(f"{conversation}/hand-back", conversation_views.hand_back, name="handBackConversation")
    router.add_get(f"{API}/canned-replies", conversation_views.list_canned_replies, name="listCannedReplies")
    router.add_get(f"{API}/butlers", conversation_views.list_butlers, name="listButlers")
    router.add_get(f"{API}/tickets", ticket_views.list_tickets, name="listTickets")
    router.add_get(ticket, ticket_views.get_ticket, name="getTicket")
    router.add_post(f"{ticket}/contact", ticket_views.record_contact, name="recordContact")
    router.add_post(f"{ticket}/reply", ticket_views.reply_ticket, name="replyTicket")
    router.add_post(f"{ticket}/answer", ticket_views.answer_ticket, name="answerTicket")
    router.add_post(f"{ticket}/transfer", ticket_views.transfer_ticket, name="transferTicket")
    router.add_post(f"{ticket}/notes", ticket_views.add_ticket_note, name="addTicketNote")
    router.add_get(f"{API}/audit", audit_views.list_audit, name="listAudit")
    router.add_get(f"{API}/enterprises", enterprise_views.list_enterprises, name="listEnterprises")
    router.add_post(
        f"{API}/enterprises/{{enterprise_id:[^/]+}}/binding-code",
        enterprise_views.issue_code,
        name="issueBindingCode",
    )
