"""Turning one enterprise question into one reply: answer, offer choices, or say we don't know.

The chat action and ``butler ask`` both call :func:`answer_question`, so what the
command line reports is what a user sees. The NLU intent says which aspect is
asked for; the search says which item; the conversation context fills whichever
of the two the question leaves out ("那要多久？" keeps the item, "那排污许可呢？"
keeps the aspect).
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import jieba

from knowledge.answers import GuideLike, compose_answer, served_online_only
from knowledge.aspects import (
    HOW_TO_DO,
    INTENT_ASPECTS,
    Aspect,
    asked_aspects,
    asks_how_by_verb,
    asks_how_to_do,
    asks_whether_allowed,
    asks_whether_covered,
    asks_whether_needed,
    asks_whether_online,
    asks_whether_paid,
    detect_aspect,
    keyword_match,
    last_clause,
    mend_question_words,
    named_aspects,
    question_sentence,
)
from knowledge.dense import DenseIndex, DenseRanking
from knowledge.fusion import fused_order, in_fused_order
from knowledge.item_scorer import SWAP_PROBABILITY, candidates, likeliest
from knowledge.regions import is_regional, pick_variant, region_options
from knowledge.search import STOP_CHARS, GuideIndex, Hit, SearchResult, decided_by_names
from knowledge.text import has_meaningful_text, normalize


@dataclass(frozen=True)
class MeaningCut:
    """When the meaning's best guide answers, on one scale (probability or cosine).

    Its best guide answers when the lexical candidates include it (``floor``, ``margin``), alone when
    surer still (``alone``, ``alone_margin``), settles a choice the words offer (``settle_margin``),
    agrees with the words' own best guess (``agree_margin``), or overrules the words' pick when this
    much surer of another item (``overrule_gap``) and ahead of its runner-up (``overrule_margin``).
    """

    floor: float
    margin: float
    alone: float
    alone_margin: float
    settle_margin: float
    agree_margin: float
    overrule_gap: float
    overrule_margin: float
    agree_floor: float | None = None  # the agreement's own floor; None: ``floor``
    # too unsure to answer, but the meaning's best guide is at least this likely: offer it and the
    # guides close to it (``suggest_share`` of its score) instead of saying no guide exists; None: never
    suggest: float | None = None
    suggest_share: float = 0.5


# the classifier's probabilities (knowledge/meaning.py), used when most guides have 适用情形 to learn
# from. The cosine cut carried over by probability = (cosine - 0.85) / 0.07; chosen on bench/tuning
# and the dev set (docs/nlu-pipeline.md). Probabilities sum to one, so a best guide at 0.57 already
# leads by 0.14 (the agree and overrule margins); the 0.29 and 0.21 margins still bind up to 0.645
# and 0.605.
# When the words' own best guess is the same item, 0.4 is enough ("小超市想进点香烟卖": 0.50, next 0.09).
# From 0.25 the likeliest guides are offered instead of a flat "no guide": on bench/tuning and the dev
# set every answerable question that was declined (13) had its guide among them.
PROBABILITY_CUT = MeaningCut(0.57, 0.29, 0.86, 0.43, 0.21, 0.14, 0.29, 0.14, agree_floor=0.4, suggest=0.25)
# cosines, compressed (unrelated questions reach 0.88-0.89): for guides without 适用情形, where the
# classifier has one example per guide and did worse (tuning sets without situations: 111 -> 100 of 180)
COSINE_CUT = MeaningCut(0.89, 0.02, 0.91, 0.03, 0.015, 0.01, 0.02, 0.01)


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
    # the words' and the meaning's scores together answer another item from this probability (above 1: never)
    second_look: float = SWAP_PROBABILITY
    # the model this sure that a question is off topic ("帮我查一下明天的天气"): no "did you mean" guides
    off_topic: float = 0.5
    # a follow-up naming no item leaves the conversation's item when the meaning is this sure of another
    # (a probability) and this much surer than of the item (None: never)
    context_switch: float | None = 0.57
    context_switch_gap: float = 0.29
    # when the meaning answers: on the classifier's probabilities when the guides teach it, on cosines
    # otherwise (see MeaningCut)
    by_probability: MeaningCut = PROBABILITY_CUT
    by_cosine: MeaningCut = COSINE_CUT
    # a question leaves the item under discussion when it has this many words that name topics in
    # the knowledge base and that the item's guide never uses ("厂房租赁补贴" after 食品经营许可证核发)
    new_topic_words: int = 2

    def cut_for(self, ranking: DenseRanking) -> MeaningCut:
        """The cut on the scale the ranking's scores are on."""
        return self.by_probability if ranking.probabilities else self.by_cosine


