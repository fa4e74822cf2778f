"""Ticket notices as WeChat subscribe messages, for tickets filed from a WeChat conversation.

When the outbox (``appeals.notices``) says a ticket was routed, answered by its butler,
finished and waiting for a rating, or re-opened, the gateway stores the notice in the
chat as before (``gateway.tasks``) and, when the conversation is a WeChat one (the
customer-service chat ``wx-`` or the mini-program page ``mp-``), also sends the
configured subscribe-message template: the user hears it even with the mini-program
closed. A user who granted no subscription (43101) is skipped quietly (logged at info):
the notice is still in the chat. Values are fitted to the template field rules by the
library (``thing`` ≤ 20 characters, ``phrase`` ≤ 5 Chinese characters…).

The templates' keys (docs/wechat.md): routed and re-opened ``character_string1`` 工单号,
``phrase2`` 状态, ``thing3`` 内容, ``time4`` 时间; answered the same; rating
``character_string1`` 工单号, ``thing2`` 提示, ``time3`` 时间.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from appeals.notices import NoticePublic
from connectors.wechat.api import NotSubscribed, WeChatApiError, WeChatUnavailable, openid_tag
from gateway.db import run_db
from gateway.typedefs import SETTINGS_KEY
from gateway.wechat import store
from gateway.wechat.background import spawn
from gateway.wechat.keys import WECHAT_API_KEY

log = logging.getLogger(__name__)

TICKET_PAGE = "pages/chat/index"
RATING_HINT = "办理完成，请您对结果进行评价"
STATUS = {"routed": "已受理", "butler_reply": "已答复", "reopened": "重新办理"}


def _template(app: web.Application, notice: NoticePublic) -> tuple[str, dict[str, Any]]:
    """The template id and data for a notice; ``("", {})`` when its template is not configured."""
    settings = app[SETTINGS_KEY].wechat
    tz = app[SETTINGS_KEY].appeals_settings.tz
    moment = notice.created_at.astimezone(tz)
    if notice.kind == "answered":
        data: dict[str, Any] = {
            "character_string1": notice.ticket_number,
            "thing2": RATING_HINT,
            "time3": moment,
        }
        return settings.template_rating, data
    data = {
        "character_string1": notice.ticket_number,
        "phrase2": STATUS.get(notice.kind, "已更新"),
        "thing3": notice.text or STATUS.get(notice.kind, ""),
        "time4": moment,
    }
    template = settings.template_answered if notice.kind == "butler_reply" else settings.template_routed
    return template, data


def notify_ticket(app: web.Application, notice: NoticePublic) -> None:
    """Send the notice's subscribe message in the background, if it concerns a WeChat user."""
    key = store.key_of_sender(notice.sender_id or "")
    if key is None or WECHAT_API_KEY not in app:
        return
    template, data = _template(app, notice)
    if not template:
        return
    spawn(app, _send(app, key, template, data, notice), f"wechat-notice-{notice.id}")


async def _send(
    app: web.Application, key: str, template: str, data: dict[str, Any], notice: NoticePublic
) -> None:
    openid = await run_db(app, lambda s: store.openid_for_key(s, key))
    if openid is None:
        return
    try:
        await app[WECHAT_API_KEY].send_subscribe(openid, template, data, page=TICKET_PAGE)
    except NotSubscribed:
        log.info("gateway.wechat.notice_not_subscribed notice=%s openid=%s", notice.id, openid_tag(openid))
        return
    except (WeChatApiError, WeChatUnavailable) as exc:
        log.warning("gateway.wechat.notice_failed notice=%s error=%s", notice.id, exc)
        return
    log.info("gateway.wechat.notice_sent notice=%s kind=%s", notice.id, notice.kind)
