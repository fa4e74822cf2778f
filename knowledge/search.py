"""Finding the guide item a question is about.

Every surface form of an item (its name and each alias) is one BM25 document
over character uni- and bigrams plus jieba words; an item scores the best of its
forms. Character n-grams survive typos and unknown words, jieba words (with a
user dictionary of every name and alias) reward an exact phrase, colloquial
phrases are expanded to guide vocabulary first, and verbatim mentions of names
and departments are marked (mentions.py). Items with a full guide outrank name-only
catalogue entries of the same service, and a name-only entry that only ties
with a guide steps aside for it: the guide can answer, the entry cannot.

Close candidates are told apart by the words of the question only one of them
matches (低压 picks 低压 over 高压用电报装), and an item whose name excludes what
the question names (非公司企业法人… for a question about a 公司) falls behind.

The result carries a confidence (how much of the question the best item
explains, weighted by idf) and a margin over the runner-up with a different
name; the answering code turns those into answer / choose / don't know.

A city's catalogue repeats each service at every level (市, 县区, 乡镇街道,
村社区) and in every region. Entries with the same normalised name are one
candidate: a result's hits and its margin never count a name twice, and the
name is represented by one stable entry (a full guide, else the highest level,
else the first given). The answering layer picks the regional copy it wants
from ``GuideIndex.variants(hit.guide_id)``. Each distinct surface form is
indexed once and mapped to its candidates, so 25,000 entries that share about
1,200 names cost about what 1,200 entries cost.

A guide's own words (``GuideEntry.text``: conditions, materials, steps, FAQ
questions) are a second, separate BM25 index (character uni- and bigrams and
jieba words, b 0.75: plain char-BM25, which long texts need), consulted only when
the names leave a question undecided (no confidence and margin the answering
layer would act on) and explain less than half of it. Then the best texts by
BM25 over the question add up to ``TEXT_WEIGHT`` of the best name score, each in
proportion to its BM25 score times the idf-weighted share of the question it
contains, after the names have been re-ranked (that re-ranking is about names
and would scramble what the text found). The share matters: "找谁审批", "网上能办吗"
are in every guide's text, and by BM25 alone, with a city catalogue loaded,
texts that merely said 审批 took 占用挖掘城市道路审批's place for "接管子要挖开马路，
找谁审批". A text that shares only single characters with the question adds
nothing. The confidence a text gives is its share of the question,
down-weighted. Consulted on every question, that text lowered the dev set's item
top-1 (99.7% to 97.0–98.8%) and no-answer precision (100% to 90%): follow-ups such
as 公示期多长时间 matched another guide's FAQ. Behind the gate the demo dev-set
figures are unchanged; the text is for what the names cannot say (a knowledge
base whose names are an answer's first sentence, a question that never names
its item). A weight of 3 instead of 1 declined one unanswerable dev question
fewer and was not kept.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import bm25s
import jieba
import numpy as np

from knowledge.aspects import strip_aspect_words
from knowledge.mentions import DEPARTMENT, ITEM, Mention, build_matcher, find_mentions
from knowledge.models import LEVELS
from knowledge.synonyms import SynonymTable
from knowledge.text import char_terms, default_dictionary, normalize, pinyin_terms

_JIEBA_BLOCK = jieba.re_han_default  # what jieba cuts as one block; it never joins two
GUIDE_PRIOR = 1.5  # a full guide beats name-only catalogue entries of similar services
DEPARTMENT_PRIOR = 1.1  # a question naming the department prefers its items
USER_WORD_FREQ = 200_000
MENTION_WEIGHT = 2.0  # a verbatim name or alias outweighs anything synonyms or n-grams add
RERANK_FLOOR = 0.6  # share of the BM25 score a candidate keeps however little of its name was asked for
BM25_B = 0.3  # documents are short names; a long official name should not be penalised much
CONTENT_TIE = 0.9  # a guide this close to a name-only entry is the better answer to the same question
CONTRAST_RANGE = 0.75  # candidates this close are told apart by the words only one of them has
OUTWORDED = 0.5  # what a candidate keeps when a close rival explains all its words and more
TEXT_WEIGHT = 1.0  # a guide's text adds at most this share of the best name score
TEXT_CANDIDATES = 20  # the candidates whose text is weighed (the best by BM25 over the texts)
# a question found only in a guide's text is never as certain as one naming it, and stays below the
# answering layer's switch confidence (0.65): text alone never leaves the item under discussion
TEXT_CONFIDENCE = 0.6
# a result the answering layer decides on its names alone (its answer and clear thresholds):
# (confidence, margin) pairs; the guide text is consulted only when none holds
NAMES_DECIDE = ((0.5, 0.12), (0.2, 0.35))
NAMES_EXPLAIN = (
    0.5  # nor when a name explains this share of the question (the answering layer's answer confidence)
)
EXCLUDED = 0.5  # what an item keeps when its name excludes what the question names (非公司… for 公司)

# words that carry no information about which item is meant
STOP_WORDS = frozenset(
    [
        "我",
        "我们",
        "你",
        "你们",
        "您",
        "他",
        "她",
        "它",
        "咱",
        "咱们",
        "俺",
        "想",
        "想要",
        "要",
        "需要",
        "请问",
        "问",
        "问问",
        "问一下",
        "一下",
        "下",
        "请",
        "麻烦",
        "帮",
        "帮我",
        "帮忙",
        "给",
        "让",
        "老板",
        "那",
        "那个",
        "这个",
        "这",
        "那么",
        "然后",
        "还有",
        "还",
        "再",
        "又",
        "就",
        "都",
        "也",
        "才",
        "呢",
        "吗",
        "嘛",
        "啊",
        "呀",
        "吧",
        "哦",
        "噢",
        "哈",
        "啦",
        "了",
        "的",
        "地",
        "得",
        "着",
        "过",
        "么",
        "怎么",
        "怎样",
        "怎么样",
        "如何",
        "咋",
        "咋办",
        "咋整",
        "怎么办",
        "啥",
        "什么",
        "哪些",
        "哪个",
        "多少",
        "几",
        "个",
        "一个",
        "些",
        "有",
        "有没有",
        "没有",
        "没",
        "是",
        "是不是",
        "不",
        "能",
        "能不能",
        "可以",
        "可不可以",
        "会",
        "该",
        "应该",
        "得",
        "去",
        "来",
        "在",
        "和",
        "跟",
        "与",
        "及",
        "或",
        "或者",
        "以及",
        "对",
        "对于",
        "关于",
        "办",
        "办理",
        "办下来",
        "弄",
        "搞",
        "做",
        "申请",
        "申办",
        "一",
        "下来",
        "现在",
        "今天",
        "马上",
        "刚",
        "刚刚",
        "已经",
        "准备",
        "打算",
        "计划",
        "流程",
        "手续",
        "事",
        "事情",
        "东西",
        "情况",
        "问题",
        "咨询",
        "了解",
        "知道",
        "告诉",
        "说",
        "说说",
        "讲讲",
        "介绍",
        "你好",
        "您好",
        "谢谢",
        "好",
        "好的",
        "嗯",
        "嗯嗯",
        "哎",
        "唉",
        "诶",
        "喂",
        "哈喽",
        "hi",
        "hello",
        "大概",
        "一般",
        "具体",
        "大约",
        "左右",
        "拿到",
        "拿证",
        "下证",
        "出证",
        "取证",
        "领证",
        "当场",
        "能够",
        "就能",
        "才能",
        "一次",
        "多",
        "比较",
        "真的",
        "到底",
        "究竟",
        "具体是",
        "是否",
        "需不需要",
        "用不用",
        "必须",
        "一定",
        "还是",
        "所以",
        "因为",
        "但是",
        "如果",
    ]
)

STOP_CHARS = frozenset(w for w in STOP_WORDS if len(w) == 1)


@dataclass(frozen=True)
class GuideEntry:
    """What the index needs to know of an item."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()
    department: str = ""
    has_guide: bool = True
    bundled_items: tuple[str, ...] = ()  # a 一件事 scenario bundles these items
    level: str = "市"  # 市, 县区, 乡镇街道 or 村社区 (models.LEVELS)
    region: str = ""  # the city, district, town or village whose office serves it
    # conditions, material and step names, FAQ questions of a full guide (guide_text); searched
    # only when the names leave a question undecided (see the module docstring)
    text: str = ""