@dataclass(frozen=True)
class Context:
    """What the conversation was last about."""

    guide_id: str | None = None
    aspect: str | None = None


@dataclass(frozen=True)
class Reply:
    kind: str  # guide | choose_guide | choose_region | no_answer
    text: str
    custom: dict[str, Any]
    guide_id: str | None = None
    guide_name: str | None = None
    aspect: str | None = None
    confidence: float = 0.0
    buttons: list[dict[str, str]] = field(default_factory=list)
    unanswered: bool = False  # worth logging for administrators
    # what decided the item (or the items offered): context (the item under discussion), words (the
    # lexical search), meaning (the classifier, when the words chose none), overrule (the meaning over
    # the words' pick), scored (the words and the meaning weighed together, knowledge/item_scorer.py),
    # chosen (the user tapped it); empty for "no guide"
    basis: str = ""

    @property
    def offered(self) -> tuple[str, ...]:
        """The names a "did you mean" reply offered, likeliest first; empty for any other reply."""
        if not self.custom.get("suggested"):
            return ()
        return tuple(str(c["guide_name"]) for c in self.custom.get("candidates", []))

    def to_json(self, question: str) -> dict[str, Any]:
        return {
            "question": question,
            "kind": self.kind,
            "guide_id": self.guide_id,
            "guide_name": self.guide_name,
            "aspect": self.aspect,
            "confidence": round(self.confidence, 4),
            "basis": self.basis,
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
SUGGEST_TEXT = "您问的是不是以下事项？请点选一项查看办事指南；都不是的话，可以回复“转人工”联系您的企业管家。"
MAX_SUGGESTIONS = 3
HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}
ALTERNATIVES_TEXT = "您问的如果是以下事项，请点选（知识库暂未收录它们的详细办事指南）："
MAX_ALTERNATIVES = 3  # name-only entries offered beside a guide answer
CHOOSE_REGION_TEXT = "“{name}”在市级和多个区县都有办理窗口，请问您的企业在哪个区县？"
DENSE_TOP_K = 5


