"""The console's JSON API as an OpenAPI 3.0.3 document: the contract the page and schemathesis test against.

Built as a plain dict so it is served as-is from ``GET /api/openapi.json`` and
checked by the tests against the routes that really exist. Objects the console
builds itself are closed (``additionalProperties: false``) so a drift between
the serializers and this document shows up as a schema violation; values that
may be absent are ``nullable``.
"""

from __future__ import annotations

from typing import Any

from appeals.categories import CATEGORIES
from appeals.states import STATUSES

TEXT_MAX = 2000
NAME_MAX = 100
PASSWORD_MAX = 1024

Schema = dict[str, Any]

CONVERSATION_STATE_FILTERS = ("waiting", "butler", "bot", "mine")
LIGHTS = ("green", "yellow", "red")
TICKET_STATUS_FILTERS = ("open", *STATUSES)
ROLES = ("butler", "head", "admin")

ERROR_MESSAGES: dict[int, str] = {
    400: "请求体不是有效的JSON",
    401: "未登录或登录已过期",
    403: "无权执行该操作（或缺少 X-CSRF-Token）",
    404: "不存在或不在您的管辖范围内",
    409: "与当前状态冲突（例如会话已被接管、工单已办结）",
    422: "请求参数不合法",
    429: "登录尝试过于频繁",
    503: "系统暂时无法保存，本次操作未生效",
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Schema], required: list[str] | None = None, *, closed: bool = True) -> Schema:
    schema: Schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def _str(**extra: Any) -> Schema:
    return {"type": "string", **extra}


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


_TIME = _str(format="date-time")
_LIGHT = _str(enum=list(LIGHTS))
_LIGHT_OR_DONE = _str(enum=[*LIGHTS, "done"])


