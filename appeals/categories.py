"""The nine appeal categories and a keyword guess for pre-filling the form.

The chat asks the user to confirm the category, so a guess only has to be
right often enough to save a question: ``infer_category`` says ``None`` when no
keyword matches (a short answer names no category), ``guess_category`` offers
其他 for a description without one, with the same confirmation button.
"""

from __future__ import annotations

from appeals.errors import InvalidInput

CATEGORIES: tuple[str, ...] = (
    "用地",
    "用电用水用气",
    "审批服务",
    "融资",
    "用工",
    "拖欠账款",
    "政策兑现",
    "执法检查",
    "其他",
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# Longer keywords weigh more, so "不动产登记" reads as 用地 rather than 审批服务. The words are
# what a complaint says happened (停了电, 不放款, 罚了款), not only the category's own name.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "用地": _words("用地 土地 征地 征收 拆迁 地块 红线 不动产 产权证 土地证 规划许可 规划条件 划拨 出让"),
    "用电用水用气": _words(
        "停电 用电 电力 电费 电压 供电 变压器 增容 跳闸 限电 断电 线路 电表 "
        "用水 供水 停水 断水 限水 水压 排水 污水管 管网 自来水 "
        "燃气 天然气 用气 停气 断气 供气 管道气 供热 供暖 蒸汽"
    ),
    "审批服务": _words(
        "审批 许可证 许可 批复 核准 备案 办证 证照 营业执照 执照 资质 环评 施工许可 验收 复验 审图 "
        "竣工验收 评审 审核 窗口 办理材料 手续 年检 登记 退回 驳回 不予受理 批不下来 办不下来"
    ),
    "融资": _words("贷款 融资 资金周转 银行 担保 授信 抵押 续贷 放款 抽贷 断贷 压贷 利率 信贷 过桥 贷"),
    "用工": _words(
        "招工 用工 招聘 缺工 工人 员工 人才 社保 劳动 技工 劳务 招不到人 招人 工伤 劳动合同 人才公寓 外籍"
    ),
    "拖欠账款": _words(
        "拖欠 欠款 账款 工程款 货款 欠账 尾款 回款 不付款 迟迟不付 结款 结算 付款 不拨款 欠我们 账期"
    ),
    "政策兑现": _words(
        "补贴 奖补 兑现 扶持资金 奖励资金 奖励 退税 减免 补助 返还 稳岗 贴息 招商引资 政策 申报 公示"
    ),
    "执法检查": _words(
        "检查 执法 罚款 处罚 整改 查封 扣押 停产 多头检查 检查过多 督察 督查 抽查 城管 监管 罚 返工 乱收费"
    ),
}
OTHER = "其他"


def infer_category(text: str) -> str | None:
    """The most likely category from keywords, or ``None`` when nothing matches."""
    if not text:
        return None
    scores: dict[str, int] = {}
    for category, words in KEYWORDS.items():
        score = sum(len(word) for word in words if word in text)
        if score:
            scores[category] = score
    if not scores:
        return None
    return max(scores, key=lambda name: (scores[name], -CATEGORIES.index(name)))


def guess_category(description: str) -> str | None:
    """The category to offer for a description: the keyword guess, else 其他 (the user confirms either).

    ``None`` only for an empty description: then every category is offered.
    """
    if not (description or "").strip():
        return None
    return infer_category(description) or OTHER


def validate_category(text: str) -> str:
    """The category as stored, or ``InvalidInput`` listing the choices."""
    value = (text or "").strip()
    if value in CATEGORIES:
        return value
    raise InvalidInput(f"诉求类别「{value}」无法识别，请从以下类别中选择：{'、'.join(CATEGORIES)}")