def resolve_aspect(
    text: str, intent: str | None, intent_confidence: float, context: Context, th: Thresholds
) -> Aspect:
    """The aspect the user asks for: the model's intent, checked against the wording.

    In a message of several sentences, the model reads the story too ("社保也一直按时交"
    is not a question about the steps); an aspect named in the sentence that asks wins,
    and the rules below read that sentence only. The model reads words, not the question
    they form, so the form decides first: "要不要去备个案" asks whether at all (the
    overview), "材料交到哪" asks where (a keyword that itself asks outweighs one that
    names, and a sure model only when it ends the question), "能不能…" asks whether the
    enterprise may (the conditions), "X怎么申请" the steps. docs/nlu-pipeline.md has the
    order and the measurements.
    """
    text = mend_question_words(text)
    asked = question_sentence(text)
    where = asked or text
    named_where_asked = detect_aspect(asked) if asked is not None else None
    if named_where_asked is not None:
        return named_where_asked
    match = keyword_match(where)
    keyword = match.aspect if match else None
    if (match is None or match.word == "手续") and asks_whether_needed(where):
        return Aspect.overview
    ending = last_clause(where)
    asked_at_end = asked_aspects(ending)  # what the clause that ends the question asks in words
    if asks_whether_covered(ending) and not asked_at_end:  # "小门店装修也要办手续吗"
        return Aspect.conditions
    if asks_whether_paid(ending):  # "辦這個資質要花錢嗎", whatever else the message names
        return Aspect.fee
    if asks_whether_online(ending) and not asked_at_end:  # "不想跑窗口，可以全程网上办吗"
        return Aspect.online
    predicted = INTENT_ASPECTS.get(intent or "")
    named = named_aspects(where)
    asking = asked_aspects(where)
    # "在网上怎么申请", "打哪个部门的电话": the channel the model hears is what is asked about
    channel = predicted in (Aspect.online, Aspect.contact) and predicted in named_aspects(ending)
    confident = predicted is not None and intent_confidence >= th.trusted_intent
    if len(asking) == 1 and not channel and (not confident or asked_at_end == asking):
        # a sure model gives way only to the clause that ends the question ("商标在哪里查了，下一步…" tells)
        return next(iter(asking))
    if keyword is None and asks_whether_allowed(where):  # "还能申请吗", whatever aspect the model guesses
        return Aspect.conditions
    if match is not None and match.word in HOW_TO_DO and named == {Aspect.process}:
        return Aspect.process  # "要装个商用电表，要怎么申请": the steps, though the model hears materials
    if predicted is not None:
        if keyword is None or keyword is predicted or confident:
            return predicted if not (predicted is Aspect.overview and keyword) else keyword
        return keyword
    if keyword is not None:
        return keyword
    if asks_how_by_verb(where):  # "咋评啊", "怎么申情"
        return Aspect.process
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
    dense: DenseIndex | None = None,
    region: str | None = None,
) -> Reply:
    """One reply to one question, given the conversation so far.

    ``dense`` (optional) finds the item a question paraphrases when the words
    alone do not; ``region`` is the asking enterprise's region, whose copy of the
    item answers (None: unknown; a 在哪里办 question is then asked which region).
    """
    context = context or Context()
    thresholds = thresholds or Thresholds()
    if not has_meaningful_text(text):
        return Reply("no_answer", EMPTY_TEXT, {"kind": "no_answer", "reason": "empty"})
    normalized = normalize(text)
    aspect = resolve_aspect(normalized, intent, intent_confidence, context, thresholds)
    result = index.search(normalized)
    about_an_item = context.guide_id is not None
    if context.guide_id and _leaves_topic(index, result, guides.get(context.guide_id), thresholds):
        context = Context(None, context.aspect)  # "厂房租赁补贴去哪里申请" is a new question
    # an overview or steps question ("消防怎么办") names a topic; an aspect question ("多久出批复") follows one up
    names_topic = aspect is Aspect.overview or (aspect is Aspect.process and asks_how_to_do(normalized))
    guide_id, basis = _pick_item(result, context, thresholds, names_topic=names_topic)
    current = context.guide_id
    if current is not None and guide_id == current and current in guides and not result.is_empty:
        switched = _elliptical_switch(index, result, guides[current].name, current, thresholds)
        if switched:
            guide_id, basis = switched, "words"
    confidence = result.confidence if not result.is_empty else 1.0
    everything: DenseRanking | None = None  # the meaning over every guide, once it has been asked
    if (
        basis == "context"
        and guide_id is not None
        and dense is not None
        and dense.learnt
        and not result.is_empty
        and _says_something_new(result, guides.get(guide_id))  # checked first: it costs no embedding
    ):
        everything = dense.meaning(normalized, top_k=len(dense))
        moved = _moves_on(dense, everything, guide_id, thresholds)
        if moved is not None:
            guide_id, confidence, basis = moved, everything.score_of(moved), "meaning"
    elif guide_id is not None and dense is not None and guide_id != context.guide_id and guide_id in dense:
        if guide_id not in result.mentioned:  # an item named (by name or alias) stays the words' choice
            picked = guide_id
            everything = dense.meaning(normalized, top_k=len(dense))
            guide_id, confidence = _meaning_overrules(
                dense, everything, result, guide_id, thresholds, confidence
            )
            basis = "overrule" if guide_id != picked else basis
        elif dense.learnt and not about_an_item and not _name_typed(guides.get(guide_id), normalized):
            # an item named by an alias or a part of its name ("年报"): asked for the second look below
            everything = dense.meaning(normalized, top_k=len(dense))
    meaning: list[str] = []  # the meaning's order (DenseIndex.meaning), when the words chose no item
    ranking: DenseRanking | None = None
    if guide_id is None and dense is not None and not result.is_empty:
        everything = dense.meaning(normalized, top_k=len(dense))
        ranking = DenseRanking(everything.hits[:DENSE_TOP_K], everything.probabilities)
        meaning = [hit.guide_id for hit in ranking.hits]
        guide_id, confidence = _dense_pick(ranking, result, thresholds, confidence)
        basis = "meaning"
    if guide_id is not None and not about_an_item and everything is not None:
        second = _second_look(normalized, result, everything, guides, guide_id, thresholds.second_look)
        if second is not None:
            guide_id, confidence = second
            basis = "scored"
    if guide_id is not None and guide_id in guides:
        best = result.best
        reply = _regional_reply(
            index,
            guides,
            guide_id,
            aspect,
            confidence,
            region,
            # the name-only entries the guide was preferred to, in case the user meant one of them
            result.alternatives if best is not None and best.guide_id == guide_id else [],
        )
        return replace(reply, basis=basis)
    if result.is_empty:
        return Reply(
            "no_answer", WHICH_ITEM_TEXT, {"kind": "no_answer", "reason": "no_item"}, aspect=aspect.value
        )
    if result.confidence >= thresholds.choose_confidence and result.hits:
        return _choices(result, aspect, thresholds, fused_order(result, meaning))
    off_topic = intent == "out_of_scope" and intent_confidence >= thresholds.off_topic
    guess = _suggest(ranking, guides, aspect, thresholds) if ranking is not None and not off_topic else None
    if guess is not None:
        return guess
    return Reply(
        "no_answer",
        NO_ANSWER_TEXT,
        {"kind": "no_answer"},
        confidence=result.confidence,
        unanswered=True,
        buttons=[HUMAN_BUTTON],
    )