def _schemas() -> dict[str, Schema]:
    frame = _obj(
        {
            "type": _str(enum=["message"]),
            "seq": {"type": "integer"},
            "from": _str(enum=["enterprise", "bot", "butler", "system", "note"]),
            "text": _str(),
            "custom": {"type": "object"},
            "buttons": {
                "type": "array",
                "items": _obj({"title": _str(), "payload": _str()}, ["title"], closed=False),
            },
            "author": _str(),
            "reply_to": _str(),
            "at": _TIME,
        },
        ["type", "seq", "from", "text", "at"],
    )
    conversation = _obj(
        {
            "id": {"type": "integer"},
            "sender": _str(),
            "channel": _str(),
            "state": _str(enum=["bot", "waiting", "butler"]),
            "enterprise_name": _nullable(_str()),
            "handoff_reason": _nullable(_str()),
            "waiting_since": _nullable(_TIME),
            "wait_seconds": _nullable({"type": "integer", "minimum": 0}),
            "butler_name": _nullable(_str()),
            "last_messages": {"type": "array", "items": _ref("Frame")},
            "updated_at": _TIME,
        }
    )
    deadline = _obj({"label": _str(), "due": _TIME, "light": _LIGHT})
    ticket_props: dict[str, Schema] = {
        "number": _str(),
        "enterprise_name": _str(),
        "category": _str(),
        "status": _str(enum=list(STATUSES)),
        "status_label": _str(),
        "urgency": _str(),
        "butler_name": _str(),
        "created_at": _TIME,
        "lights": _obj({"contact": _LIGHT_OR_DONE, "answer": _LIGHT_OR_DONE, "resolve": _LIGHT_OR_DONE}),
        "current_deadline": _nullable(deadline),
        "awaiting_rating": {"type": "boolean"},
        "reopen_count": {"type": "integer", "minimum": 0},
    }
    event = _obj(
        {
            "kind": _str(),
            "kind_label": _str(),
            "actor": _str(),
            "note": _str(),
            "at": _TIME,
            "from_status": _nullable(_str()),
            "to_status": _nullable(_str()),
        }
    )
    rating = _obj({"score": _str(), "comment": _str(), "round": {"type": "integer"}, "at": _TIME})
    detail_props: dict[str, Schema] = {
        **ticket_props,
        "description": _str(),
        "contact_name": _str(),
        "contact_phone": _str(),
        "department_name": _str(),
        "escalation_label": _str(),
        "allowed_actions": {"type": "array", "items": _str()},
        "events": {"type": "array", "items": _ref("TicketEvent")},
        "ratings": {"type": "array", "items": _ref("Rating")},
    }
    user = _obj(
        {
            "username": _str(),
            "display_name": _str(),
            "role": _str(enum=list(ROLES)),
        }
    )
    return {
        "Error": _obj({"error": _str(), "message": _str()}),
        "User": user,
        "Frame": frame,
        "Conversation": conversation,
        "Ticket": _obj(ticket_props),
        "TicketEvent": event,
        "Rating": rating,
        "TicketDetail": _obj(detail_props),
        "CannedReply": _obj({"id": {"type": "integer"}, "title": _str(), "text": _str()}),
        "ButlerOption": _obj({"id": {"type": "integer"}, "name": _str(), "department": _nullable(_str())}),
        "EnterpriseOption": _obj({"id": {"type": "integer"}, "name": _str(), "credit_code": _str()}),
        "BindingCode": _obj(
            {
                "code": _str(pattern=r"^[0-9]{6}$", description="6位绑定码，仅显示这一次"),
                "enterprise_id": {"type": "integer"},
                "enterprise_name": _str(),
                "expires_at": _TIME,
                "expires_text": _str(),
            }
        ),
        "AuditEntry": _obj(
            {
                "id": {"type": "integer"},
                "actor": _str(),
                "action": _str(),
                "target": _str(),
                "detail": _str(),
                "at": _TIME,
            }
        ),
        "LoginRequest": _obj(
            {
                "username": _str(minLength=1, maxLength=NAME_MAX),
                "password": _str(minLength=1, maxLength=PASSWORD_MAX),
            }
        ),
        "TextRequest": _obj({"text": _str(minLength=1, maxLength=TEXT_MAX, pattern=r"\S")}, closed=False),
        "MessageRequest": _obj(
            {
                "text": _str(minLength=1, maxLength=TEXT_MAX, pattern=r"\S"),
                "id": _str(maxLength=64, description="客户端消息编号：同一编号重发只保存一次"),
            },
            ["text"],
            closed=False,
        ),
        "ContactRequest": _obj({"note": _str(maxLength=TEXT_MAX)}, [], closed=False),
        "ConversationTransferRequest": _obj({"butler_id": {"type": "integer", "minimum": 1}}, closed=False),
        "TicketTransferRequest": _obj(
            {"butler_id": {"type": "integer", "minimum": 1}, "reason": _str(maxLength=TEXT_MAX)},
            ["butler_id"],
            closed=False,
        ),
    }


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Schema]:
    return {str(code): _json(_ref("Error"), ERROR_MESSAGES[code]) for code in codes}


def _body(name: str, *, required: bool = True) -> Schema:
    return {"required": required, "content": {"application/json": {"schema": _ref(name)}}}


def _wrap(key: str, schema: Schema) -> Schema:
    return _obj({key: schema})


def _list_of(key: str, item: str) -> Schema:
    return _wrap(key, {"type": "array", "items": _ref(item)})


def _path_param(name: str, description: str, schema: Schema) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": schema}


_CONVERSATION_ID = _path_param("conversation_id", "会话编号", {"type": "integer", "minimum": 1})
_TICKET_NUMBER = _path_param("number", "工单号，如 GD202611230001", _str(minLength=1, maxLength=40))
_ENTERPRISE_ID = _path_param("enterprise_id", "企业编号", {"type": "integer", "minimum": 1})
_READ: list[Schema] = [{"cookieAuth": []}]
_WRITE: list[Schema] = [{"cookieAuth": [], "csrfToken": []}]


def _op(
    operation_id: str,
    summary: str,
    tag: str,
    ok: Schema,
    *,
    errors: tuple[int, ...],
    security: list[Schema] | None = None,
    parameters: list[Schema] | None = None,
    body: Schema | None = None,
) -> Schema:
    operation: Schema = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "security": _READ if security is None else security,
        "responses": {"200": _json(ok, "成功"), **_errors(*errors)},
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = body
    return operation


