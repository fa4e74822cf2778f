"""The chat's use cases: bind an enterprise, show tickets, file an appeal, rate and answer.

The chat actions read the tracker and call one of these; the console and the
command line call the same ones, so who may see what and how a filing is made
idempotent are decided here once. Functions that take ``session`` flush but never
commit (the caller owns the transaction); ``submit_appeal`` owns its own, because
filing retries on lock timeouts.

The chat turns at the end (``start_appeal``, ``file_appeal``, ``ticket_status``,
``rate_from_chat``, ``rating_prompt``) are what one chat action calls for one user
message. They take the session factory because a turn has optional steps (binding
the enterprise, asking for a pending rating) that run in their own short
transactions: a failed optional step never hides or undoes the main answer. They
return plain dataclasses with an ``error`` sentence instead of raising
``AppealError``/``StorageError`` into the dialogue.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from appeals.access import TicketScope, get_ticket_in_scope, list_tickets_in_scope, scope_condition
from appeals.categories import guess_category
from appeals.deadlines import load_calendar
from appeals.errors import AppealError, NotFound
from appeals.filing import create_ticket
from appeals.identity import VerifiedIdentity, verify_identity
from appeals.lifecycle import mark_answered, rate_ticket
from appeals.models import Enterprise, Ticket
from appeals.queries import find_enterprise, office_now, settings_or_default, ticket_public, with_history
from appeals.settings import AppealsSettings
from appeals.states import ANSWERED
from appeals.views import RatingOutcome, TicketCreate, TicketPublic
from storage.errors import StorageError
from storage.transaction import transaction

logger = logging.getLogger(__name__)

IDENTITY_KEY = "identity"  # where the gateway puts the signed identity in a message's metadata
MAX_KEY = 128  # Ticket.idempotency_key


# -- identity and binding ---------------------------------------------------------------


def identity_from_metadata(
    metadata: Mapping[str, Any] | None, sender: str, settings: AppealsSettings, now: int | None = None
) -> VerifiedIdentity | None:
    """The gateway-signed identity in a message's metadata, if it verifies for ``sender``.

    Anything else a client puts there (``credit_code``, ``enterprise_id``…) binds nothing.
    """
    claimed = (metadata or {}).get(IDENTITY_KEY)
    if claimed is None:
        return None
    return verify_identity(
        settings.identity_secret,
        claimed,
        sender,
        int(time.time()) if now is None else now,
        settings.identity_max_age,
    )


def chat_scope(sender: str, identity: VerifiedIdentity | None) -> TicketScope:
    """A conversation sees its verified enterprise's tickets, else only those it filed itself."""
    enterprise_id = identity.enterprise_id if identity is not None else None
    return TicketScope(enterprise_id=enterprise_id, sender_id=sender or None)


@dataclass(frozen=True)
class Binding:
    """Which enterprise a conversation files for; ``changed`` when the slots must be updated."""

    enterprise_id: int | None
    enterprise_name: str | None
    changed: bool = False
    verified: bool = False  # fixed by the logged-in account: the chat may not change it


def bind_enterprise(
    session: Session,
    identity: VerifiedIdentity | None,
    bound_id: int | None = None,
    bound_name: str | None = None,
) -> Binding:
    """The verified identity's enterprise wins over what the chat said earlier; else keep the binding.

    An identity naming an enterprise the registry does not know is logged and ignored.
    """
    if identity is None or identity.enterprise_id is None:
        return Binding(bound_id, bound_name)
    enterprise = session.get(Enterprise, identity.enterprise_id)
    if enterprise is None:
        logger.warning(
            "appeals.bind_unknown_enterprise enterprise_id=%s",
            identity.enterprise_id,
            extra={"event": "appeals.bind_unknown_enterprise"},
        )
        return Binding(bound_id, bound_name)
    changed = enterprise.id != bound_id or enterprise.name != bound_name
    return Binding(enterprise.id, enterprise.name, changed=changed, verified=True)