def _suggest(
    ranking: DenseRanking, guides: Mapping[str, GuideLike], aspect: Aspect, th: Thresholds
) -> Reply | None:
    """The guides worth offering when the meaning leans towards one but not enough to answer; None: none.

    "我们想建个仓库，听说要先在发改委挂个号" is 企业投资项目备案 at 0.64, far ahead of
    the rest, but the words point nowhere and the meaning alone answers from 0.86.
    Saying no guide exists would be wrong; answering might be too. The user picks,
    or asks for the butler.
    """
    cut = th.cut_for(ranking)
    best = ranking.best
    if cut.suggest is None or best is None or best.score < cut.suggest:
        return None
    close = [h for h in ranking.hits if h.score >= cut.suggest_share * best.score and h.guide_id in guides]
    items = [(guides[h.guide_id].id, guides[h.guide_id].name) for h in close[:MAX_SUGGESTIONS]]
    if not items:
        return None
    offer = _offer(SUGGEST_TEXT, items, aspect, best.score, basis="meaning")
    # not sure enough to answer: worth an administrator's look, and the butler is one tap away
    return replace(
        offer,
        custom={**offer.custom, "suggested": True},
        unanswered=True,
        buttons=[*offer.buttons, HUMAN_BUTTON],
    )


def _dense_pick(
    ranking: DenseRanking, result: SearchResult, th: Thresholds, confidence: float
) -> tuple[str | None, float]:
    """The guide a question paraphrases, when the words alone chose none.

    The meaning's best guide (the classifier's probability) answers when the
    lexical search also found it (among weak candidates) and it leads the
    runner-up, or on its own when it is surer still. When the words fit several
    items well, the choice stays with the user unless the meaning is clearly
    ahead. The lead is the real signal: an unrelated question (天气, 护照) still
    gets a distribution over the guides, spread thin, and must be declined.
    """
    best = ranking.best
    if best is None:
        return None, confidence
    cut = th.cut_for(ranking)
    # the words' own best guess, from the guides' texts, and the meaning's are the same item; not when
    # names explain the question and tie ("规划许可": two items' names), which the user settles
    words_first = result.best is not None and result.best.guide_id == best.guide_id
    agreed = words_first and not decided_by_names(result)
    agree_floor = cut.floor if cut.agree_floor is None else cut.agree_floor
    if agreed and best.score >= agree_floor and ranking.margin >= cut.agree_margin:
        return best.guide_id, best.score
    words_agree = best.guide_id in {h.guide_id for h in result.hits}  # the words point there too, weakly
    if result.confidence >= th.choose_confidence:
        # the words fit several items (规划许可: 建设工程… or 建设用地…): the user chooses unless meaning is clear
        floor, margin = cut.floor, cut.settle_margin
        if not words_agree or not _beyond_names(result, th):
            return None, confidence
    elif words_agree:
        floor, margin = cut.floor, cut.margin
    else:
        floor, margin = cut.alone, cut.alone_margin
    if best.score >= floor and ranking.margin >= margin:
        return best.guide_id, best.score
    return None, confidence


