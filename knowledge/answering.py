"""Turning one enterprise question into one reply: answer, offer choices, or say we don't know.

The chat action and ``butler ask`` both call :func:`answer_question`, so what the
command line reports is what a user sees. The NLU intent says which aspect is
asked for; the search says which item; the conversation context fills whichever
of the two the question leaves out ("那要多久？" keeps the item, "那排污许可呢？"
keeps the aspect).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from knowledge.answers import GuideLike, compose_answer
from knowledge.aspects import INTENT_ASPECTS, Aspect, detect_aspect
from knowledge.search import GuideIndex, Hit, SearchResult
from knowledge.text import has_meaningful_text, normalize


@dataclass(frozen=True)
class Thresholds:
    """Where answering stops and asking begins; see docs/benchmarks.md for how they were chosen."""

    answer_confidence: float = 0.5  # share of the question the best item must explain
    switch_confidence: float = 0.65  # leaving the item under discussion needs a clearer match
    answer_margin: float = 0.12  # lead over the runner-up with another name
    clear_margin: float = 0.35  # a lead this large answers even a partial match
    clear_confidence: float = 0.2
    choose_confidence: float = 0.3  # below this we say we don't know
    choose_ratio: float = 0.6  # candidates offered score at least this share of the best
    max_choices: int = 4
    trusted_intent: float = 0.8  # above this the model's aspect wins over keywords


@dataclass(frozen=True)
class Context:
    """What the conversation was last about."""

    guide_id: str | None = None
    aspect: str | None = None


@dataclass(frozen=True)
class Reply:
    kind: str  # guide | choose_guide | no_answer
    text: str
    custom: dict[str, Any]
    guide_id: str | None = None
    guide_name: str | None = None
    aspect: str | None = None
    confidence: float = 0.0
    buttons: list[dict[str, str]] = field(default_factory=list)
    unanswered: bool = False  # worth logging for administrators

    def to_json(self, question: str) -> dict[str, Any]:
        return {
            "question": question,
            "kind": self.kind,
            "guide_id": self.guide_id,
            "guide_name": self.guide_name,
            "aspect": self.aspect,
            "confidence": round(self.confidence, 4),
        }


TIE_RATIO = 0.9  # candidates this close to the best are tied
ELLIPSIS_MAX_CHARS = 4  # "那核准呢" leaves two characters; a longer question names its item itself
ELLIPSIS_CANDIDATES = 10  # items searched for the others that contain the fragment

NO_ANSWER_TEXT = (
    "抱歉，知识库里暂时没有能回答这个问题的办事指南，我不想给您不准确的信息。"
    "您的问题已记录，工作人员会补充完善。如需帮助，可以回复“转人工”联系您的企业管家。"
)
EMPTY_TEXT = "您好，请用文字描述您想办理的事项，例如：“食品经营许可证要什么材料？”"
WHICH_ITEM_TEXT = "请问您想咨询哪个事项？例如：“公章刻制备案要多久？”"
CHOOSE_TEXT = "您问的可能是以下事项，请点选一项："
ALTERNATIVES_TEXT = "您问的如果是以下事项，请点选（知识库暂未收录它们的详细办事指南）："
MAX_ALTERNATIVES = 3  # name-only entries offered beside a guide answer


def resolve_aspect(
    text: str, intent: str | None, intent_confidence: float, context: Context, th: Thresholds
) -> Aspect:
    """The aspect the user asks for: the model's intent, checked against the keywords."""
    keyword = detect_aspect(text)
    predicted = INTENT_ASPECTS.get(intent or "")
    if predicted is not None:
        if keyword is None or keyword is predicted or intent_confidence >= th.trusted_intent:
            return predicted if not (predicted is Aspect.overview and keyword) else keyword
        return keyword
    if keyword is not None:
        return keyword
    if context.aspect and context.aspect in Aspect.__members__:
        return Aspect(context.aspect)  # "那排污许可呢？" keeps the aspect
    return Aspect.overview


def answer_question(
    index: GuideIndex,
    guides: Mapping[str, GuideLike],
    text: str,
    *,
    intent: str | None = None,
    intent_confidence: float = 0.0,
    context: Context | None = None,
    thresholds: Thresholds | None = None,
) -> Reply:
    """One reply to one question, given the conversation so far."""
    context = context or Context()
    thresholds = thresholds or Thresholds()
    if not has_meaningful_text(text):
        return Reply("no_answer", EMPTY_TEXT, {"kind": "no_answer", "reason": "empty"})
    normalized = normalize(text)
    aspect = resolve_aspect(normalized, intent, intent_confidence, context, thresholds)
    result = index.search(normalized)
    # an overview question ("消防怎么办") names a topic; an aspect question ("多久出批复") follows one up
    guide_id = _pick_item(result, context, thresholds, names_topic=aspect is Aspect.overview)
    current = context.guide_id
    if current is not None and guide_id == current and current in guides and not result.is_empty:
        guide_id = _elliptical_switch(index, result, guides[current].name, current, thresholds) or guide_id
    if guide_id is not None and guide_id in guides:
        best = result.best
        return _guide_reply(
            guides,
            guides[guide_id],
            aspect,
            result.confidence if not result.is_empty else 1.0,
            # the name-only entries the guide was preferred to, in case the user meant one of them
            result.alternatives if best is not None and best.guide_id == guide_id else [],
        )
    if result.is_empty:
        return Reply(
            "no_answer", WHICH_ITEM_TEXT, {"kind": "no_answer", "reason": "no_item"}, aspect=aspect.value
        )
    if result.confidence >= thresholds.choose_confidence and result.hits:
        return _choices(result, aspect, thresholds)
    return Reply(
        "no_answer",
        NO_ANSWER_TEXT,
        {"kind": "no_answer"},
        confidence=result.confidence,
        unanswered=True,
        buttons=[{"title": "转人工", "payload": "/request_human"}],
    )