def _conversation_action(operation_id: str, summary: str, ok: Schema, body: Schema | None) -> Schema:
    codes = (400, 401, 403, 404, 409, 422, 503) if body is not None else (401, 403, 404, 409, 503)
    return _op(
        operation_id,
        summary,
        "conversations",
        ok,
        errors=codes,
        security=_WRITE,
        parameters=[_CONVERSATION_ID],
        body=body,
    )


def _ticket_action(operation_id: str, summary: str, body: Schema) -> Schema:
    return _op(
        operation_id,
        summary,
        "tickets",
        _wrap("ticket", _ref("TicketDetail")),
        errors=(400, 401, 403, 404, 409, 422, 503),
        security=_WRITE,
        parameters=[_TICKET_NUMBER],
        body=body,
    )


def _query(name: str, description: str, schema: Schema) -> Schema:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def _paths() -> dict[str, Schema]:
    conversation = _wrap("conversation", _ref("Conversation"))
    message = _wrap("message", _ref("Frame"))
    prefix = "/api/console"
    return {
        f"{prefix}/login": {
            "post": _op(
                "login",
                "管家登录：设置会话Cookie并返回CSRF令牌",
                "auth",
                _obj({"csrf_token": _str(), "user": _ref("User")}),
                errors=(400, 401, 422, 429, 503),
                security=[],
                body=_body("LoginRequest"),
            )
        },
        f"{prefix}/logout": {
            "post": _op(
                "logout",
                "退出登录",
                "auth",
                _obj({"ok": {"type": "boolean"}}),
                errors=(401, 403),
                security=_WRITE,
            )
        },
        f"{prefix}/me": {
            "get": _op(
                "getMe",
                "当前用户与新的CSRF令牌",
                "auth",
                _obj({"user": _ref("User"), "csrf_token": _str()}),
                errors=(401,),
            )
        },
        f"{prefix}/conversations": {
            "get": _op(
                "listConversations",
                "会话收件箱：等待人工的会话和我接管的会话",
                "conversations",
                _list_of("conversations", "Conversation"),
                errors=(401, 422),
                parameters=[
                    _query(
                        "state",
                        "waiting 等待人工，butler 管家接管中，bot 助手应答中，mine 我接管的",
                        _str(enum=list(CONVERSATION_STATE_FILTERS)),
                    )
                ],
            )
        },
        f"{prefix}/conversations/{{conversation_id}}/transcript": {
            "get": _op(
                "getTranscript",
                "会话全文（企业、助手、管家和内部备注）",
                "conversations",
                _obj(
                    {
                        "conversation": _ref("Conversation"),
                        "messages": {"type": "array", "items": _ref("Frame")},
                    }
                ),
                errors=(401, 404),
                parameters=[_CONVERSATION_ID],
            )
        },
        f"{prefix}/conversations/{{conversation_id}}/take-over": {
            "post": _conversation_action("takeOverConversation", "接管会话", conversation, None)
        },
        f"{prefix}/conversations/{{conversation_id}}/messages": {
            "post": _conversation_action(
                "sendButlerMessage", "管家发送消息", message, _body("MessageRequest")
            )
        },
        f"{prefix}/conversations/{{conversation_id}}/notes": {
            "post": _conversation_action("addConversationNote", "添加内部备注", message, _body("TextRequest"))
        },
        f"{prefix}/conversations/{{conversation_id}}/transfer": {
            "post": _conversation_action(
                "transferConversation", "转交给其他管家", conversation, _body("ConversationTransferRequest")
            )
        },
        f"{prefix}/conversations/{{conversation_id}}/hand-back": {
            "post": _conversation_action("handBackConversation", "交还给智能助手", conversation, None)
        },
        f"{prefix}/canned-replies": {
            "get": _op(
                "listCannedReplies",
                "常用语",
                "conversations",
                _list_of("replies", "CannedReply"),
                errors=(401,),
            )
        },
        f"{prefix}/butlers": {
            "get": _op(
                "listButlers",
                "可转交的管家",
                "conversations",
                _list_of("butlers", "ButlerOption"),
                errors=(401,),
            )
        },
        f"{prefix}/tickets": {
            "get": _op(
                "listTickets",
                "工单队列（含2110三色灯）",
                "tickets",
                _list_of("tickets", "Ticket"),
                errors=(401, 422),
                parameters=[
                    _query("status", "open 表示全部未办结", _str(enum=list(TICKET_STATUS_FILTERS))),
                    _query("category", "诉求类别", _str(enum=list(CATEGORIES))),
                    _query("light", "当前时限的灯色", _str(enum=list(LIGHTS))),
                    _query("enterprise", "企业名称（部分）或统一社会信用代码", _str(maxLength=NAME_MAX)),
                ],
            )
        },
        f"{prefix}/tickets/{{number}}": {
            "get": _op(
                "getTicket",
                "工单详情、处理记录和评价",
                "tickets",
                _wrap("ticket", _ref("TicketDetail")),
                errors=(401, 404),
                parameters=[_TICKET_NUMBER],
            )
        },
        f"{prefix}/tickets/{{number}}/contact": {
            "post": _ticket_action("recordContact", "登记已联系企业", _body("ContactRequest", required=False))
        },
        f"{prefix}/tickets/{{number}}/reply": {
            "post": _ticket_action("replyTicket", "答复企业（首次答复即初步答复）", _body("TextRequest"))
        },
        f"{prefix}/tickets/{{number}}/answer": {
            "post": _ticket_action("answerTicket", "办结反馈：标记已答复并请企业评价", _body("TextRequest"))
        },
        f"{prefix}/tickets/{{number}}/transfer": {
            "post": _ticket_action("transferTicket", "改派给其他管家", _body("TicketTransferRequest"))
        },
        f"{prefix}/tickets/{{number}}/notes": {
            "post": _ticket_action("addTicketNote", "添加工单备注", _body("TextRequest"))
        },
        f"{prefix}/enterprises": {
            "get": _op(
                "listEnterprises",
                "我服务的企业（用于签发绑定码）",
                "enterprises",
                _list_of("enterprises", "EnterpriseOption"),
                errors=(401, 422),
                parameters=[_query("q", "企业名称（部分）或统一社会信用代码", _str(maxLength=NAME_MAX))],
            )
        },
        f"{prefix}/enterprises/{{enterprise_id}}/binding-code": {
            "post": _op(
                "issueBindingCode",
                "签发企业绑定码：6位数字，30分钟内有效，仅可使用一次（小程序用户凭信用代码和绑定码绑定企业）",
                "enterprises",
                _ref("BindingCode"),
                errors=(401, 403, 404, 503),
                security=_WRITE,
                parameters=[_ENTERPRISE_ID],
            )
        },
        f"{prefix}/audit": {
            "get": _op(
                "listAudit",
                "审计日志（管理员和部门负责人）",
                "audit",
                _list_of("entries", "AuditEntry"),
                errors=(401, 403),
            )
        },
    }


def build_openapi() -> dict[str, Any]:
    """The whole document; a new dict each call so a caller may not change the served one by accident."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "企业管家工作台 API",
            "version": "1.0.0",
            "description": (
                "管家工作台（/console）使用的JSON接口。登录后浏览器保存 HttpOnly 会话Cookie `butler_session`；"
                "所有POST请求（登录除外）须带请求头 `X-CSRF-Token`。错误统一返回 "
                '`{"error": "<代码>", "message": "<中文原因>"}`。实时通知：WebSocket `GET /api/console/ws`'
                "（同一Cookie），推送 handoff、conversation_message、conversation_state、ticket 事件。"
            ),
        },
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "butler_session"},
                "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
        "tags": [
            {"name": "auth", "description": "登录与会话"},
            {"name": "conversations", "description": "会话接管"},
            {"name": "tickets", "description": "诉求工单2110闭环"},
            {"name": "enterprises", "description": "企业与小程序绑定码"},
            {"name": "audit", "description": "审计日志"},
        ],
    }