def _beyond_names(result: SearchResult, th: Thresholds) -> bool:
    """True when the question says something the names it offers a choice between do not.

    "用电报装要什么材料" is two items' shared name and an aspect: the classifier's lean
    between 高压 and 低压 is then a prior from their 适用情形, not evidence, and the user
    chooses. "厂里要装1000多千伏安的变压器" brings 变压器. A number or a Latin word ("2024年")
    says nothing about which item is meant, nor does a word that shares a character with the names
    (jieba cuts "2024年用电报装" into 年用, 电报 …; "电力报装" is the name in other words).
    """
    best = result.best
    if best is None:
        return False
    offered = [hit.name for hit in result.hits if hit.score >= th.choose_ratio * best.score]
    return any(
        len(w) >= 2
        and not w.isascii()
        and not any(ch in STOP_CHARS or ch.isdigit() for ch in w)
        and not any(ch in name for name in offered for ch in w)  # "年用", "电力": pieces around a name
        for w in jieba.lcut(result.content)
    )


def _says_something_new(result: SearchResult, guide: GuideLike | None) -> bool:
    """True when the question has a word of two or more characters its item's guide never uses.

    "办这个证要交钱不" or "在哪个网站填报" after an item ask about the item, in words
    of its guide or of every guide; "后厨的废水要排到沟里" brings 后厨, 废水.
    """
    return any(not any(ch in STOP_CHARS for ch in w) for w in _words_not_in_guide(result, guide))


def _moves_on(dense: DenseIndex, everything: DenseRanking, current: str, th: Thresholds) -> str | None:
    """Another item, when a follow-up that names none is clearly about it in meaning; None: stay.

    "对了，后厨的废水要排到外面的沟里，要办啥" after 食品经营许可证核发 shares no word
    with an item's name, so the words keep the conversation's item; the meaning is sure
    it is 排污许可证核发. A follow-up about the item itself ("注册资本要实缴吗")
    leaves the meaning on that item or spread thin.
    """
    best = everything.best
    if best is None or th.context_switch is None:
        return None
    stay = dense.item_score(everything, current)  # a regional copy counts as the item
    if best.score >= th.context_switch and best.score - stay >= th.context_switch_gap:
        return best.guide_id
    return None