def _pick_item(
    result: SearchResult, context: Context, th: Thresholds, names_topic: bool = False
) -> str | None:
    """The item to answer about, or None to offer choices or decline.

    A conversation prior: a follow-up that does not clearly name another item is
    about the item we were just talking about ("大概几天能拿到？").
    """
    best = result.best
    if result.is_empty or best is None:
        return context.guide_id
    confident = result.confidence >= th.answer_confidence
    if context.guide_id:
        named = best.guide_id in result.mentioned
        if not named and (result.confidence < th.switch_confidence or result.margin < th.answer_margin):
            if names_topic and result.confidence >= th.choose_confidence and _names_a_small_topic(result):
                return None  # "消防怎么办" names a topic with a few items of its own: offer them
            return context.guide_id
        in_play = any(
            h.guide_id == context.guide_id and h.score >= th.choose_ratio * best.score for h in result.hits
        )
        if in_play:
            return context.guide_id
    if confident and (result.margin >= th.answer_margin or len(result.hits) == 1):
        return best.guide_id
    if result.confidence >= th.clear_confidence and result.margin >= th.clear_margin:
        return best.guide_id
    return None


def _names_a_small_topic(result: SearchResult) -> bool:
    """Two to four items tie and the rest fall far behind: 消防 (设计审查/验收/营业前检查).

    A generic leftover word (审批, 登记) ties with many items instead; that is a
    follow-up about the item under discussion, not a new topic.
    """
    best = result.hits[0].score
    tied = [h for h in result.hits if h.score >= TIE_RATIO * best]
    return 2 <= len(tied) <= 4  # search returns five: five tied means a generic word


def _elliptical_switch(
    index: GuideIndex, result: SearchResult, context_name: str, context_id: str, th: Thresholds
) -> str | None:
    """ "那核准呢？" after 企业投资项目备案 means 企业投资项目核准: the question replaces part of the item's name.

    Search again with the item under discussion as context and take a different item
    whose name contains what the user just said, if it stands out among the items
    that do: "消防" after 排污许可证核发 names a topic of several items, not one.
    """
    fragment = result.content.replace(" ", "")
    if not 2 <= len(fragment) <= ELLIPSIS_MAX_CHARS or fragment in normalize(context_name):
        return None
    combined = index.search(f"{fragment} {context_name}", top_k=ELLIPSIS_CANDIDATES)
    named = [h for h in combined.hits if h.guide_id != context_id and fragment in normalize(h.name)]
    if not named or named[0] not in combined.hits[:3] or not named[0].has_guide:
        return None
    if len(named) > 1 and named[1].score >= th.choose_ratio * named[0].score:
        return None
    return named[0].guide_id


def _choices(result: SearchResult, aspect: Aspect, th: Thresholds) -> Reply:
    best_score = result.hits[0].score
    candidates = [h for h in result.hits if h.score >= th.choose_ratio * best_score][: th.max_choices]
    if len(candidates) < 2:
        candidates = result.hits[:2]
    return Reply(
        "choose_guide",
        CHOOSE_TEXT,
        {
            "kind": "choose_guide",
            "aspect": aspect.value,
            "candidates": [{"guide_id": h.guide_id, "guide_name": h.name} for h in candidates],
        },
        aspect=aspect.value,
        confidence=result.confidence,
        buttons=[_choice_button(h, aspect) for h in candidates],
    )


def _choice_button(hit: Hit, aspect: Aspect) -> dict[str, str]:
    return {
        "title": hit.name,
        "payload": f'/choose_guide{{"guide_id":"{hit.guide_id}","aspect":"{aspect.value}"}}',
    }


def answer_chosen(guides: Mapping[str, GuideLike], guide_id: str, aspect: str | None) -> Reply | None:
    """The reply after the user tapped one of the offered items."""
    guide = guides.get(guide_id)
    if guide is None:
        return None
    chosen = Aspect(aspect) if aspect in Aspect.__members__ else Aspect.overview
    return _guide_reply(guides, guide, chosen, 1.0)


def _guide_reply(
    guides: Mapping[str, GuideLike],
    guide: GuideLike,
    aspect: Aspect,
    confidence: float,
    alternatives: Sequence[Hit] = (),
) -> Reply:
    bundled = [guides[i].name for i in (guide.bundled_items or []) if i in guides]
    text = compose_answer(guide, aspect, bundled)
    custom: dict[str, Any] = {
        "kind": "guide",
        "guide_id": guide.id,
        "guide_name": guide.name,
        "aspect": aspect.value,
        "version": str(guide.version),
        "has_guide": bool(guide.has_guide),
    }
    others = [h for h in alternatives if h.guide_id != guide.id][:MAX_ALTERNATIVES]
    if others:
        text = f"{text}\n{ALTERNATIVES_TEXT}"
        custom["alternatives"] = [{"guide_id": h.guide_id, "guide_name": h.name} for h in others]
    return Reply(
        "guide",
        text,
        custom,
        guide_id=guide.id,
        guide_name=guide.name,
        aspect=aspect.value,
        confidence=confidence,
        buttons=[_choice_button(h, aspect) for h in others],
    )
