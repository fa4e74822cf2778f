"""Asking the enterprise's conversation for a rating once its ticket is answered.

The butler marks a ticket answered from the CLI or the console; the enterprise
should be asked 满意/基本满意/不满意 in its chat right away. Rasa's HTTP API
(``POST /conversations/{sender}/trigger_intent``) runs ``EXTERNAL_ticket_answered``
in that conversation, whose action asks for the rating on the conversation's
latest channel. Without a configured Rasa URL, or when the call fails, nothing is
lost: the enterprise is asked the next time it writes or checks its appeals.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.parse
import urllib.request

from appeals.settings import AppealsSettings
from appeals.views import TicketPublic

log = logging.getLogger(__name__)

EXTERNAL_INTENT = "EXTERNAL_ticket_answered"
LATER = "企业下次发消息或查询进度时会被邀请评价。"


def request_rating(ticket: TicketPublic, settings: AppealsSettings, timeout: float = 10.0) -> str:
    """Trigger the rating question in the ticket's conversation; returns one line for the operator."""
    if not ticket.sender_id:
        return f"该工单不是在对话中提交的，{LATER}"
    if not settings.rasa_url:
        return f"未配置对话推送（APPEALS_RASA_URL），{LATER}"
    query = {"output_channel": "latest"}
    if settings.rasa_token:
        query["token"] = settings.rasa_token
    url = (
        f"{settings.rasa_url}/conversations/{urllib.parse.quote(ticket.sender_id, safe='')}/trigger_intent?"
        + urllib.parse.urlencode(query)
    )
    body = json.dumps({"name": EXTERNAL_INTENT, "entities": {"ticket_number": ticket.number}}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "code", None) or type(exc).__name__
        log.warning("appeals.rating_push_failed number=%s reason=%s", ticket.number, reason)
        return f"未能通知企业的对话（{reason}），{LATER}"
    log.info("appeals.rating_pushed number=%s", ticket.number)
    return "已在企业的对话中邀请评价。"
