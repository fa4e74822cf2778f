"""Is this message a grievance about a stuck or failed matter, a guide question, or both?

A complaint has a structure more than a vocabulary: something was asked for
and is stuck ("交上去一个多月了还没批", "拖了半年"), has failed or been refused
("停电", "被拒", "不给结款"), keeps happening ("跑了三趟", "一个月来了五次"),
hurts the business ("损失", "工期拖不起", "发不出工资") or the writer asks for
help ("能不能帮忙问问", "没人管", "给个说法"). Any two of these five families
make a complaint whatever the matter is; so does one (other than a bare plea)
in a long statement that asks nothing, rhetorical questions ("这合理吗",
"到底找谁") aside. A guide question ("要什么材料", "怎么申请", "在哪里办") is
read separately, so a message can be both.

Pure functions over the text: the NLU component (``complaint_router``) and the
guide action (the offer to file an appeal after an answer) read the same signals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.text import normalize

_NUMBER = r"[0-9一二两三四五六七八九十百几半多好]"
_SPAN = rf"{_NUMBER}+\s*(?:多|来)?(?:个)?(?:多)?(?:天|日|周|星期|礼拜|个?月|年|季度|小时)(?:多)?"
_NEGATION = r"(?:没|未|不|没有|还没|还未|仍未|还不|都没|也没)"
# "这怎么等得起": harm to the business, and a rhetorical question that asks nothing
_CANNOT_HOLD_OUT = r"怎么(?:等|拖|耗|撑|扛|熬)得(?:起|了|下去)"

# the five families of a grievance; each pattern is a shape, not a topic
STUCK = re.compile(
    "|".join(
        (
            rf"{_SPAN}\s*(?:了|啦|过去了)?\s*[,，]?\s*(?:还是|还|仍|仍然|依然|都|也|一直)?\s*{_NEGATION}",
            rf"(?:交|报|递|提|申请|送|等|排队|审核|审)[^,，。]{{0,4}}{_SPAN}\s*了",
            rf"(?:已经|都|足足|整整|快)\s*{_SPAN}",
            # "一直没空去办" is the writer's own time, not a stuck matter
            r"(?:一直|迟迟|至今|始终|到现在|到今天|到目前|现在还|到现在还|迄今)\s*(?:都|也|还)?\s*(?:没|未|不|没有|无)(?!空|时间|顾上)",
            r"一直[^,，。]{0,6}(?:不|没)(?!空|时间|顾上)",
            rf"等了\s*{_SPAN}",
            r"拖了|拖着|拖延|一拖再拖|拖到现在|拖很久|拖那么久|卡了|卡着|卡在|压着|搁着|晾着",
            r"没下文|没动静|没消息|没回音|没回复|没结果|没进展|没人管|没人理|没人处理|没人来|没人回|没人接|没人修|无人处理",
            r"一等就是|再没|还在(?:走|等|审|排)|还显示|还是(?:待|在)|说快了|卡住|没排上|排不上|一点变化|没有变化|毫无进展",
            r"没(?:到位|出来|恢复|变化|进展|落实|下文|音讯)",
            r"一直占线|打不通|没人接|联系不上|找不到人",
            r"不归[^,，。]{0,4}管|都说不(?:管|归)|每次[^,，。]{0,6}都(?:说|是|让|要)",
            r"不理|推诿|推脱|推来推去|踢皮球|互相推|石沉大海|杳无音信|遥遥无期|等了好久|等了很久|等不到|还在等",
        )
    )
)
FAILED = re.compile(
    "|".join(
        (
            r"不给(?:批|办|过|贷|放款|付|钱|结|发|兑现|受理|验收|开票|通过|盖章)",
            r"不批|没批|批不下来|办不下来|办不了|办不成|过不了|通不过|没通过|不予|驳回|退回|被拒|拒绝|拒贷|不受理",
            r"贷不到|贷不下来|不放款|抽贷|断贷|压贷|停贷|不续贷",
            r"停电|断电|跳闸|限电|停水|断水|水压不够|停气|断气|供气不足|(?:水|电|气|网)[^,，。]{0,3}断了|(?:水|电|气)(?:给|被)?停了|把[^,，。]{0,8}(?:水|电|气)(?:给)?(?:停|断|掐|关)|停[了过]?[^,，。]{0,5}(?:电|水|气)(?!费)",
            r"(?:款|钱|工资)[^,，。]{0,8}(?:不结|没结|不给|没给|不付|没付|拖|不发|没发|不到账)",
            r"拖欠|欠(?:我们|了|着|下)?[^,，。!?！？]{0,8}(?:款|钱|工资|账|费)|不付|没付|不给钱|没给钱|(?:不|没)结(?:款|账|算|清)|结不了|要不回|收不回|讨不回",
            r"只(?:给|付|发|拨|退|结)了(?:一半|一部分|部分|几成|零头)",
            r"被冻结|冻结了|被扣(?:了|押|留)|没(?:收到|拿到|见到)(?:钱|款|一分|补贴|补助|退款|货款|工资)",
            r"(?:说好|答应|承诺|讲好)(?:的)?[^。!！?？]{0,20}[,，]\s*(?:现在|结果|可|却|反而|又)",  # a broken promise
            r"[,，]\s*可(?:是)?(?:我们|之前|当初|明明|这是|那是)|明明",  # "…，可我们…" against a decision
            r"(?:没有?|未|不)按(?:时|期|约定|合同)|态度(?:很|太|极其|特别|非常)?(?:差|恶劣|蛮横)|没(?:地方|法子)(?:停|住|放)",
            r"没到账|未到账|没发(?!票)|没兑现|未兑现|不兑现|不兑付|没落实|没拨|不拨|拨不下来|没下来|下不来",
            r"不退(?:押金|款|钱|费)|不给退|不合格|烧坏|坏了|限(?:水|电|气|量|产)|堵(?:了|门|住|死)|拿不出|不让|不准|罚款|罚了|被罚|要罚|罚我们|罚我|查封|扣押|关停|停产整改|责令|乱收费|乱罚|刁难|缺东西|缺材料|说缺",
        )
    )
)
REPEATED = re.compile(
    "|".join(
        (
            r"反复|重复|多次|屡次|三番五次|隔三差五|几次三番|一次又一次|又来|又要|又让|又说|又不|每次都|每回都|次次",
            rf"跑了\s*{_NUMBER}+\s*(?:趟|次|回)",
            rf"{_NUMBER}+\s*(?:趟|次|回|拨)\s*(?:了|都|也|还)",
            rf"[了过]\s*{_NUMBER}+\s*(?:次|回|拨|趟|轮)",
            r"说法不一|要求不一|标准不一|每次[^,，。]{0,10}不一样",
            r"催了|催过|问了好几|打了好几|找了好几|找过好几",
        )
    )
)
HARM = re.compile(
    "|".join(
        (
            r"受(?:到)?影响|影响很大|影响严重|流失|辞职|不干了|走了[0-9一二两三四五六七八九十几好]+个|报废|多花|白白|进不来|出不去|运不出|损失|亏损|亏了|赔钱|违约|影响(?:到)?(?:了)?(?:生产|经营|工期|交货|交付|订单|开工|发工资|正常)",
            r"不能(?:开|用|生产|营业|投产|交付)|没法(?:开|用|生产|营业|干)|停产|停工|停摆|开不了|用不了|干等|干不了活|生产线[^,，。]{0,4}停|机器[^,，。]{0,4}停",
            r"发不出|发不了|工资都|资金链|周转不|扛不住|撑不住|熬不住|倒闭|(?:要|得|快)关门|拖不起|等不起|耽误",
            rf"{_CANNOT_HOLD_OUT}|耗不起|耽误不起|受不了",
            r"扰民|噪音(?:太|很)|噪声(?:太|很)|刺鼻|臭味|恶臭|熏得|污染(?:严重|很)|偷排|乱排|很危险|安全隐患",
            r"产能|交不了|上不去|错过|闹|仓储费|每天[^,，。]{0,6}(?:费|钱|损失)|不知道(?:去哪|怎么办|该)|订单[^,，。]{0,6}(?:黄|丢|交不|没法)|工人[^,，。]{0,4}(?:闲着|没活|走了)|急死|着急",
        )
    )
)
HELP = re.compile(
    "|".join(
        (
            r"帮(?:忙|帮|我们|我|助|一下|着)(?!(?:解答|解释|告知|回答|查询|查一下|看看|说明|答复|咨询|问一下))|协调|给个说法|讨个说法|要个说法|给个准(?:信|话)|给个答复|给个交代|做主|求助|求求|救救",
            r"这合理吗|合理吗|凭什么|到底找谁|该找谁|投诉|反映|怎么办才好|该怎么办|咋办啊|怎么办啊|如何是好|有没有人管|谁来管|谁管|能不能管|管一管|管管",
            # asking for an action, not for information: "能否尽快处理", "请早日恢复供水"
            r"(?:能否|能不能|可否|可不可以|请(?!问)|尽快|尽早|赶紧|早日|及时|马上)[^,，。?？!！]{0,6}"
            r"(?:处理|解决|落实|恢复|安排|退还|退回|赔偿|整改|查处|维修|修复|修好|清理|清运|拨付|兑现|拆除|制止)",
            r"希望(?:政府|有关部门|相关部门|领导|能|尽快|早点)(?!(?:能)?(?:给予|给)?(?:解答|解释|告知|回答|答复|说明|明确))|请(?:政府|领导|有关部门|相关部门)|催一下|催促|督促|过问|帮忙问问",
        )
    )
)
FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("stuck", STUCK),
    ("failed", FAILED),
    ("repeated", REPEATED),
    ("harm", HARM),
    ("help", HELP),
)
COMPLAINT_FAMILIES = 2  # two kinds of grievance make a complaint; one is a question with context
CONSULTATION_FAMILIES = 3  # a consultation that pleads for no action is a complaint only with three

# a guide question: an aspect asked for (bare "怎么办" is a cry for help, "还要多久" impatience)
GUIDE_QUESTION = re.compile(
    "|".join(
        (
            r"(?:要|需要|得|准备|带|交|提交|提供)(?:些)?(?:什么|哪些|啥|哪几样)(?:材料|资料|手续|证件|文件|东西)",
            r"(?:材料|资料|手续)(?:有哪些|是什么|是啥|都有什么|清单)",
            r"(?:怎么|如何|咋)(?:办理|申请|申报|操作|报名|提交|填报)|办理流程|申请流程|(?:流程|步骤)(?:是|有|怎)",
            # "营业执照要怎么办" asks for steps; "我该怎么办" is a cry for help
            r"(?<![我俺们咱])(?:要|该|得|应该)(?:怎么|如何|咋)(?:弄|搞|整|办)(?!啊|呀|才好)",
            r"(?:在|去|到)(?:哪|哪里|哪儿|什么地方|哪个窗口|哪个部门)(?:办|申请|交|提交)|地址在哪|哪个窗口",
            r"(?:咨询|联系|办事)电话|电话(?:是)?多少",
            r"(?:网上|线上|手机上|小程序|微信上)(?:能|可以)(?:办|申请|提交)|(?:网上|线上|手机上)(?:办|申请|提交)(?:吗|么|不|行不)",
            r"(?:什么|哪些|啥)条件|需要满足|符合什么|有什么要求|能不能申请|可以申请吗|能申请吗",
            r"收费吗|收不收费|收费标准|怎么收费|要钱吗|多少钱|费用是多少|要交钱吗|要不要(?:交|收)?(?:钱|费)|(?:哪些|什么)费用",
            r"(?:法定|承诺)(?:办结)?时限|办理时限|(?:办|审批|批)(?:下来)?(?:一般)?(?:要|需要)多(?:久|长时间)",
            # the norm asked for, not impatience ("还要等多久"): 一般/正常/按规定 … 多久, 多久能批下来
            r"(?:一般|正常|通常|按规定|规定)[^,，。?？]{0,10}(?:多久|多长时间|多少天|多少个?工作日|几天)",
            r"多久(?:能|可以|才能)(?:批|办|下来|拿到|办好|办结)",
            r"(?:是|走)(?:个)?(?:啥|什么)流程|流程是(?:啥|什么|怎样)|怎么算|如何计算|怎么计算",
            r"准备(?:些)?(?:什么|哪些|啥)(?=[?？,，。]|$)",
            r"什么情况(?:下)?(?:必须|需要|要|得)",
            r"(?:去|到|在)[^,，。?？]{1,8}还是[^,，。?？]{1,8}办|(?:在|去|到)(?:啥子|啥)地方(?:办|申请)",
            r"(?:一定|必须)要办(?:吗|不|么)",
        )
    )
)
# a question of any kind; a clause with a rhetorical one ("这合理吗", "到底找谁") asks nothing
QUESTION = re.compile(
    r"[?？]|吗|什么|哪|怎么|怎样|如何|多久|多少|多长|几天|是否|能否|能不能|可不可以|要不要|需不需要|请问|想问|咨询|了解一下"
)
# asking for information ("请告知", "望解答") is a question even without a question mark
INFO_REQUEST = re.compile(r"告知|解答|答疑|解释一下|说明一下|答复一下|指导一下|指点一下|明确一下")
# the writer frames the message as a consultation: a real question in it is the point of the message
CONSULTATION = re.compile(
    r"请问|咨询|想问|想了解|想知道|了解一下|问一下|问问|是否|能否|可否|需不需要|要不要|可不可以|有没有"
)
RHETORICAL = re.compile(
    r"这合理吗|合理吗|凭什么|为什么|到底|有没有人|到底找谁|该找谁|找谁|谁来管|谁管|怎么回事|怎么办|咋办|等到什么时候|"
    rf"什么时候(?:能|才)|还要等多久|要等多久|{_CANNOT_HOLD_OUT}|怎么(?:受|活)得(?:起|了|下去)|能不能帮|能否帮|可不可以帮|可以帮|"
    r"能不能(?:协调|催|管|过问|解决|问问|给)|有没有人管|怎么(?:没|不|还)"
)
DECLARATIVE_MIN_CHARS = 15  # one kind of grievance in a long statement that asks nothing is a complaint

# the message is about a ticket already filed: a status question, not a new complaint
TICKET_REFERENCE = re.compile(
    r"工单|诉求|gd\s*\d|(?:上次|之前|上周|上个月|昨天|前天|刚才|前几天|以前)[^,，。]{0,4}(?:提|反映|投诉|报|说)"
    r"|(?:提|提交|反映|投诉)(?:过)?的[^,，。]{0,6}(?:问题|事|那个|诉求)"
)
MIN_COMPLAINT_CHARS = 8  # "停电了怎么办" is too short to be sure; the classifier decides those


@dataclass(frozen=True)
class Signals:
    """What the detector found: the grievance families, a guide question, a filed ticket named."""

    families: frozenset[str]
    asks_guide: bool
    names_ticket: bool
    length: int
    asks: bool = False  # a question of any kind, rhetorical ones aside
    consults: bool = False  # a real question framed as a consultation ("请问…", "想了解…", "是否…")

    @property
    def complaint(self) -> bool:
        """A grievance about a stuck or failed matter, long enough to judge."""
        if self.length < MIN_COMPLAINT_CHARS or not self.families:
            return False
        if self.consults and "help" not in self.families and len(self.families) < CONSULTATION_FAMILIES:
            # background to a question ("断了三个月，请问还能补缴吗") is not a grievance to file
            return False
        if len(self.families) >= COMPLAINT_FAMILIES:
            return True
        # a plea alone ("帮我写篇作文") is a request; a stuck, failed, repeated or harmful matter told
        # at length without a question is a complaint
        return not self.asks and self.length >= DECLARATIVE_MIN_CHARS and self.families != {"help"}

    @property
    def offers_appeal(self) -> bool:
        """Worth offering an appeal under the answer: a complaint, or a question that tells of a matter
        stuck, failed or repeated ("执照变更被退回了，要补什么材料？"), framed as a consultation or not
        ("请问这个证一般几天能办下来？" after "二十多天了还没人来核查"): an offer is one button, not a filing."""
        if self.complaint:
            return True
        return self.length >= DECLARATIVE_MIN_CHARS and bool(self.families & {"stuck", "failed", "repeated"})

    @property
    def mixed(self) -> bool:
        """A guide question and a complaint in one message: answer it, and offer an appeal."""
        return self.complaint and self.asks_guide


def asks_something(value: str) -> bool:
    """True when a clause of the (normalised) message asks a question that is not rhetorical."""
    clauses = re.findall(r"[^,，。.!！?？;；]+[,，。.!！?？;；]*", value)
    return any(
        (QUESTION.search(clause) or INFO_REQUEST.search(clause)) and not RHETORICAL.search(clause)
        for clause in clauses
    )


def read_signals(text: str) -> Signals:
    """The grievance families, guide question and ticket reference found in ``text``."""
    value = normalize(text or "").replace(" ", "")
    families = frozenset(name for name, pattern in FAMILIES if pattern.search(value))
    asks = asks_something(value)
    return Signals(
        families=families,
        asks_guide=bool(GUIDE_QUESTION.search(value)),
        names_ticket=bool(TICKET_REFERENCE.search(value)),
        length=len(re.sub(r"[\W_]+", "", value)),
        asks=asks,
        consults=asks and bool(CONSULTATION.search(value)),
    )


def offers_appeal(text: str) -> bool:
    """True when an answer to ``text`` should also offer to file an appeal (see ``Signals.offers_appeal``)."""
    return read_signals(text).offers_appeal


def is_complaint(text: str) -> bool:
    """True for a grievance that should start an appeal (a mixed message included)."""
    return read_signals(text).complaint


# -- which intent a message should carry ------------------------------------------------------

FILE_APPEAL = "file_appeal"
TICKET_STATUS = "ticket_status"
GUIDE_INTENTS: tuple[str, ...] = (
    "ask_overview",
    "ask_materials",
    "ask_process",
    "ask_time_limit",
    "ask_fee",
    "ask_location",
    "ask_contact",
    "ask_online",
    "ask_conditions",
    "inform_guide",
)
# intents whose own words decide: a rating with a reason, cancelling, a correction, small talk
KEPT_INTENTS = frozenset(
    {
        "rate_ticket",
        "cancel",
        "correct_field",
        "request_human",
        "affirm",
        "deny",
        "greet",
        "goodbye",
        "thanks",
        "bot_challenge",
        "choose_guide",
        "choose_region",
        "EXTERNAL_ticket_answered",
    }
)
CONFIDENT = 0.9  # a guide aspect this sure, for a message that really asks, is answered (with the offer)
# the writer says outright that this is an appeal: a guide question in it does not make it one
EXPLICIT_APPEAL = re.compile(r"投诉|诉求|举报|我要反映|想反映|我要反应")


def routed_intent(text: str, intent: str, ranking: list[str], confidence: float = 0.0) -> str | None:
    """The intent ``text`` should carry instead of ``intent``, or ``None`` to keep it.

    - a complaint that asks no guide question files an appeal, whatever the classifier
      guessed (a guide aspect, a ticket-status question that names no ticket, a fallback),
      unless it asks a real question the classifier confidently read as a guide aspect:
      that is answered, and the guide action offers the appeal;
    - a guide question read as ``file_appeal`` or ``ticket_status`` (a mixed message, or a
      long question with context), or a long question with no grievance at all read as
      ``file_appeal``, is answered as the best-ranked guide intent; the guide action then
      offers an appeal when it was a complaint too.

    ``ranking`` is the classifier's intent names, best first.
    """
    if not text or text.startswith("/") or intent in KEPT_INTENTS:
        return None
    signals = read_signals(text)
    if intent == TICKET_STATUS and signals.names_ticket:
        return None
    if signals.complaint and not signals.asks_guide:
        if intent == FILE_APPEAL or (signals.asks and intent in GUIDE_INTENTS and confidence >= CONFIDENT):
            return None
        return FILE_APPEAL
    # a long question that is no complaint ("听说有稳岗返还…要自己申请吗？", "社保断了三个月，
    # 请问还能补缴吗") is not an appeal either
    plain_question = (
        intent == FILE_APPEAL
        and signals.asks
        and not signals.complaint
        and (signals.consults or not signals.families)  # a bare question with a grievance: DIET decides
        and signals.length >= DECLARATIVE_MIN_CHARS
    )
    if (signals.asks_guide and intent in (FILE_APPEAL, TICKET_STATUS)) or plain_question:
        if intent == FILE_APPEAL and EXPLICIT_APPEAL.search(normalize(text)):
            return None
        return next((name for name in ranking if name in GUIDE_INTENTS), GUIDE_INTENTS[0])
    return None
