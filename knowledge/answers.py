"""Readable Chinese answers built only from the stored fields of a guide.

Nothing here invents content: a field the department has not published is
reported as 未公布, and every answer ends with its source (item name, update
date, and the demo-data note when there is one).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from knowledge.aspects import Aspect

NOT_PUBLISHED = "未公布"
MAX_OVERVIEW_MATERIALS = 5
MAX_PROCESS_MATERIALS = 6  # a list this short fits in the steps card, so "怎么办" is answered in one reply


class GuideLike(Protocol):
    """The fields of ``knowledge.models.GuideItem`` the answers read."""

    id: Any
    name: Any
    item_type: Any
    department: Any
    conditions: Any
    materials: Any
    steps: Any
    legal_time_limit: Any
    legal_time_unit: Any
    promised_time_limit: Any
    promised_time_unit: Any
    fee: Any
    location: Any
    hours: Any
    phone: Any
    online_url: Any
    fully_online: Any
    visits: Any
    faqs: Any
    bundled_items: Any
    note: Any
    updated: Any
    version: Any
    has_guide: Any


def time_limit_text(limit: int | None, unit: str | None) -> str:
    if unit == "即办":
        return "即办（材料齐全当场办结）"
    if limit is None or not unit:
        return NOT_PUBLISHED
    return (
        f"{limit}个{unit}" if unit == "工作日" else f"{limit}{unit}" if unit == "小时" else f"{limit}个{unit}"
    )


def material_line(number: int, material: dict[str, Any]) -> str:
    details = [f"{material.get('form') or '原件'}{material.get('copies') or 1}份"]
    requirement = material.get("requirement") or "必需"
    if requirement == "容缺":
        details.append("可容缺后补")
    elif requirement != "必需":
        details.append(requirement)
    line = f"{number}. {material['name']}（{'，'.join(details)}）"
    if material.get("notes"):
        line += f"：{material['notes']}"
    return line


def source_line(guide: GuideLike) -> str:
    updated = guide.updated.isoformat() if isinstance(guide.updated, dt.date) else (guide.updated or "")
    parts = [f"来源：《{guide.name}》办事指南"]
    if updated:
        parts.append(f"更新于{updated}")
    text = "，".join(parts)
    return f"{text}（{guide.note}）" if guide.note else text


def _materials(guide: GuideLike, limit: int | None = None) -> list[str]:
    materials: Sequence[dict[str, Any]] = guide.materials or []
    lines = [material_line(i, m) for i, m in enumerate(materials[:limit] if limit else materials, 1)]
    if limit and len(materials) > limit:
        lines.append(f"……共{len(materials)}项，回复“要什么材料”查看完整清单")
    return lines


def _time_limits(guide: GuideLike) -> str:
    legal = time_limit_text(guide.legal_time_limit, guide.legal_time_unit)
    promised = time_limit_text(guide.promised_time_limit, guide.promised_time_unit)
    return f"法定办结时限：{legal}；承诺办结时限：{promised}"


def _online(guide: GuideLike) -> str:
    if guide.fully_online:
        text = "可以全程网上办理，无需到现场"
    elif guide.online_url:
        text = "可在网上申请，部分环节需到窗口办理"
    else:
        return "暂不支持网上办理，请到窗口办理"
    if guide.visits is not None:
        text += f"（跑动次数：{guide.visits}次）"
    return f"{text}。办理入口：{guide.online_url}" if guide.online_url else text + "。"


def served_online_only(guide: GuideLike) -> bool:
    """True when the guide's place is the web ("网上办理；现场咨询：…"): 在哪里办 is answered by the way in."""
    return (guide.location or "").startswith(("网上办理", "网上申报", "网上填报", "全程网办"))


def _location(guide: GuideLike) -> str:
    text = f"办理地点：{guide.location or NOT_PUBLISHED}"
    if guide.hours:
        text += f"\n办理时间：{guide.hours}"
    return text


def _steps(guide: GuideLike) -> list[str]:
    return [
        f"{i}. {step.get('name', '')}" + (f"：{step['description']}" if step.get("description") else "")
        for i, step in enumerate(guide.steps or [], 1)
    ]


def office_line(guide: GuideLike) -> str:
    """Whose guide this is, when the catalogue has the item for several regions."""
    region = getattr(guide, "region", "") or ""
    department = guide.department or ""
    office = department if region and department.startswith(region) else f"{region} {department}".strip()
    return f"以下为{office}的办事指南" if office else ""


def compose_answer(
    guide: GuideLike, aspect: Aspect, bundled_names: Sequence[str] = (), *, regional: bool = False
) -> str:
    """The reply for one aspect of one guide; ``regional`` names the office when other regions have it too."""
    if not guide.has_guide:
        return _name_only(guide)
    title = f"【{guide.name}】{aspect.label}"
    if regional and office_line(guide):
        title = f"{title}\n{office_line(guide)}"
    body: list[str]
    if aspect is Aspect.materials:
        body = _materials(guide) or [f"申请材料：{NOT_PUBLISHED}"]
    elif aspect is Aspect.process:
        body = _steps(guide) or [f"办理流程：{NOT_PUBLISHED}"]
        materials = guide.materials or []
        if 0 < len(materials) <= MAX_PROCESS_MATERIALS:
            body += ["申请材料：", *_materials(guide)]
    elif aspect is Aspect.time_limit:
        body = [_time_limits(guide)]
    elif aspect is Aspect.fee:
        body = [f"收费标准：{guide.fee or NOT_PUBLISHED}"]
    elif aspect is Aspect.location:
        body = [_location(guide)]
    elif aspect is Aspect.contact:
        body = [f"咨询电话：{guide.phone or NOT_PUBLISHED}", f"实施机关：{guide.department or NOT_PUBLISHED}"]
    elif aspect is Aspect.online:
        body = [_online(guide)] + ([_location(guide)] if served_online_only(guide) else [])
    elif aspect is Aspect.conditions:
        body = [f"受理条件：\n{guide.conditions}" if guide.conditions else f"受理条件：{NOT_PUBLISHED}"]
    else:
        body = _overview(guide, bundled_names)
    return "\n".join([title, *body, source_line(guide)])


def _overview(guide: GuideLike, bundled_names: Sequence[str]) -> list[str]:
    lines = [f"实施机关：{guide.department or NOT_PUBLISHED}（{guide.item_type}）"]
    if bundled_names:
        lines.append("包含事项：" + "、".join(bundled_names))
    materials = _materials(guide, MAX_OVERVIEW_MATERIALS)
    if materials:
        lines.append("申请材料：")
        lines.extend(materials)
    lines.append(_time_limits(guide))
    lines.append(f"收费标准：{guide.fee or NOT_PUBLISHED}")
    lines.append(_location(guide))
    lines.append(f"咨询电话：{guide.phone or NOT_PUBLISHED}")
    lines.append(f"网上办理：{_online(guide)}")
    return lines


def _name_only(guide: GuideLike) -> str:
    lines = [
        f"【{guide.name}】",
        f"该事项由{guide.department or '相关部门'}办理。知识库暂未收录它的详细办事指南（材料、时限、收费等），为免误导不作推测。",
    ]
    if guide.online_url:
        lines.append(f"请以政务服务网公布的指南为准：{guide.online_url}")
    lines.append("如需帮助，可回复“转人工”联系您的企业管家。")
    return "\n".join(lines)