def _second_look(
    text: str,
    result: SearchResult,
    everything: DenseRanking,
    guides: Mapping[str, GuideLike],
    guide_id: str,
    sure: float,
) -> tuple[str, float] | None:
    """Another item, when the words and the meaning weighed together are sure of it (knowledge/item_scorer.py).

    Only for a question asked outside a conversation about an item (one that leaves
    the item's topic included: the tuning measured it so), on the classifier's
    probabilities (``sure``: ``Thresholds.second_look``); an item whose full name the question types out
    keeps its answer (an alias or a part of the name does not: "年报" is also how
    people speak of the abnormal list that a missed annual report lands them on).
    """
    if not everything.probabilities:
        return None

    def name_of(candidate: str) -> str | None:
        guide = guides.get(candidate)
        return str(guide.name) if guide is not None else None

    best = likeliest(candidates(result, everything, name_of))
    if best is None:
        return None
    candidate, probability = best
    current = guides.get(guide_id)
    if probability < sure or candidate.guide_id not in guides or current is None:
        return None
    # the same item (a regional copy), or the item's full name typed out (checked again here for the
    # meaning's own pick or an overrule's, which the caller's check did not see)
    if str(current.name) == candidate.name or _name_typed(current, text):
        return None
    return candidate.guide_id, probability


def _name_typed(guide: GuideLike | None, text: str) -> bool:
    """True when the (normalised) question contains the item's full official name."""
    return guide is not None and normalize(str(guide.name)) in text


def _meaning_overrules(
    dense: DenseIndex,
    ranking: DenseRanking,
    result: SearchResult,
    guide_id: str,
    th: Thresholds,
    confidence: float,
) -> tuple[str, float]:
    """The item the words picked, or the one the question clearly means when the words were misled.

    "药店想卖血压计" picks the pharmacy licence by 药店, "便利店收银台想卖香烟" the
    food licence by 便利店. The meaning is much closer to another guide (第二类医疗器械
    经营备案, 烟草专卖零售许可证核发) than to the words' pick and ahead of its own
    runner-up. ``ranking`` is the meaning over every guide; the caller keeps an
    item named verbatim, or a name-only catalogue entry the model never embedded,
    as the words' choice (with the words' ``confidence``).
    """
    kept = guide_id, confidence
    cut = th.cut_for(ranking)
    best = ranking.best
    if best is None or best.guide_id == guide_id or best.score < cut.floor:
        return kept
    gap = best.score - dense.item_score(ranking, guide_id)  # a regional copy counts as its item
    if gap >= cut.overrule_gap and ranking.margin >= cut.overrule_margin:
        return best.guide_id, best.score
    return kept


def _guide_words(guide: GuideLike) -> str:
    """Everything the guide says, as one normalised text: what a follow-up about it may use."""
    parts: list[str] = [
        str(guide.name),
        " ".join(getattr(guide, "aliases", None) or ()),
        str(guide.department),
    ]
    parts += [str(getattr(guide, "legal_basis", "") or ""), str(guide.conditions or ""), str(guide.fee or "")]
    parts += [str(guide.location or ""), str(guide.hours or "")]
    for part in [*(guide.materials or []), *(guide.steps or []), *(guide.faqs or [])]:
        if isinstance(part, Mapping):
            parts.extend(str(v) for v in part.values() if isinstance(v, str))
    return normalize(" ".join(parts))


_NAME_TEXTS: weakref.WeakKeyDictionary[GuideIndex, str] = weakref.WeakKeyDictionary()


def _name_text(index: GuideIndex) -> str:
    """The names and aliases of the full guides in one text: the topics this knowledge base can answer.

    Name-only catalogue entries are left out: 25,000 of them use nearly every word a
    follow-up might ("员工", "最低"), and they cannot answer anyway.
    """
    text = _NAME_TEXTS.get(index)
    if text is None:
        text = "|".join(
            normalize(f) for e in index.entries.values() if e.has_guide for f in (e.name, *e.aliases)
        )
        _NAME_TEXTS[index] = text
    return text