def _field(part: Any, key: str) -> str:
    """A named field of a material, step or FAQ, stored as a dict (GuideItem) or a dataclass (GuideRecord)."""
    value = part.get(key) if isinstance(part, Mapping) else getattr(part, key, "")
    return str(value or "")


def guide_text(item: Any) -> str:
    """The words of a full guide a question may use instead of its name, for ``GuideEntry.text``.

    Conditions, 适用情形, the names of materials and steps, and FAQ questions, one per
    line; ``item`` is a GuideItem row or a GuideRecord.
    """
    lines = [str(getattr(item, "conditions", "") or "")]
    lines += [str(s) for s in getattr(item, "situations", None) or ()]
    lines += [_field(m, "name") for m in getattr(item, "materials", None) or ()]
    lines += [_field(s, "name") for s in getattr(item, "steps", None) or ()]
    lines += [_field(f, "q") for f in getattr(item, "faqs", None) or ()]
    return "\n".join(line.strip() for line in lines if line.strip())


def match_terms(text: str) -> list[str]:
    """Terms a question and an item's name are compared on: characters, bigrams, pinyin bigrams."""
    return char_terms(text) + pinyin_terms(text)


@dataclass(frozen=True)
class Hit:
    guide_id: str
    name: str
    score: float
    has_guide: bool
    confidence: float = 0.0  # 0..1: idf-weighted share of the question this item explains
    level: str = "市"  # of the representative entry; GuideIndex.variants gives the other regions
    region: str = ""


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    confidence: float  # 0..1: idf-weighted share of the question explained by the best item
    margin: float  # 0..1: (best - runner-up with another name) / best; see _margin for who runs up
    content: str  # the words left after aspect and stop words were removed
    mentioned: list[str] = field(default_factory=list)  # guide ids named verbatim
    # name-only entries that tied with the best item, a guide, and stepped aside for it
    alternatives: list[Hit] = field(default_factory=list)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None

    @property
    def is_empty(self) -> bool:
        """True when the question names no item at all (a follow-up like "那要多久？")."""
        return not self.content


