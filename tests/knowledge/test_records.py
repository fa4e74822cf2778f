"""The validator: good items parse, every bad field is reported in the administrator's terms."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from knowledge.records import (
    FIELD_COLUMNS,
    Faq,
    GuideRecord,
    ImportValidationError,
    Material,
    RawRecord,
    Step,
    ValidationProblem,
    parse_record,
    parse_records,
)

Item = Callable[..., dict[str, Any]]


def problems_of(raw: dict[str, Any], row: int = 2) -> list[ValidationProblem]:
    with pytest.raises(ImportValidationError) as caught:
        parse_record(raw, row=row, source="guides.csv")
    return caught.value.problems


def test_yaml_item_parses_every_field(item: Item) -> None:
    record = parse_record(item(), row=1, source="guides.yaml")
    assert record.id == "DEMO-SCJG-013"
    assert record.aliases == ("食品经营许可证", "食品经营许可", "开饭店许可证")
    assert record.situations == ("开饭馆、小吃店卖现做的饭菜", "奶茶店开张前")
    assert record.materials[1] == Material(
        name="营业执照", form="复印件", copies=2, requirement="容缺", notes=""
    )
    assert record.steps == (Step("申请", "通过政务服务网提交材料"), Step("受理", ""))
    assert record.faqs == (Faq("网上申请后还需要到现场吗？", "材料齐全的，无需到现场。"),)
    assert (record.legal_time_limit, record.legal_time_unit) == (10, "工作日")
    assert record.fully_online is True and record.visits == 0
    assert record.updated == dt.date(2026, 9, 1)
    assert record.source == "guides.yaml"  # provenance defaults to the file


def test_only_id_and_name_are_required() -> None:
    record = parse_record({"id": "A1", "name": "某事项"}, row=1, source="x.yaml")
    assert record.item_type == "公共服务" and record.level == "市"
    assert record.materials == () and record.legal_time_limit is None and record.updated is None


def test_to_dict_is_json_safe_and_round_trips(item: Item) -> None:
    record = parse_record(item(), row=1, source="guides.yaml")
    data = record.to_dict()
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["updated"] == "2026-09-01"
    assert data["materials"][0] == {
        "name": "食品经营许可申请书",
        "form": "原件",
        "copies": 1,
        "requirement": "必需",
        "notes": "在线填写",
    }
    assert GuideRecord.from_dict(data) == record


def test_content_hash_follows_content_not_provenance(item: Item) -> None:
    record = parse_record(item(), row=1, source="a.yaml")
    same_elsewhere = parse_record(item(), row=7, source="b.csv")
    changed = parse_record(item(fee="按标准收费"), row=1, source="a.yaml")
    assert len(record.content_hash()) == 64
    assert record.content_hash() == same_elsewhere.content_hash()
    assert record.content_hash() != changed.content_hash()


def test_situations_are_content_but_a_guide_without_them_keeps_its_old_hash(item: Item) -> None:
    with_them = parse_record(item(), row=1, source="a.yaml")
    other = parse_record(item(situations=["开饭馆"]), row=1, source="a.yaml")
    without = parse_record(item(situations=None), row=1, source="a.yaml")
    assert with_them.content_hash() != other.content_hash()
    # the hash a guide had before 适用情形 existed: every other field, canonical JSON
    before = {k: v for k, v in without.to_dict().items() if k not in ("source", "situations")}
    canonical = json.dumps(before, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    assert without.content_hash() == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_spreadsheet_row_uses_cell_syntax() -> None:
    raw = {
        "事项编码": 1001.0,  # Excel hands back numbers as floats
        "事项名称": " 公章刻制备案 ",
        "别名": "刻章；刻公章;印章备案",
        "申请材料": "营业执照｜复印件｜1份｜必需｜加盖公章\n法定代表人身份证|原件|1|容缺",
        "办理流程": "申请｜网上提交\n领取",
        "法定时限": 5.0,
        "法定时限单位": "工作日",
        "全程网办": "否",
        "跑动次数": "1",
        "常见问题": "要钱吗？｜不收费",
        "适用情形": "开个刻章店\n公章丢了要重刻；",
        "关联事项": "A；B",
        "更新日期": dt.datetime(2026, 3, 1),
        "无关的列": "ignored",
    }
    record = parse_record(raw, row=2, source="guides.xlsx")
    assert record.id == "1001" and record.name == "公章刻制备案"
    assert record.aliases == ("刻章", "刻公章", "印章备案")
    assert record.materials == (
        Material("营业执照", "复印件", 1, "必需", "加盖公章"),
        Material("法定代表人身份证", "原件", 1, "容缺", ""),
    )
    assert record.steps == (Step("申请", "网上提交"), Step("领取", ""))
    assert record.legal_time_limit == 5 and record.visits == 1 and record.fully_online is False
    assert record.faqs == (Faq("要钱吗？", "不收费"),)
    assert record.situations == ("开个刻章店", "公章丢了要重刻")
    assert record.bundled_items == ("A", "B")
    assert record.updated == dt.date(2026, 3, 1)


def test_spreadsheet_problems_name_the_chinese_column() -> None:
    raw = {
        "事项编码": "A1",
        "事项名称": "",
        "事项类型": "许可",
        "法定时限": "十个工作日",
        "法定时限单位": "工作日",
        "跑动次数": -1,
        "全程网办": "也许",
        "在线办理地址": "zwfw.example.gov.cn",
        "更新日期": "2026/09/01",
        "申请材料": "营业执照｜复印件",
    }
    found = {(p.column, p.row) for p in problems_of(raw, row=5)}
    assert found == {
        ("事项名称", 5),
        ("事项类型", 5),
        ("法定时限", 5),
        ("跑动次数", 5),
        ("全程网办", 5),
        ("在线办理地址", 5),
        ("更新日期", 5),
        ("申请材料", 5),
    }


def test_yaml_problems_name_the_key_and_collect_everything(item: Item) -> None:
    raw = item(
        item_type="许可",
        level="省",
        legal_time_limit="十",
        promised_time_unit="周",
        updated="2026-02-30",
        visits=True,
        aliases="not a list but fine",
        materials=[
            {"name": "申请书", "form": "原件", "copies": "两", "requirement": "可选", "colour": "红"},
            "营业执照",
        ],
        steps={"name": "申请"},
        faqs=[{"q": "问"}],
        unknown_key=1,
    )
    problems = problems_of(raw)
    columns = [p.column for p in problems]
    assert columns[0] == "unknown_key"  # then in field order
    assert set(columns) == {
        "unknown_key",
        "item_type",
        "level",
        "materials",
        "steps",
        "legal_time_limit",
        "promised_time_unit",
        "visits",
        "faqs",
        "updated",
    }
    messages = " ".join(p.message for p in problems)
    assert "实际为“许可”" in messages and "第2项应为包含" in messages and "缺少a" in messages
    assert all(p.unit == "条" and p.item_id == "DEMO-SCJG-013" for p in problems)


def test_time_limit_needs_a_unit(item: Item) -> None:
    problems = problems_of(item(legal_time_unit=None))
    assert [(p.column, p.message) for p in problems] == [
        ("legal_time_unit", "填写了时限，但没有填写时限单位")
    ]


def test_separator_inside_list_element_is_refused(item: Item) -> None:
    problems = problems_of(
        item(aliases=["甲；乙"], materials=[{"name": "a｜b", "form": "原件", "requirement": "必需"}])
    )
    assert {p.column for p in problems} == {"aliases", "materials"}


def test_overlong_and_control_characters_are_refused(item: Item) -> None:
    problems = problems_of(item(id="X" * 65, note="bad\x07bell"))
    assert {p.column for p in problems} == {"id", "note"}


def test_problem_description_formats() -> None:
    row = ValidationProblem(row=3, column="事项类型", message="应为…", source="a.csv")
    entry = ValidationProblem(
        row=2, column="name", message="必填，不能为空", source="a.yaml", item_id="X1", unit="条"
    )
    assert row.describe() == "a.csv: 第3行 [事项类型] 应为…"
    assert entry.describe() == "a.yaml: 第2条（X1） [name] 必填，不能为空"


def test_duplicate_ids_in_a_batch_are_a_problem(item: Item) -> None:
    raws = [
        RawRecord(item(), row=1, source="a.yaml"),
        RawRecord(item(name="另一个名称"), row=2, source="a.yaml"),
        RawRecord({FIELD_COLUMNS["id"]: "DEMO-SCJG-013", FIELD_COLUMNS["name"]: "x"}, row=4, source="b.csv"),
        RawRecord(item(id="OTHER"), row=3, source="a.yaml"),  # same name, other id: allowed
    ]
    with pytest.raises(ImportValidationError) as caught:
        parse_records(raws)
    described = [p.describe() for p in caught.value.problems]
    assert described == [
        "a.yaml: 第2条（DEMO-SCJG-013） [id] 事项编码“DEMO-SCJG-013”重复，已在第1条出现",
        "b.csv: 第4行 [事项编码] 事项编码“DEMO-SCJG-013”重复，已在 a.yaml 第1条出现",
    ]