def _leaves_topic(index: GuideIndex, result: SearchResult, guide: GuideLike | None, th: Thresholds) -> bool:
    """True when the question brings a topic of its own that the item under discussion never mentions.

    "厂房租赁补贴去哪里申请" after 食品经营许可证核发 names 厂房, 租赁 and 补贴: words
    other guides' names use (they name topics here) and the food licence's guide
    never does. A new question, not the food licence's 办理地点. A follow-up with
    its own details ("注册资本要实缴吗", "多久出批复", "截止日期是几号") uses words no
    item name uses, and keeps the item.
    """
    names = _name_text(index)
    topic = {w for w in _words_not_in_guide(result, guide) if w in names}
    return len(topic) >= th.new_topic_words


def _words_not_in_guide(result: SearchResult, guide: GuideLike | None) -> set[str]:
    """The question's words (two characters or more) that the item's guide never uses; none without a guide."""
    if guide is None or result.is_empty:
        return set()
    words = _guide_words(guide)
    return {w for w in jieba.lcut(result.content) if len(w) >= 2 and w not in words}


def _pick_item(
    result: SearchResult, context: Context, th: Thresholds, names_topic: bool = False
) -> tuple[str | None, str]:
    """The item to answer about (None: offer choices or decline) and what chose it: context or words.

    A conversation prior: a follow-up that does not clearly name another item is
    about the item we were just talking about ("大概几天能拿到？").
    """
    best = result.best
    if result.is_empty or best is None:
        return context.guide_id, "context"
    confident = result.confidence >= th.answer_confidence
    if context.guide_id:
        named = best.guide_id in result.mentioned
        if not named and (result.confidence < th.switch_confidence or result.margin < th.answer_margin):
            if names_topic and result.confidence >= th.choose_confidence and _names_a_small_topic(result):
                return None, "words"  # "消防怎么办" names a topic with a few items of its own: offer them
            return context.guide_id, "context"
        in_play = any(
            h.guide_id == context.guide_id and h.score >= th.choose_ratio * best.score for h in result.hits
        )
        if in_play:
            return context.guide_id, "context"
    if confident and (result.margin >= th.answer_margin or len(result.hits) == 1):
        return best.guide_id, "words"
    if result.confidence >= th.clear_confidence and result.margin >= th.clear_margin:
        return best.guide_id, "words"
    return None, "words"


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


def _choices(result: SearchResult, aspect: Aspect, th: Thresholds, order: Sequence[str] = ()) -> Reply:
    """Offer the items close to the best; ``order`` (the fused order) puts the likeliest first.

    The words decide which items are close enough to offer; the fused order may
    add the item it ranks first when the words found it too, but scored it lower.
    """
    best_score = result.hits[0].score
    candidates = [h for h in result.hits if h.score >= th.choose_ratio * best_score][: th.max_choices]
    if len(candidates) < 2:
        candidates = result.hits[:2]
    candidates = in_fused_order(candidates, result.hits, order, th.max_choices)
    return _offer(
        CHOOSE_TEXT, [(h.guide_id, h.name) for h in candidates], aspect, result.confidence, basis="words"
    )


def _offer(
    text: str, items: Sequence[tuple[str, str]], aspect: Aspect, confidence: float, *, basis: str
) -> Reply:
    """A choose_guide reply: one button per (guide id, name), the aspect kept for the answer."""
    return Reply(
        "choose_guide",
        text,
        {
            "kind": "choose_guide",
            "aspect": aspect.value,
            "candidates": [{"guide_id": guide_id, "guide_name": name} for guide_id, name in items],
        },
        aspect=aspect.value,
        confidence=confidence,
        buttons=[_choice_button(guide_id, name, aspect) for guide_id, name in items],
        basis=basis,
    )