@dataclass(frozen=True)
class Weighed:
    """A text's match terms and their summed idf, computed once per question."""

    terms: frozenset[str]
    weight: float


@dataclass(frozen=True)
class Evidence:
    """Which words of the question each candidate matches: what tells close candidates apart."""

    words: frozenset[str]  # character and syllable pairs inside one word of the question
    matched: Mapping[str, frozenset[str]]  # guide id -> the question's characters and pairs it matches

    def outmatches(self, a: str, b: str) -> bool:
        """True when item a matches a word of the question that item b does not."""
        return bool((self.matched.get(a, frozenset()) - self.matched.get(b, frozenset())) & self.words)


_DEPT_SUFFIX = re.compile(r"^(示例市|示例县|[\u4e00-\u9fff]{1,3}(市|区|县))")


def department_forms(department: str) -> list[str]:
    """A department's name and the short forms people use (示例市生态环境局 → 生态环境局)."""
    name = normalize(department)
    forms = {name}
    short = _DEPT_SUFFIX.sub("", name)
    if len(short) >= 3:
        forms.add(short)
    return sorted(forms)


_EXCLUSION = re.compile(r"非([\u4e00-\u9fff]{2})")
_BOOK_TITLE = re.compile(r"《[^》]*》")


def excluded_words(name: str) -> list[str]:
    """What a name says its item is not for: 非公司企业法人 → 公司, 民办非企业单位 → 企业.

    A name that also covers the word (金属非金属矿山) excludes nothing; a law's title
    (按《公司法》改制) names the law, not whom the item is for.
    """
    name = normalize(name)
    outside_titles = _BOOK_TITLE.sub(" ", name)
    return [w for w in _EXCLUSION.findall(name) if w not in outside_titles.replace(f"非{w}", " ")]


_QUALIFIER = re.compile(r"[（(][^）)]*[）)]")


def core_name(name: str) -> str:
    """An item name without its parenthesised qualifiers: 企业投资项目备案（技术改造）（市级/县级） → 企业投资项目备案."""
    return _QUALIFIER.sub("", normalize(name)).strip()


def shadowed_by_guides(entries: Sequence[GuideEntry]) -> dict[str, str]:
    """Name-only catalogue entries that are a full guide's service under another catalogue's name.

    "就业登记" is the service of the full guide "用人单位就业登记"; instead of
    competing with it, the catalogue name becomes one more way to find the guide.
    Maps the name-only entry's id to the guide's id.
    """
    forms = [
        (form, entry.id)
        for entry in entries
        if entry.has_guide
        for form in {core_name(entry.name), *(core_name(a) for a in entry.aliases)}
        if len(form) >= 4
    ]
    shadowed: dict[str, str] = {}
    guide_of: dict[str, str | None] = {}  # by core name: a catalogue repeats its names
    for entry in entries:
        if entry.has_guide:
            continue
        core = core_name(entry.name)
        if len(core) < 4:
            continue
        if core not in guide_of:
            # the same service named more briefly (就业登记 ⊂ 用人单位就业登记); a longer catalogue name
            # around a guide's name is a variant service (…许可证变更, …注销) and stays separate
            matches = [(len(form), guide_id) for form, guide_id in forms if core in form]
            guide_of[core] = max(matches)[1] if matches else None
        guide_id = guide_of[core]
        if guide_id is not None:
            shadowed[entry.id] = guide_id
    return shadowed