def enterprise_region(session: Session, identity: VerifiedIdentity | None) -> str | None:
    """The region (所属区县) of the verified identity's enterprise, for answering from its district's guide.

    ``None`` for an unverified conversation, an identity without an enterprise, an
    enterprise the registry does not know, or one registered without a region: only
    the logged-in account says where an enterprise is, never what the chat typed.
    """
    if identity is None or identity.enterprise_id is None:
        return None
    enterprise = session.get(Enterprise, identity.enterprise_id)
    region = (enterprise.region or "").strip() if enterprise is not None else ""
    return region or None


# -- reading ------------------------------------------------------------------------------


def visible_tickets(
    session: Session,
    scope: TicketScope,
    enterprise_id: int | None,
    *,
    number: str | None = None,
    limit: int = 3,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> list[TicketPublic]:
    """The ticket ``number``, or the latest ``limit`` ones, of the bound enterprise that ``scope`` may see."""
    if number:
        ticket = get_ticket_in_scope(session, scope, number, now=now, settings=settings)
        if ticket is None or (enterprise_id is not None and ticket.enterprise_id != enterprise_id):
            return []
        return [ticket]
    return list_tickets_in_scope(
        session, scope, enterprise_id=enterprise_id, limit=limit, now=now, settings=settings
    )


def tickets_to_rate(
    session: Session,
    scope: TicketScope,
    enterprise_id: int | None = None,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> list[TicketPublic]:
    """Answered tickets ``scope`` may see that wait for a rating, oldest answer first."""
    if scope.empty:
        return []
    cfg = settings_or_default(settings)
    query = select(Ticket).where(Ticket.status == ANSWERED)
    condition = scope_condition(scope)
    if condition is not None:
        query = query.where(condition)
    if enterprise_id is not None:
        query = query.where(Ticket.enterprise_id == enterprise_id)
    tickets = list(
        session.execute(query.order_by(Ticket.resolved_at, Ticket.id).options(*with_history())).scalars()
    )
    if not tickets:
        return []
    calendar = load_calendar(session, cfg)
    moment = office_now(now, cfg)
    return [ticket_public(ticket, moment, cfg, calendar) for ticket in tickets]


def next_ticket_to_rate(
    session: Session,
    scope: TicketScope,
    enterprise_id: int | None = None,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic | None:
    """The ticket to ask a rating for when several wait: the one answered longest ago.

    The enterprise hears about its answers in the order the butlers gave them; the
    others are asked after this one is rated.
    """
    pending = tickets_to_rate(session, scope, enterprise_id, now=now, settings=settings)
    return pending[0] if pending else None


# -- filing -------------------------------------------------------------------------------


def content_appeal_id(*parts: str) -> str:
    """A stable id for an appeal from its contents, when the caller has no id of its own."""
    return hashlib.sha256("|".join(parts).encode("utf-8")).hexdigest()[:40]


def idempotency_key(channel_sender: str, appeal_id: str) -> str:
    """The one rule for every caller: the same sender filing the same appeal id files one ticket.

    ``channel_sender`` is the conversation (chat), ``cli`` or the console user; ``appeal_id``
    is what the caller keeps across retries (the chat's form id, ``--key``, the console's
    request id). Long values are hashed so the key always fits the column.
    """
    sender = (channel_sender or "").strip()
    appeal = (appeal_id or "").strip()
    if not sender or not appeal:
        raise ValueError("an idempotency key needs a sender and an appeal id")
    key = f"{sender}:{appeal}"
    if len(key) <= MAX_KEY:
        return key
    return f"{sender[:60]}:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"


@dataclass(frozen=True, kw_only=True)
class AppealForm:
    """What the enterprise confirmed in the chat (or a butler typed for it)."""

    enterprise_id: int
    category: str
    description: str
    contact_name: str
    contact_phone: str
    urgency: str = "普通"


def submit_appeal(
    session_factory: sessionmaker,
    form: AppealForm,
    *,
    sender: str,
    appeal_id: str,
    channel: str,
    sender_id: str = "",
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic:
    """File the appeal once: a retry with the same ``sender`` and ``appeal_id`` returns the first ticket.

    ``sender`` keys the filing; ``sender_id`` is the conversation to notify ("" when a
    butler files for the enterprise).
    """
    data = TicketCreate(
        idempotency_key=idempotency_key(sender, appeal_id),
        enterprise_id=form.enterprise_id,
        category=form.category.strip(),
        description=form.description.strip(),
        contact_name=form.contact_name.strip(),
        contact_phone=form.contact_phone.strip(),
        urgency=form.urgency.strip() or "普通",
        channel=channel[:30],
        sender_id=sender_id,
    )
    return create_ticket(session_factory, data, now=now, settings=settings)


# -- rating and answering -----------------------------------------------------------------


@dataclass(frozen=True)
class RatingStep:
    """What a rating request led to, for the chat to say.

    ``kind``: ``rated`` (``outcome``), ``ask`` (``ticket`` needs a score), ``choose``
    (several ``pending`` tickets, which one?), ``none_pending``, ``not_found`` or
    ``not_awaiting`` (``number``).
    """

    kind: str
    number: str | None = None
    ticket: TicketPublic | None = None
    pending: list[TicketPublic] = field(default_factory=list)
    outcome: RatingOutcome | None = None


def record_rating(
    session: Session,
    scope: TicketScope,
    enterprise_id: int | None,
    *,
    number: str | None,
    score: str | None,
    comment: str,
    actor: str,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> RatingStep:
    """Rate ``number`` (or the one ticket waiting for a rating) if ``scope`` may see it."""
    if number is None:
        pending = tickets_to_rate(session, scope, enterprise_id, now=now, settings=settings)
        if not pending:
            return RatingStep("none_pending")
        if score is None:
            return RatingStep("ask", number=pending[0].number, ticket=pending[0], pending=pending)
        if len(pending) > 1:
            return RatingStep("choose", pending=pending)
        number = pending[0].number
    ticket = get_ticket_in_scope(session, scope, number, now=now, settings=settings)
    if ticket is None or (enterprise_id is not None and ticket.enterprise_id != enterprise_id):
        return RatingStep("not_found", number=number)
    if not ticket.awaiting_rating:
        return RatingStep("not_awaiting", number=ticket.number, ticket=ticket)
    if score is None:
        return RatingStep("ask", number=ticket.number, ticket=ticket)
    outcome = rate_ticket(
        session,
        ticket.number,
        score,
        comment,
        actor,
        enterprise_id=ticket.enterprise_id,
        now=now,
        settings=settings,
    )
    logger.info(
        "appeals.rated number=%s score=%s",
        outcome.ticket.number,
        outcome.score,
        extra={"event": "appeals.rated", "number": outcome.ticket.number, "score": outcome.score},
    )
    return RatingStep("rated", number=ticket.number, ticket=outcome.ticket, outcome=outcome)


def answer_ticket(
    session: Session,
    scope: TicketScope,
    number: str,
    actor: str,
    text: str,
    *,
    now: datetime | None = None,
    settings: AppealsSettings | None = None,
) -> TicketPublic:
    """Mark a ticket ``scope`` may see answered (办结反馈); the outbox then asks the enterprise to rate it."""
    if get_ticket_in_scope(session, scope, number, now=now, settings=settings) is None:
        raise NotFound(f"没有找到工单 {number}")
    return mark_answered(session, number, actor, text, now=now, settings=settings)


# -- chat turns ---------------------------------------------------------------------------

_FAILURES = (AppealError, StorageError)


@dataclass(frozen=True)
class ChatCaller:
    """Who writes, as the chat action read it from the tracker.

    Only a gateway-signed identity in ``metadata`` binds an enterprise; anything else
    there binds nothing. ``enterprise_id``/``enterprise_name`` are what the
    conversation was bound to so far (its slots).
    """

    sender: str
    metadata: Mapping[str, Any] | None = None
    enterprise_id: int | None = None
    enterprise_name: str | None = None


def _identity(caller: ChatCaller, settings: AppealsSettings) -> VerifiedIdentity | None:
    return identity_from_metadata(caller.metadata, caller.sender, settings)


def _bind(session_factory: sessionmaker, caller: ChatCaller, identity: VerifiedIdentity | None) -> Binding:
    """Bind as ``bind_enterprise`` does; if the database fails, keep the binding the chat had."""
    try:
        with transaction(session_factory) as session:
            return bind_enterprise(session, identity, caller.enterprise_id, caller.enterprise_name)
    except _FAILURES as exc:
        logger.warning(
            "appeals.bind_failed error=%s", type(exc).__name__, extra={"event": "appeals.bind_failed"}
        )
        return Binding(caller.enterprise_id, caller.enterprise_name)


def _next_to_rate(
    session_factory: sessionmaker,
    scope: TicketScope,
    enterprise_id: int | None,
    settings: AppealsSettings,
) -> TicketPublic | None:
    """``next_ticket_to_rate`` as an optional step: a failure only means the question waits."""
    try:
        with transaction(session_factory) as session:
            return next_ticket_to_rate(session, scope, enterprise_id, settings=settings)
    except _FAILURES as exc:
        logger.warning(
            "appeals.pending_ratings_failed error=%s",
            type(exc).__name__,
            extra={"event": "appeals.pending_ratings_failed"},
        )
        return None


def enterprise_fixed(caller: ChatCaller, *, settings: AppealsSettings) -> bool:
    """True when the logged-in account names the enterprise: the chat may not change it."""
    identity = _identity(caller, settings)
    return identity is not None and identity.enterprise_id is not None


def chat_region(
    session_factory: sessionmaker, caller: ChatCaller, *, settings: AppealsSettings
) -> str | None:
    """``enterprise_region`` for the chat's verified identity; ``None`` without one or if the database fails.

    An optional step of a guide answer: without the region the city-level guide answers.
    """
    identity = _identity(caller, settings)
    if identity is None or identity.enterprise_id is None:
        return None
    try:
        with transaction(session_factory) as session:
            return enterprise_region(session, identity)
    except _FAILURES as exc:
        logger.warning(
            "appeals.region_failed error=%s", type(exc).__name__, extra={"event": "appeals.region_failed"}
        )
        return None


@dataclass(frozen=True)
class AppealStart:
    """A fresh filing: the binding, the id that makes its retries file once, the category guessed."""

    binding: Binding
    appeal_id: str
    category_guess: str | None


def start_appeal(
    session_factory: sessionmaker,
    caller: ChatCaller,
    description: str | None,
    *,
    settings: AppealsSettings,
) -> AppealStart:
    """Start a filing; it starts even when the binding cannot be read (the form then asks)."""
    binding = _bind(session_factory, caller, _identity(caller, settings))
    guess = guess_category(description) if description else None
    return AppealStart(binding, uuid.uuid4().hex, guess)


@dataclass(frozen=True)
class Filing:
    """What filing from the chat did: the ``ticket``, or the ``error`` sentence; ``appeal_id`` to retry with.

    ``to_rate`` is an answered ticket to ask a rating for now, if one waits.
    """

    appeal_id: str
    ticket: TicketPublic | None = None
    error: str = ""
    to_rate: TicketPublic | None = None


def file_appeal(
    session_factory: sessionmaker,
    caller: ChatCaller,
    form: AppealForm,
    *,
    appeal_id: str | None,
    channel: str,
    settings: AppealsSettings,
) -> Filing:
    """File the confirmed appeal once (``submit_appeal``); without an ``appeal_id`` its contents key it."""
    key = appeal_id or content_appeal_id(
        str(form.enterprise_id),
        form.category,
        form.description,
        form.contact_name,
        form.contact_phone,
        form.urgency,
    )
    try:
        ticket = submit_appeal(
            session_factory,
            form,
            sender=caller.sender,
            appeal_id=key,
            channel=channel,
            sender_id=caller.sender,
            settings=settings,
        )
    except _FAILURES as exc:
        logger.warning(
            "appeals.submit_failed error=%s", type(exc).__name__, extra={"event": "appeals.submit_failed"}
        )
        return Filing(key, error=str(exc))
    logger.info(
        "appeals.submitted number=%s",
        ticket.number,
        extra={"event": "appeals.submitted", "number": ticket.number},
    )
    scope = chat_scope(caller.sender, _identity(caller, settings))
    return Filing(key, ticket, to_rate=_next_to_rate(session_factory, scope, form.enterprise_id, settings))


@dataclass(frozen=True)
class StatusReply:
    """What a status question gets.

    ``kind``: ``tickets`` (``tickets``, and ``to_rate`` if one waits for a rating),
    ``not_found`` (no ticket ``number`` in scope), ``none`` (no tickets yet),
    ``need_enterprise`` (unbound, no credit code given), ``unknown_enterprise``
    (``credit_code`` is not in the registry) or ``error`` (``error``).
    ``binding`` may have changed: the identity, or a credit code, bound the chat.
    """

    kind: str
    binding: Binding
    tickets: list[TicketPublic] = field(default_factory=list)
    number: str | None = None
    credit_code: str | None = None
    to_rate: TicketPublic | None = None
    error: str = ""


def ticket_status(
    session_factory: sessionmaker,
    caller: ChatCaller,
    *,
    number: str | None,
    credit_code: str | None,
    limit: int = 3,
    settings: AppealsSettings,
) -> StatusReply:
    """The ticket ``number``, or the latest ``limit`` ones, that this conversation may see.

    An unbound conversation may name its enterprise by ``credit_code``; that binds the
    chat but grants nothing: without a verified identity it still sees only the
    tickets it filed itself.
    """
    identity = _identity(caller, settings)
    binding = _bind(session_factory, caller, identity)
    scope = chat_scope(caller.sender, identity)
    try:
        with transaction(session_factory) as session:
            if binding.enterprise_id is None:
                if credit_code is None:
                    return StatusReply("need_enterprise", binding)
                found = find_enterprise(session, credit_code)
                if found is None:
                    return StatusReply("unknown_enterprise", binding, credit_code=credit_code.upper())
                binding = Binding(found.id, found.name, changed=True)
            tickets = visible_tickets(
                session, scope, binding.enterprise_id, number=number, limit=limit, settings=settings
            )
    except _FAILURES as exc:
        return StatusReply("error", binding, number=number, error=str(exc))
    if not tickets:
        return StatusReply("not_found" if number else "none", binding, number=number)
    to_rate = _next_to_rate(session_factory, scope, binding.enterprise_id, settings)
    return StatusReply("tickets", binding, tickets, number=number, to_rate=to_rate)


@dataclass(frozen=True)
class RatingTurn:
    """What a rating message led to.

    ``step`` is ``None`` when the conversation is bound to no enterprise, or when
    ``error`` says why nothing was recorded; ``to_rate`` is the next ticket waiting
    for a rating after one was rated.
    """

    binding: Binding
    step: RatingStep | None = None
    error: str = ""
    to_rate: TicketPublic | None = None


def rate_from_chat(
    session_factory: sessionmaker,
    caller: ChatCaller,
    *,
    number: str | None,
    score: str | None,
    comment: str,
    settings: AppealsSettings,
) -> RatingTurn:
    """Record the enterprise's rating (``record_rating``) for a ticket this conversation may see."""
    identity = _identity(caller, settings)
    binding = _bind(session_factory, caller, identity)
    if binding.enterprise_id is None:
        return RatingTurn(binding)
    scope = chat_scope(caller.sender, identity)
    try:
        with transaction(session_factory) as session:
            step = record_rating(
                session,
                scope,
                binding.enterprise_id,
                number=number,
                score=score,
                comment=comment,
                actor=f"企业（{binding.enterprise_name or '在线评价'}）",
                settings=settings,
            )
    except _FAILURES as exc:
        return RatingTurn(binding, error=str(exc))
    if step.kind != "rated":
        return RatingTurn(binding, step)
    return RatingTurn(
        binding, step, to_rate=_next_to_rate(session_factory, scope, binding.enterprise_id, settings)
    )


def rating_prompt(
    session_factory: sessionmaker, caller: ChatCaller, number: str | None, *, settings: AppealsSettings
) -> TicketPublic | None:
    """The ticket to ask a rating for when the gateway delivers an ``answered`` notice, else ``None``.

    The notice's intent can also be typed as a payload, so the ticket must be one this
    conversation may see (filed from it, or its verified enterprise's) and still wait for a rating.
    """
    if not number:
        return None
    scope = chat_scope(caller.sender, _identity(caller, settings))
    try:
        with transaction(session_factory) as session:
            tickets = visible_tickets(session, scope, caller.enterprise_id, number=number, settings=settings)
    except _FAILURES as exc:
        logger.warning(
            "appeals.ask_rating_failed error=%s",
            type(exc).__name__,
            extra={"event": "appeals.ask_rating_failed"},
        )
        return None
    return tickets[0] if tickets and tickets[0].awaiting_rating else None