def _choice_button(guide_id: str, name: str, aspect: Aspect) -> dict[str, str]:
    return {
        "title": name,
        "payload": f'/choose_guide{{"guide_id":"{guide_id}","aspect":"{aspect.value}"}}',
    }


def answer_chosen(
    guides: Mapping[str, GuideLike],
    guide_id: str,
    aspect: str | None,
    *,
    index: GuideIndex | None = None,
    region: str | None = None,
) -> Reply | None:
    """The reply after the user tapped one of the offered items (or, with ``region``, a region)."""
    if guide_id not in guides:
        return None
    chosen = Aspect(aspect) if aspect in Aspect.__members__ else Aspect.overview
    if index is not None and index.entry(guide_id) is not None:
        return replace(_regional_reply(index, guides, guide_id, chosen, 1.0, region, ()), basis="chosen")
    return replace(_guide_reply(guides, guides[guide_id], chosen, 1.0), basis="chosen")


def _regional_reply(
    index: GuideIndex,
    guides: Mapping[str, GuideLike],
    guide_id: str,
    aspect: Aspect,
    confidence: float,
    region: str | None,
    alternatives: Sequence[Hit],
) -> Reply:
    """The guide reply from the asker's region's copy of the item; asks for the region when it matters and is unknown."""
    entry = index.entry(guide_id)
    variants = [v for v in index.variants(guide_id) if v.id in guides] if entry is not None else []
    if any(v.has_guide for v in variants):
        variants = [v for v in variants if v.has_guide]  # a name-only copy cannot say where or how
    if entry is None or not variants:
        return _guide_reply(guides, guides[guide_id], aspect, confidence, alternatives)
    if region is None and aspect is Aspect.location and is_regional(variants):
        return _choose_region(guides[guide_id], variants, aspect, confidence)
    choice = pick_variant(variants, region, entry if entry in variants else variants[0])
    return _guide_reply(
        guides, guides[choice.entry.id], aspect, confidence, alternatives, regional=choice.regional
    )


def _choose_region(guide: GuideLike, variants: Sequence[Any], aspect: Aspect, confidence: float) -> Reply:
    options = region_options(variants)
    return Reply(
        "choose_region",
        CHOOSE_REGION_TEXT.format(name=guide.name),
        {
            "kind": "choose_region",
            "guide_id": guide.id,
            "guide_name": guide.name,
            "aspect": aspect.value,
            "regions": [{"title": o.title, "region": o.region} for o in options],
        },
        guide_id=guide.id,
        guide_name=guide.name,
        aspect=aspect.value,
        confidence=confidence,
        buttons=[
            {
                "title": o.title,
                "payload": "/choose_region" + json.dumps({"region": o.region}, ensure_ascii=False),
            }
            for o in options
        ],
    )


def _guide_reply(
    guides: Mapping[str, GuideLike],
    guide: GuideLike,
    aspect: Aspect,
    confidence: float,
    alternatives: Sequence[Hit] = (),
    *,
    regional: bool = False,
) -> Reply:
    if aspect is Aspect.location and served_online_only(guide):
        aspect = Aspect.online  # "企业年报在哪里填": the way in, with the place for questions
    bundled = [guides[i].name for i in (guide.bundled_items or []) if i in guides]
    text = compose_answer(guide, aspect, bundled, regional=regional)
    custom: dict[str, Any] = {
        "kind": "guide",
        "guide_id": guide.id,
        "guide_name": guide.name,
        "aspect": aspect.value,
        "version": str(guide.version),
        "has_guide": bool(guide.has_guide),
    }
    if regional:
        custom["region"] = getattr(guide, "region", "") or ""
        custom["level"] = getattr(guide, "level", "") or ""
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
        buttons=[_choice_button(h.guide_id, h.name, aspect) for h in others],
    )