def bm25_scores(index: bm25s.BM25, terms: Sequence[str]) -> np.ndarray:
    """Every document's BM25 score for the terms: ``index.get_scores`` in one ``np.bincount``.

    bm25s adds each term's postings with ``np.add.at``, one call per term; over a
    term every name contains (登记) that was most of a search's time.
    """
    scores = index.scores
    ids = [index.vocab_dict[t] for t in terms if t in index.vocab_dict]
    if not ids:
        return np.zeros(scores["num_docs"])
    indptr, positions = scores["indptr"], np.asarray(ids)
    postings = [slice(a, b) for a, b in zip(indptr[positions], indptr[positions + 1], strict=True)]
    docs = np.concatenate([scores["indices"][p] for p in postings])
    weights = np.concatenate([scores["data"][p] for p in postings])
    return np.bincount(docs, weights=weights, minlength=scores["num_docs"]).astype(np.float32).astype(float)


def own_tokenizer() -> jieba.Tokenizer:
    """A jieba tokenizer of the index's own, to add names to without touching the global one.

    It starts from a copy of the default dictionary, read once per process: reading
    it took about a second of every rebuild.
    """
    default = default_dictionary()
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ, tokenizer.total, tokenizer.initialized = dict(default.FREQ), default.total, True
    return tokenizer


def representative(members: Sequence[GuideEntry]) -> GuideEntry:
    """The entry that stands for a name's regional copies: a full guide, then the highest level, then the first."""
    rank = {level: n for n, level in enumerate(LEVELS)}
    return min(
        enumerate(members),
        key=lambda pair: (not pair[1].has_guide, rank.get(pair[1].level, len(LEVELS)), pair[0]),
    )[1]


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """The positions of the k highest scores, best first; ties in position order."""
    candidates = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
    return candidates[np.lexsort((candidates, -scores[candidates]))]


