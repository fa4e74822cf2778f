"""The guide desk: the one object the chat action, ``butler ask`` and the benchmark call.

It owns the live index and records what it could not answer, so every entry
point answers the same way and feeds the same unanswered-question log.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import sessionmaker

from knowledge.answering import Context, Reply, Thresholds, answer_chosen, answer_question
from knowledge.live_index import LiveIndex
from knowledge.service import log_unanswered

log = logging.getLogger(__name__)


class GuideAssistant:
    def __init__(
        self, session_factory: sessionmaker, live_index: LiveIndex, thresholds: Thresholds | None = None
    ) -> None:
        self._session_factory = session_factory
        self._live_index = live_index
        self._thresholds = thresholds or Thresholds()

    def reply(
        self,
        text: str,
        *,
        intent: str | None = None,
        intent_confidence: float = 0.0,
        context: Context | None = None,
        sender_id: str = "",
        region: str | None = None,
        record_unanswered: bool = True,
    ) -> Reply:
        """Answer one question in its conversation context.

        ``region`` is the region of the enterprise the conversation is bound to
        (its copy of an item answers); None for an unbound visitor.
        """
        snapshot = self._live_index.current()
        reply = answer_question(
            snapshot.index,
            snapshot.guides,
            text,
            intent=intent,
            intent_confidence=intent_confidence,
            context=context or Context(),
            thresholds=self._thresholds,
            dense=snapshot.dense,
            region=region,
        )
        if reply.unanswered and record_unanswered:
            self._record(text, sender_id, reply)
        log.info(
            "guide.reply kind=%s guide=%s aspect=%s confidence=%.3f intent=%s region=%s",
            reply.kind,
            reply.guide_id,
            reply.aspect,
            reply.confidence,
            intent,
            region,
        )
        return reply

    def reply_chosen(self, guide_id: str, aspect: str | None, region: str | None = None) -> Reply | None:
        """Answer after the user picked one of the offered items (or a region); None if it no longer exists."""
        snapshot = self._live_index.current()
        return answer_chosen(snapshot.guides, guide_id, aspect, index=snapshot.index, region=region)

    def _record(self, text: str, sender_id: str, reply: Reply) -> None:
        try:
            with self._session_factory.begin() as session:
                log_unanswered(
                    session=session,
                    text=text[:1000],
                    sender_id=sender_id,
                    best_guess=reply.guide_name or next(iter(reply.offered), ""),
                    confidence=f"{reply.confidence:.3f}",
                )
        except Exception:  # the user still gets the honest answer if the log cannot be written
            log.exception("guide.unanswered.log_failed")
