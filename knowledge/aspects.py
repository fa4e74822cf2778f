"""Which part of a guide a question asks for (材料, 时限, 收费 …).

The Rasa model classifies the aspect as an intent from the question's words; the
form of the question read here ("要不要…", "交到哪", "能不能…") and a keyword table
decide before or against it (``knowledge.answering.resolve_aspect``). The table's
first part is also stripped from a question before the item is looked up, so that
"排污许可证要什么材料" searches for "排污许可证" only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

from knowledge.sound_alikes import SoundAlikes


class Aspect(str, Enum):
    overview = "overview"
    materials = "materials"
    process = "process"
    time_limit = "time_limit"
    fee = "fee"
    location = "location"
    contact = "contact"
    online = "online"
    conditions = "conditions"

    @property
    def label(self) -> str:
        return ASPECT_LABELS[self]


ASPECT_LABELS = {
    Aspect.overview: "办事指南",
    Aspect.materials: "申请材料",
    Aspect.process: "办理流程",
    Aspect.time_limit: "办理时限",
    Aspect.fee: "收费标准",
    Aspect.location: "办理地点",
    Aspect.contact: "咨询电话",
    Aspect.online: "网上办理",
    Aspect.conditions: "受理条件",
}

# intent name in the Rasa domain -> aspect
INTENT_ASPECTS = {f"ask_{aspect.value}": aspect for aspect in Aspect}

# "X怎么办": the user names a matter and asks how to get it done, i.e. for the steps
HOW_TO_DO = (
    "怎么申请",
    "如何申请",
    "咋申请",
    "怎么办理",
    "如何办理",
    "怎样办理",
    "怎么办",
    "咋办",
    "怎么弄",
    "咋弄",
    "怎么搞",
    "怎么整",
    "咋整",
    "怎么个办法",
    "咋办下来",
    "怎么报",
    "如何报",
)
_HOW_TO_DO = re.compile("|".join(map(re.escape, HOW_TO_DO)))

# keyword patterns per aspect, most specific first; matched on normalised (Simplified, lower-case) text.
# The longest match wins (unless another aspect's keyword overlapping it ends later: see keyword_match), so "办什么手续" (overview: which licences) beats "手续" (process) and
# "怎么申请" (process: the steps) beats nothing in "要办什么证".
_KEYWORDS: dict[Aspect, tuple[str, ...]] = {
    Aspect.overview: (
        "办什么证",
        "办啥证",
        "要办什么",
        "要办啥",
        "办什么手续",
        "办啥手续",
        "什么手续",
        "啥手续",
        "哪些手续",
    ),
    Aspect.materials: (
        "申请材料",
        "需要什么材料",
        "要什么材料",
        "什么材料",
        "哪些材料",
        "材料清单",
        "材料",
        "资料",
        "证件",
        "带什么",
        "带啥",
        "准备什么",
        "准备啥",
        "准备哪些",
        "提交什么",
        "要交什么",
        "要提供什么",
        "需要提供",
        "要带",
        "附件",
        "复印件",
        "原件",
    ),
    Aspect.time_limit: (
        "多长时间",
        "多久",
        "几天",
        "多少天",
        "几个工作日",
        "时限",
        "时间多长",
        "什么时候能",
        "啥时候",
        "多快",
        "要等",
        "等多长",
        "周期",
        "几个月",
        "当天能",
        "立等可取",
        "多少时间",
        "期限",
    ),
    Aspect.fee: (
        "收费",
        "多少钱",
        "费用",
        "要钱",
        "花钱",
        "交钱",
        "付费",
        "免费",
        "价格",
        "收不收费",
        "要不要钱",
        "几块钱",
        "成本",
        "工本费",
    ),
    Aspect.location: (
        "在哪里",
        "在哪儿",
        "在哪",
        "哪里办",
        "去哪",
        "到哪",
        "地址",
        "地点",
        "哪个窗口",
        "窗口",
        "大厅",
        "办事处",
        "营业厅",
        "几楼",
        "哪个部门办",
        "哪办",
        # where the papers go: outweighs the 材料 in "材料交到哪个部门"
        "交到哪",
        "送到哪",
        "递到哪",
        "交去哪",
        "去哪交",
        "去哪里交",
        "哪里交",
    ),
    Aspect.contact: (
        "电话",
        "联系方式",
        "热线",
        "怎么联系",
        "找谁",
        "咨询谁",
        "问谁",
        "联系人",
        "号码",
        "座机",
    ),
    Aspect.online: (
        "网上办",
        "网上申请",
        "网上",
        "线上",
        "在线",
        "网办",
        "全程网办",
        "小程序",
        "手机上",
        "手机办",
        "掌上",
        "不用跑",
        "不跑",
        "app",
        "网站",
        "一网通办",
        "电子化",
        "远程",
    ),
    Aspect.conditions: (
        "受理条件",
        "申请条件",
        "什么条件",
        "条件",
        "要求",
        "资格",
        "谁可以",
        "谁能",
        "能不能申请",
        "可以申请吗",
        "符合",
        "门槛",
        "够不够",
        "有没有资格",
    ),
    Aspect.process: (
        "办理流程",
        "流程",
        "步骤",
        "程序",
        "环节",
        *HOW_TO_DO,
        "怎么操作",
        "先干啥",
        "先做什么",
        "第一步",
        "手续",
        "怎么走",
        "顺序",
    ),
}

# Keywords that tell the aspect but are not stripped before the item is looked up: some are words of
# item names (社保缴费申报, 电子税务局), and the search was tuned without them.
_ASPECT_ONLY: dict[Aspect, tuple[str, ...]] = {
    Aspect.overview: (
        *("办哪些", "先办什么", "先办啥", "该办什么", "该办啥", "办个什么", "办个啥", "办些啥", "办些什么"),
        # "还差啥证才能动工": which licences (啥证件 is the materials: 证件 ends later)
        *("什么证", "啥证"),
        # "要去办个什么登记": which procedure at all, as 办什么证 (走什么审批 is the steps)
        *("什么登记", "啥登记", "什么许可", "啥许可", "什么审批", "啥审批", "什么备案"),
    ),
    # "要交什么费用": the fee; 交费/缴费 only as a question, since 缴费 is in item names
    Aspect.fee: (
        "要交费",
        "要缴费",
        "交费吗",
        "缴费吗",
        "手续费",
        "服务费",
        "年费",
        "押金",
        "什么费",
        "啥费",
    ),
    Aspect.time_limit: ("最晚", "截止", "几号前", "几号交", "当场"),
    # "啥情况下需要先办前置审批": when the rule applies
    Aspect.conditions: ("什么情况下", "啥情况下", "哪些情况", "哪种情况", "什么情形"),
    Aspect.location: ("哪个部门", "哪个单位"),
    Aspect.contact: ("部门的电话", "哪个部门咨询", "哪个部门问"),
    # the NLU data's convention: a platform, system or website is asked for online
    Aspect.online: (
        "哪个平台",
        "什么平台",
        "哪个系统",
        "什么系统",
        "哪个网站",
        "什么网站",
        "哪个入口",
        "哪个小程序",
        "电子税务局",
        "单一窗口",
        "微信上申",
        "微信上办",
        "微信上能",
    ),
    Aspect.process: ("哪几步", "几个步骤", "走什么手续", "走啥手续", "走什么审批", "走啥审批", "走什么流程"),
}


@dataclass(frozen=True)
class KeywordMatch:
    """One aspect keyword found in a question, and where it starts."""

    aspect: Aspect
    word: str
    start: int
    order: int  # the aspect's place in the table: an earlier aspect wins a tie

    @property
    def end(self) -> int:
        return self.start + len(self.word)

    def overlaps(self, other: KeywordMatch) -> bool:
        return self.start < other.end and other.start < self.end

    def headed_by(self, other: KeywordMatch) -> bool:
        """True when an overlapping keyword of another aspect ends later (or as late, being longer):
        the head of the phrase, since a Chinese phrase ends in what it is about."""
        return (
            other.aspect is not self.aspect
            and self.overlaps(other)
            and (other.end, len(other.word)) > (self.end, len(self.word))
        )


_EVERY_KEYWORD = tuple(
    (order, aspect, word)
    for order, aspect in enumerate(_KEYWORDS)  # the table's order breaks ties
    for word in (*_KEYWORDS[aspect], *_ASPECT_ONLY.get(aspect, ()))
)


@lru_cache(maxsize=64)
def keyword_matches(text: str) -> tuple[KeywordMatch, ...]:
    """Every keyword of every aspect in normalised text (its first occurrence); cached, since one
    question is read several ways. 什么 in 为什么 asks why, not what: "为什么系统一直提示…" names no system."""
    found = []
    for order, aspect, word in _EVERY_KEYWORD:
        start = text.find(word)
        while start > 0 and word.startswith("什么") and text[start - 1] == "为":
            start = text.find(word, start + 1)
        if start >= 0:
            found.append(KeywordMatch(aspect, word, start, order))
    return tuple(found)


def keyword_match(text: str) -> KeywordMatch | None:
    """The keyword that names the aspect most specifically in normalised text, or None.

    The longest keyword wins; but a keyword of another aspect that overlaps it and ends later
    is the head of the phrase ("要交什么费用": 什么费 after 要交什么 asks for the fee).
    """
    found = keyword_matches(text)
    if not found:
        return None
    best = max(found, key=lambda match: (len(match.word), -match.order))
    heads = [match for match in found if best.headed_by(match)]
    return max(heads, key=lambda match: (match.end, len(match.word))) if heads else best


def detect_aspect(text: str) -> Aspect | None:
    """The aspect named most specifically in normalised text (see ``keyword_match``), or None if none is named.

    Every keyword is looked for on its own: a regex alternation would stop at the first that fits
    ("去哪" in "去哪个窗口递材料") and hide the longer one ("哪个窗口") that outweighs 材料.
    """
    match = keyword_match(text)
    return match.aspect if match else None


def named_aspects(text: str) -> set[Aspect]:
    """Every aspect some keyword of which occurs in normalised text."""
    return {match.aspect for match in keyword_matches(text)}


# the question words a keyword asks with; 怎么/咋/如何 (how) are left to the steps' own rule
_INTERROGATIVE = re.compile("哪|什么|啥|多少|多久|多长|几|谁")
# where a question word tells instead of asking: 好几天了, 才开了几个月, 卡在哪一步, 谁可以帮我看看
_TELLING = re.compile(r"[好才这前十了过]几|几[^，,。？?！!;]{0,3}了|哪一步|谁(?:可以|能)帮")


# a question word just before a keyword that only names makes it ask: "需要啥材料", "有哪些要求"
_ASKS_FOR = re.compile(r"(?<!为)(?:什么|啥|哪些|哪几[样个份种项]?|哪种|多少|有没有)(?:样的?|些|个|的)?$")


def _asks(text: str, match: KeywordMatch) -> bool:
    """True when the keyword holds a question word that asks here, or follows one."""
    before = text[max(0, match.start - 4) : match.start]
    if not _INTERROGATIVE.search(match.word) and not _ASKS_FOR.search(before):
        return False
    return not any(told.start() < match.end and match.start < told.end() for told in _TELLING.finditer(text))


def asked_aspects(text: str) -> set[Aspect]:
    """Every aspect named by a keyword that itself asks (交到哪, 多少钱, 找谁), not merely names (材料).

    Of overlapping keywords of two aspects only the head counts: 在哪 in 在哪个平台 asks for
    the platform, 要交什么 in 要交什么费用 for the fee.
    """
    found = keyword_matches(text)
    return {
        match.aspect
        for match in found
        if _asks(text, match) and not any(match.headed_by(other) for other in found)
    }


# "去那里办", "交到那": 那 typed for 哪 (same pinyin), only where the clause then ends as a question
# ("仓库在那里放了两个罐" tells where); 甚么 (Traditional 甚麼) is 什么
_WHERE_TYPO = re.compile(
    r"(?<=[去在到交送找])那(?=(?:里|儿|个(?:部门|窗口|单位|平台|网站|地方|大厅))?"
    r"(?:办|交|申请|批|审|报|弄|提交|填|领|问|咨询|办理)?[吗呢啊呀?？]*(?:[，,。？?！!;；~…\s]|$))"
)


# 才料, 收废, 网上申清: a keyword typed with one character of the same sound (哪 and 那 have their own rule)
_SOUND_ALIKES = SoundAlikes(word for _order, _aspect, word in _EVERY_KEYWORD if not re.search("[哪那]", word))


@lru_cache(maxsize=64)
def mend_question_words(text: str) -> str:
    """Normalised text with its question words and keywords read as meant ("高新认证的材料交到那",
    "要拿甚么", "要啥才料"); cached, since a question is read several ways."""
    return _SOUND_ALIKES.mend(_WHERE_TYPO.sub("哪", text.replace("甚么", "什么")))


_SENTENCE_END = re.compile(r"(?<=[。！？!?])")
_ASKS = re.compile(r"[？?吗呢]")
_QUESTION_WORD = re.compile(r"(?<!为)什么|啥|哪|多少|多久|多长|几[天个号月年]|谁|怎么|咋|如何")


_CLAUSE_END = re.compile(r"[，,;；:：]")


def last_clause(text: str) -> str:
    """The last clause of normalised text (after its last comma or semicolon): where a question ends."""
    clauses = [clause for clause in _CLAUSE_END.split(text) if clause.strip()]
    return clauses[-1] if clauses else text


def question_sentence(text: str) -> str | None:
    """The sentence a message of several sentences asks in (the last one that asks); None for one sentence.

    "去年我们没裁员，社保也一直按时交。听说能退一部分失业保险，要准备啥材料？":
    the first sentence tells the story, the last asks for the materials.
    """
    sentences = [part for part in _SENTENCE_END.split(text) if part.strip()]
    if len(sentences) < 2:
        return None
    asking = [part for part in sentences if _ASKS.search(part)]
    if _QUESTION_WORD.search(sentences[-1]):  # "…还要单独审一下能耗？这个要交啥材料": the last asks, unmarked
        return sentences[-1]
    return (asking or sentences)[-1]


# "能不能…", "还能…吗", "能办…不": whether the enterprise may, the conditions (bot/data/nlu/guide.yml's
# convention); a bare 能 is too common, so only 能 before a verb of applying counts, and never in a word
# (节能, 功能, 技能, 可能) or after 不 ("不能直接登记" states a rule)
_MAY_WE = re.compile(
    r"能不能|能否|可不可以|是否可以|还能|(?<![不可功节智性技只才就])能(?:办|申请|领|报|贷|走|先|直接|自己|拿|用)"
    r"|(?<!不)可以(?:办|申请|先|直接|自己)"
)


# the ways in that are not a desk: "手机能办吗" asks about the channel, "网上能办吗" whether it is open there
_CHANNELS = ("网上", "线上", "手机", "微信", "小程序", "app")

# "哪里能办", "手机能办吗", "周末能办吗": a place, channel or time asked about, not whether we may
_NOT_WHETHER_WE_MAY = (
    *_CHANNELS,
    *("哪里", "哪儿", "支付宝", "窗口", "现场"),
    *("周末", "异地", "当天", "当场", "今天", "明天", "几天", "多久"),
)


# "能不能一次都办了", "是不是可以一起验": whether the service bundles them, not whether we may
_TOGETHER = re.compile(r"^[^，,。？?！!;]{0,6}?(?:一次|一起|一块|同时|合并|一并)")


def asks_whether_allowed(text: str) -> bool:
    """True for a yes-no question whether the enterprise may do something ("超市离学校近，还能申请卖烟吗")."""
    return any(
        not text[: found.start()].endswith(_NOT_WHETHER_WE_MAY) and not _TOGETHER.search(text[found.end() :])
        for found in _MAY_WE.finditer(text)
    )


_APPLYING = "(?:办|批|备个?案|报备|申请|审批|登记|报|送审|证(?![明件书])|许可|手续)"
_YES_NO_END = r"(?:吗|嘛|(?<![什甚怎这那多])么|不|没)[啊呀呢吧]?(?=[，,。？?！!;；~…、\s]|$)"
# never after 也/都: "个体户也要报吗" asks whether the rule reaches us, the conditions
_NEEDED = re.compile(
    rf"(?<![也都])(?:要不要|需不需要|需要不需要|是否需要|用不用)(?:(?!本人|亲自|现场|到场)[^，,。？?！!;]){{0,8}}"
    rf"{_APPLYING}"
    rf"|是不是(?:得|要|还要|就要|必须)[^，,。？?！!;]{{0,4}}{_APPLYING}"
    rf"|(?<![也都])(?<![也都]需)(?:必须|需要|要|得)(?:先|去|再|单独|另外|专门)?(?:[去到](?:(?!现场|窗口|大厅|本人|哪)[^，,。？?！!;]){{0,5}}?)?{_APPLYING}"
    rf"[^，,。？?！!;]{{0,12}}{_YES_NO_END}"
)


# "辦這個資質要花錢嗎", "要交开户费吗": whether the procedure costs money, in the clause that ends the
# question; not a bill the business pays anyway (社保费, 电费, 税费) nor 研发费用
_PAID = re.compile(
    r"(?:要|需要|得|收|交|花|付)[^，,。？?！!;]{0,4}"
    r"(?:钱|(?<!研发)(?<!社保)(?<!保险)(?<![电水气税缴])(?<!物业)费(?!用于))"
    r"[^，,。？?！!;]{0,3}" + _YES_NO_END
)


# "可以全程网上办理吗", "能在微信上直接申请吗", "手机上能弄不": whether it can be done by a channel
_BY_CHANNEL = re.compile(
    "(?:" + "|".join((*_CHANNELS, "掌上", "不用跑", "不跑")) + ")[^，,。？?！!;]{0,8}?" + _YES_NO_END
)


def asks_whether_online(text: str) -> bool:
    """True for a yes-no question whether the matter can be done online (or without going in)."""
    return _BY_CHANNEL.search(text) is not None


def asks_whether_paid(text: str) -> bool:
    """True for a yes-no question whether something costs money."""
    return _PAID.search(text) is not None


# "垃圾也就十几车，也要去城管那边报批吗", "个体户也要报不": whether the rule reaches us, the conditions
_COVERED = re.compile(
    rf"[也都](?:要|需要|得|必须|用)[^，,。？?！!;]{{0,12}}?{_APPLYING}[^，,。？?！!;]{{0,10}}?{_YES_NO_END}"
)


def asks_whether_covered(text: str) -> bool:
    """True for a yes-no question whether the matter applies to us too ("个体户也要报吗")."""
    return _COVERED.search(text) is not None


def asks_whether_needed(text: str) -> bool:
    """True for a yes-no question whether the matter must be done at all ("食堂买了个锅炉，要不要去备个案")."""
    return _NEEDED.search(text) is not None


# "咋评啊", "怎么最快消掉", "怎么申情": 怎么/咋/如何 before a verb of doing, when no keyword names the aspect
_HOW_VERB = re.compile(
    r"(?:怎么|咋|如何|怎样)(?:才能|最快|样才能|去)?(?:申|办|报|评|弄|搞|整|消|移|撤|领|开通|做|填|交上|操作)"
)


def asks_how_by_verb(text: str) -> bool:
    """True for 怎么/咋/如何 + a verb of doing: the steps, by the NLU data's convention."""
    return _HOW_VERB.search(text) is not None


def asks_how_to_do(text: str) -> bool:
    """True for "X怎么办 / 怎么弄 / 怎么申请": a matter named and the steps asked for."""
    return _HOW_TO_DO.search(text) is not None


# one alternation, longest first: stripped aspect by aspect, a shorter keyword of an earlier aspect
# split a longer one of a later aspect ("要交什么手续费" lost 什么 to materials, then 手续 to the steps)
_STRIPPED = re.compile(
    "|".join(
        map(re.escape, sorted({w for words in _KEYWORDS.values() for w in words}, key=len, reverse=True))
    )
)


def strip_aspect_words(text: str) -> str:
    """Remove aspect keywords so the remaining words name the item."""
    return _STRIPPED.sub(" ", text)