class GuideIndex:
    """An in-memory index over every item of the knowledge base; rebuilt when the knowledge base changes.

    Entries with the same normalised name (one service's regional copies) form one
    candidate, represented by ``representative``; every distinct surface form is one
    BM25 document mapped to the candidates that have it.
    """

    def __init__(
        self, entries: Sequence[GuideEntry], synonyms: SynonymTable, *, text_weight: float = TEXT_WEIGHT
    ) -> None:
        self.synonyms = synonyms
        self._text_weight = text_weight
        self.entries: dict[str, GuideEntry] = {}
        groups: dict[str, list[GuideEntry]] = {}
        for entry in entries:
            if entry.id not in self.entries:
                self.entries[entry.id] = entry
                groups.setdefault(normalize(entry.name), []).append(entry)
        self._groups = {name: tuple(members) for name, members in groups.items()}
        representatives = [representative(members) for members in self._groups.values()]
        self.shadowed = shadowed_by_guides(representatives)
        extra_forms: dict[str, set[str]] = {}
        for name_only, guide_id in self.shadowed.items():
            extra_forms.setdefault(guide_id, set()).add(core_name(self.entries[name_only].name))
        self._candidates = [e for e in representatives if e.id not in self.shadowed]
        self._position = {e.id: i for i, e in enumerate(self._candidates)}
        # every entry leads to its candidate: its name group's, or the guide that shadows it
        self._candidate_of: dict[str, int] = {}
        for members in self._groups.values():
            rep_id = representative(members).id
            target = self._position[self.shadowed.get(rep_id, rep_id)]
            for member in members:
                self._candidate_of[member.id] = target
        self._tokenizer = tokenizer = own_tokenizer()
        # jieba cuts each block of word characters on its own, so blocks are cached: names share
        # most of theirs (…（县级）, regional suffixes), and a question is cut up to three times
        cut_block = lru_cache(maxsize=65536)(
            lambda block: tuple(w for w in tokenizer.lcut(block) if w.strip())
        )
        self._cut = lru_cache(maxsize=1024)(
            lambda text: tuple(w for block in _JIEBA_BLOCK.split(text) if block for w in cut_block(block))
        )
        forms_by_candidate: list[list[str]] = []
        for rep in self._candidates:
            members = self._groups[normalize(rep.name)]
            forms = sorted(
                {
                    normalize(rep.name),
                    *(normalize(a) for m in members for a in m.aliases),
                    *extra_forms.get(rep.id, ()),
                }
                - {""}
            )
            forms_by_candidate.append(forms)
        self._forms: list[str] = sorted({form for forms in forms_by_candidate for form in forms})
        for form in self._forms:
            if len(form) >= 2:
                self._tokenizer.add_word(form, freq=USER_WORD_FREQ)
        self._doc_of = {form: doc for doc, form in enumerate(self._forms)}
        self._candidate_docs = [[self._doc_of[form] for form in forms] for forms in forms_by_candidate]
        self._doc_candidates: list[list[int]] = [[] for _ in self._forms]
        for i, docs in enumerate(self._candidate_docs):
            for doc in docs:
                self._doc_candidates[doc].append(i)
        # (document, candidate) pairs grouped by candidate: a candidate scores its best form
        self._pair_docs = np.array([doc for docs in self._candidate_docs for doc in docs], dtype=np.int64)
        sizes = np.array([len(docs) for docs in self._candidate_docs], dtype=np.int64)
        self._pair_starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        corpus = [self._terms(form) for form in self._forms]
        self._doc_terms = [set(terms) for terms in corpus]
        self._doc_char_terms = [
            frozenset(t for t in terms if not t.startswith("w:")) for terms in self._doc_terms
        ]
        self._priors = np.array([GUIDE_PRIOR if e.has_guide else 1.0 for e in self._candidates])
        self._bundles = [
            (
                self._position[e.id],
                {self._candidate_of[b] for b in e.bundled_items if b in self._candidate_of},
                len(e.bundled_items),
            )
            for e in self._candidates
            if e.bundled_items
        ]
        self._bm25 = bm25s.BM25(k1=1.2, b=BM25_B)
        if corpus:
            self._bm25.index(corpus, show_progress=False)
        document_frequency = Counter(term for terms in self._doc_terms for term in terms)
        n_docs = max(len(corpus), 1)
        self._idf = {
            t: math.log(1 + (n_docs - df + 0.5) / (df + 0.5)) for t, df in document_frequency.items()
        }
        self._unknown_idf = math.log(1 + (n_docs + 0.5) / 0.5)
        self._doc_weights = [sum(self._idf[t] for t in terms) for terms in self._doc_char_terms]
        by_department: dict[str, set[int]] = {}
        for members in self._groups.values():
            for member in members:
                if member.department:
                    by_department.setdefault(member.department, set()).add(self._candidate_of[member.id])
        self._department_candidates = {
            d: np.array(sorted(c), dtype=np.int64) for d, c in by_department.items()
        }
        self._matcher = build_matcher(
            [(form, [form]) for form in self._forms],
            [(d, department_forms(d)) for d in sorted(by_department)],
        )
        self._build_text_index()
        # 非公司企业法人变更登记 is for what is not a company: the words a name excludes, per candidate
        self._excluded_words = [
            (i, sorted({w for form in forms for w in excluded_words(form)}))
            for i, forms in enumerate(forms_by_candidate)
            if any(excluded_words(form) for form in forms)
        ]

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, guide_id: str) -> GuideEntry | None:
        """The entry with this id, whether or not it represents its name in search results."""
        return self.entries.get(guide_id)

    def variants(self, guide_id: str) -> list[GuideEntry]:
        """Every entry with the same normalised name as this one (its regional copies, itself included).

        In the order the entries were given to the index; empty for an unknown id. A
        name-only entry a guide shadows (就业登记 for 用人单位就业登记) has another
        name, so it is not among the guide's variants.
        """
        entry = self.entries.get(guide_id)
        return list(self._groups[normalize(entry.name)]) if entry is not None else []

    def _words(self, text: str) -> tuple[str, ...]:
        return self._cut(text)

    def _terms(self, text: str) -> list[str]:
        return match_terms(text) + [f"w:{w}" for w in self._words(text) if len(w) > 1]

    @staticmethod
    def _is_stop(word: str) -> bool:
        return (
            word in STOP_WORDS or all(ch in STOP_CHARS for ch in word) or not any(ch.isalnum() for ch in word)
        )

    def content_of(self, question: str) -> str:
        """The part of a normalised question that can name an item."""
        text = strip_aspect_words(question)
        kept: list[str] = []
        for word in self._words(text):
            if self._is_stop(word):
                kept.append(" ")
            else:
                kept.append(word)
        return re.sub(r"\s+", " ", "".join(kept)).strip()

    def _mentioned(self, mentions: Iterable[Mention]) -> list[tuple[int, Mention]]:
        """The candidates of each item mention (a form several names share names them all)."""
        return [
            (i, m) for m in mentions if m.label == ITEM for i in self._doc_candidates[self._doc_of[m.key]]
        ]

    def search(self, question: str, top_k: int = 5) -> SearchResult:
        """Rank items for a question; the question may be raw user text."""
        text = normalize(question)
        content = self.content_of(text)
        # colloquial phrases often contain stop words (不想干了), so they are matched on the whole question
        official = self.synonyms.official_words(strip_aspect_words(text))
        if official and not content:
            content = " ".join(official)
        if not content or not self._candidates:
            return SearchResult(hits=[], confidence=0.0, margin=0.0, content=content)
        expanded = " ".join([content, *official])
        query_terms = sorted(set(self._terms(expanded)))
        doc_scores = bm25_scores(self._bm25, query_terms)
        item_scores = np.maximum.reduceat(doc_scores[self._pair_docs], self._pair_starts)
        item_scores *= self._priors
        mentions = find_mentions(self._matcher, content)  # what the user named, not what synonyms added
        named_items = self._mentioned(mentions)
        mentioned_positions = {i for i, _ in named_items}
        if named_items and item_scores.max() > 0:
            bonus = item_scores.max()
            longest = max(len(m.text) for _, m in named_items)
            for i, m in named_items:
                # the longest mention decides between several: 出口退税备案 over the alias 进出口权
                item_scores[i] += MENTION_WEIGHT * bonus * len(m.text) / longest
        named = {i for i, _ in self._mentioned(find_mentions(self._matcher, expanded))}
        self._boost_bundles(item_scores, named)
        for i, words in self._excluded_words:
            if any(w in text and f"非{w}" not in text for w in words):
                item_scores[i] *= EXCLUDED  # "公司法人变了" is not about 非公司企业法人
        departments = {
            m.key for m in mentions if m.label == DEPARTMENT and m.key in self._department_candidates
        }
        if departments:
            item_scores[np.unique(np.concatenate([self._department_candidates[d] for d in departments]))] *= (
                DEPARTMENT_PRIOR
            )
        asked = self._weighed(frozenset(match_terms(content)))
        added = self._weighed(
            frozenset(match_terms(expanded[len(content) :])) if expanded != content else frozenset()
        )
        query = _Query(content, asked, added, mentioned_positions)
        names_only = item_scores.copy()
        result = self._rank(query, item_scores, doc_scores, top_k, {})
        if self._text_bm25 is None or decided_by_names(result):
            return result
        # no name decides: the guides' own words may (a long question, an answer's text)
        text_scores, text_confidence = self._text_scores(names_only, text)
        return (
            self._rank(query, names_only, doc_scores, top_k, text_confidence, text_scores)
            if text_confidence
            else result
        )

    def _rank(
        self,
        query: _Query,
        item_scores: np.ndarray,
        doc_scores: np.ndarray,
        top_k: int,
        text_confidence: Mapping[int, float],
        text_scores: np.ndarray | None = None,
    ) -> SearchResult:
        """The hits in order, each with its confidence, the margin and the alternatives.

        ``text_scores`` (what the guides' own words add) join the names' scores after the
        names are re-ranked by how much of them the question covers: that re-ranking is
        about names, and would scramble candidates the text found.
        """
        top = _top(item_scores if text_scores is None else item_scores + text_scores, top_k * 4)
        best_doc = {int(i): max(self._candidate_docs[i], key=doc_scores.__getitem__) for i in top}
        order = self._rerank(top, item_scores, best_doc, query.asked)
        if text_scores is not None:
            item_scores += text_scores
            order = np.array(sorted(order, key=lambda i: -item_scores[i]), dtype=int)
        evidence = self._evidence(
            query.content, query.asked.terms, [int(i) for i in order if item_scores[i] > 0]
        )
        if text_scores is None:
            order = self._contrast(order, item_scores, evidence)
        hits = [
            self._hit(
                i,
                float(item_scores[i]),
                max(
                    self._confidence(query.asked, query.added, best_doc[i], i in query.mentioned),
                    text_confidence.get(i, 0.0),
                ),
            )
            for i in map(int, order)
            if item_scores[i] > 0
        ]
        if not hits:
            return SearchResult(hits=[], confidence=0.0, margin=0.0, content=query.content)
        mentioned = [self._candidates[i].id for i in sorted(query.mentioned)]
        hits, alternatives = _prefer_guides(hits, mentioned, evidence)
        return SearchResult(
            hits=_dedupe_names(hits)[:top_k],
            confidence=round(hits[0].confidence, 4),
            margin=round(_margin(hits, evidence), 4),
            content=query.content,
            mentioned=mentioned,
            alternatives=_dedupe_names(alternatives),
        )

    def _build_text_index(self) -> None:
        """A second, separate BM25 over the guide text of the candidates that have one."""
        texts = [(i, normalize(e.text, None)) for i, e in enumerate(self._candidates) if e.text.strip()]
        self._text_candidates = np.array([i for i, _ in texts], dtype=np.int64)
        self._text_bm25: bm25s.BM25 | None = None
        self._text_idf: dict[str, float] = {}
        self._text_terms_of: dict[int, frozenset[str]] = {}
        if not texts or self._text_weight <= 0:
            return
        corpus = [self._text_terms(text) for _, text in texts]
        self._text_bm25 = bm25s.BM25(k1=1.2, b=0.75)
        self._text_bm25.index(corpus, show_progress=False)
        frequency = Counter(t for terms in corpus for t in set(terms))
        self._text_idf = {
            t: math.log(1 + (len(corpus) - df + 0.5) / (df + 0.5)) for t, df in frequency.items()
        }
        self._text_terms_of = {i: frozenset(terms) for (i, _), terms in zip(texts, corpus, strict=True)}

    def _text_terms(self, text: str) -> list[str]:
        """Characters, character pairs and jieba words: plain char-1+2-gram BM25, which a long text needs."""
        return char_terms(text) + [f"w:{w}" for w in self._words(text) if len(w) > 1 and not self._is_stop(w)]

    def _text_scores(self, item_scores: np.ndarray, question: str) -> tuple[np.ndarray, dict[int, float]]:
        """What the guides' own words add to each candidate, and the confidence they give.

        A text adds ``TEXT_WEIGHT`` times the best name score, times its BM25 score
        relative to the best text's, times the idf-weighted share of the question it
        contains: a text that explains a question outranks names that only brush it,
        and words every guide's text has (找谁审批) raise none of them much. The
        confidence is that share, down-weighted: text alone is never as sure as a name.
        """
        assert self._text_bm25 is not None
        added = np.zeros_like(item_scores)
        terms = sorted(set(self._text_terms(question)))
        if not terms:
            return added, {}
        scores = bm25_scores(self._text_bm25, terms)
        best = scores.max()
        if best <= 0:
            return added, {}
        unknown = math.log(1 + (len(self._text_candidates) + 0.5) / 0.5)
        total = sum(self._text_idf.get(t, unknown) for t in terms)
        scale = self._text_weight * (item_scores.max() if item_scores.max() > 0 else 1.0)
        confidence: dict[int, float] = {}
        for i in _top(scores, TEXT_CANDIDATES):
            if scores[i] > 0:
                candidate = int(self._text_candidates[i])
                shared = self._text_terms_of[candidate].intersection(terms)
                if all(len(t) == 1 for t in shared):
                    continue  # single characters in common (天气 and 废气) are no evidence
                share = sum(self._text_idf[t] for t in shared) / total
                confidence[candidate] = TEXT_CONFIDENCE * share
                # both: ranked high by BM25 and containing most of the question
                added[candidate] = scale * scores[i] / best * share
        return added, confidence

    def _hit(self, i: int, score: float, confidence: float) -> Hit:
        entry = self._candidates[i]
        return Hit(entry.id, entry.name, score, entry.has_guide, confidence, entry.level, entry.region)

    def _confidence(self, asked: Weighed, added: Weighed, doc: int, mentioned: bool) -> float:
        """How much of the question an item explains: the user's words, or the guide words synonyms added."""
        confidence = max(self._coverage(asked, doc), self._coverage(added, doc))
        return max(confidence, 0.9) if mentioned else confidence

    def _rerank(
        self, order: np.ndarray, item_scores: np.ndarray, best_doc: Mapping[int, int], asked: Weighed
    ) -> np.ndarray:
        """Prefer candidates whose name the question covers: 药品零售许可 → the guide, not its 变更 variant.

        BM25 ignores the words of a candidate the question does not contain; a
        variant's qualifier (变更, 注销, 延续) is such a word.
        """
        for i in order:
            if item_scores[i] > 0:
                item_scores[i] *= RERANK_FLOOR + (1 - RERANK_FLOOR) * self._coverage(asked, best_doc[int(i)])
        return np.array(sorted(order, key=lambda i: -item_scores[i]), dtype=int)

    def _evidence(self, content: str, asked: frozenset[str], candidates: Sequence[int]) -> Evidence:
        """The question's characters and in-word pairs that each candidate's names and aliases contain."""
        # pairs inside one word only: 低压用电 gives 低压 and 用电, not the 压用 between them
        words = frozenset(
            t for w in self._words(content) if len(w) > 1 for t in match_terms(w) if _is_pair(t)
        )
        question = {t for t in asked if not _is_pair(t)} | words
        return Evidence(
            words,
            {
                self._candidates[i].id: frozenset(
                    t for doc in self._candidate_docs[i] for t in question & self._doc_char_terms[doc]
                )
                for i in candidates
            },
        )

    def _contrast(self, order: np.ndarray, item_scores: np.ndarray, evidence: Evidence) -> np.ndarray:
        """Close candidates are told apart by the words only one of them has: 低压 decides 低压 or 高压用电报装.

        When everything a candidate shares with the question is also shared by a
        close rival, and the rival also matches a word of the question the candidate
        does not, the question gives no reason for the candidate and one against it.
        Only the user's own words count here: synonyms expand to whole item names
        and would blur the contrast.
        """
        top = [int(i) for i in order if item_scores[i] > 0]
        ids = {i: self._candidates[i].id for i in top}
        outworded = [
            i
            for i in top
            if evidence.matched[ids[i]]
            and any(
                j != i
                and item_scores[j] >= CONTRAST_RANGE * item_scores[i]
                and evidence.matched[ids[i]] < evidence.matched[ids[j]]
                and evidence.outmatches(ids[j], ids[i])
                for j in top
            )
        ]
        if not outworded:
            return order
        for i in outworded:
            item_scores[i] *= OUTWORDED
        return np.array(sorted(order, key=lambda i: -item_scores[i]), dtype=int)

    def _boost_bundles(self, item_scores: np.ndarray, named: set[int]) -> None:
        """A question naming several steps of a 一件事 scenario is about the scenario.

        "开公司能不能一次把执照、刻章、领发票都办完" names three items of 企业开办一件事
        (directly or through synonyms); the bundle then outranks each of them.
        """
        best = item_scores.max()
        if best <= 0 or len(named) < 2:
            return
        for i, bundled, size in self._bundles:
            covered = len(named & bundled)
            if covered >= 2:
                item_scores[i] = max(item_scores[i], best * (1 + covered / size))

    def _weighed(self, terms: frozenset[str]) -> Weighed:
        return Weighed(terms, sum(self._idf.get(t, self._unknown_idf) for t in terms))

    def _coverage(self, terms: Weighed, doc: int) -> float:
        """How well a text's terms and an item's surface form explain each other (idf-weighted F1).

        Question side: a long descriptive question still names its item; item side:
        a question naming half of an item's name is a weaker match than one naming all of it.
        The terms are characters, bigrams and pinyin pairs, never jieba words.
        """
        shared = terms.terms & self._doc_char_terms[doc]
        if not shared:
            return 0.0
        weight = sum(self._idf[t] for t in shared)
        query_share = weight / terms.weight
        doc_share = min(weight / self._doc_weights[doc], 1.0)
        return 2 * query_share * doc_share / (query_share + doc_share)


@dataclass(frozen=True)
class _Query:
    """What ranking needs of a question besides the scores."""

    content: str
    asked: Weighed  # the user's own words
    added: Weighed  # the guide words synonyms added
    mentioned: set[int]  # candidates named verbatim


def decided_by_names(result: SearchResult) -> bool:
    """True when the names settle a question (named verbatim, or explained well enough to act on)."""
    return bool(result.mentioned) or _names_decide(result) or _names_explain(result)


def _names_decide(result: SearchResult) -> bool:
    return any(result.confidence >= c and result.margin >= m for c, m in NAMES_DECIDE)


def _names_explain(result: SearchResult) -> bool:
    """Names explain the question, only several alike (营业执照): their guides' texts would not tell them apart."""
    return result.confidence >= NAMES_EXPLAIN


@lru_cache(maxsize=65536)
def _name_key(name: str) -> str:
    """A hit's name as its name group knows it; cached: the same names come back question after question."""
    return normalize(name)


def _is_pair(term: str) -> bool:
    """A character bigram or a pinyin syllable pair: word-sized evidence, unlike a single character."""
    return term.startswith("p:") or len(term) == 2


def _prefer_guides(
    hits: list[Hit], mentioned: Sequence[str], evidence: Evidence
) -> tuple[list[Hit], list[Hit]]:
    """A guide tied with name-only catalogue entries goes first; the entries it passed become alternatives.

    "员工参保登记" matches the catalogue's 职工参保登记 about as well as the guide
    单位社会保险参保登记; offering both makes the user pick, and picking the entry
    gets no materials, steps or fees. The guide answers; the entries stay on offer.
    An entry keeps its place when the user named it verbatim or it matches a word
    of the question the guide does not ("合伙企业…" is not 外商投资企业设立登记).
    """
    guide = next((h for h in hits if h.has_guide), None)
    if guide is None or guide.score < CONTENT_TIE * hits[0].score:
        return hits, []
    ahead = hits[: hits.index(guide)]
    if any(h.guide_id in mentioned or evidence.outmatches(h.guide_id, guide.guide_id) for h in ahead):
        return hits, []
    tied = [h for h in hits if not h.has_guide and h.score >= CONTENT_TIE * guide.score]
    return [guide, *(h for h in hits if h is not guide)], tied


def _margin(hits: list[Hit], evidence: Evidence) -> float:
    """How far the best item is ahead of the best item with a different name.

    When the best item has a guide, a name-only entry competes with it only if it
    matches a word of the question the guide does not: otherwise it explains
    nothing more and cannot answer at all.
    """
    best = hits[0]
    best_name = _name_key(best.name)
    for hit in hits[1:]:
        if _name_key(hit.name) == best_name:
            continue
        if hit.has_guide or not best.has_guide or evidence.outmatches(hit.guide_id, best.guide_id):
            return (best.score - hit.score) / best.score if best.score else 0.0
    return 1.0


def _dedupe_names(hits: Iterable[Hit]) -> list[Hit]:
    """Keep the best item of each name: the same service from two catalogues is one choice."""
    seen: set[str] = set()
    kept: list[Hit] = []
    for hit in hits:
        key = _name_key(hit.name)
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept
