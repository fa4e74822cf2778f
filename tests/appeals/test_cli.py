"""``butler registry|tickets|calendar`` as an administrator uses them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from appeals.registry import REGISTRY_HEADERS
from cli.main import main

CREATE = [
    "tickets",
    "create",
    "--enterprise",
    "腾飞生物医药",
    "--description",
    "厂区停电三天，变压器需要增容",
    "--contact-name",
    "杨刚",
    "--contact-phone",
    "13900000001",
]


@pytest.fixture
def butler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``butler …`` against a fresh database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_a_bad_registry_file_is_reported_row_by_row_and_exits_non_zero(butler: Any, tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        ",".join(REGISTRY_HEADERS)
        + "\n示例市宏达机械制造有限公司,91990102MA00000010,城东区"
        + "," * 10
        + "\n",
        encoding="utf-8",
    )
    code, _, err = butler("registry", "import", str(path))
    assert code == 2
    assert "第2行「统一社会信用代码」：统一社会信用代码校验位不正确" in err
    assert "错误：文件「bad.csv」有1处错误，未导入任何数据" in err
    code, out, _ = butler("registry", "show", "--json")
    assert code == 0 and json.loads(out)["enterprises"] == 0


def test_file_list_and_show_tickets_as_json(butler: Any) -> None:
    assert butler("registry", "demo")[0] == 0
    code, out, _ = butler(*CREATE)
    assert code == 0 and "您的诉求已受理，工单号 GD" in out and "何杰" in out
    code, out, _ = butler("tickets", "list", "--json")
    assert code == 0
    [listed] = json.loads(out)
    for field in (
        "number",
        "credit_code",
        "butler_name",
        "butler_phone",
        "status",
        "category",
        "contact_due",
        "answer_due",
        "resolve_due",
        "deadlines",
        "events",
    ):
        assert field in listed
    assert listed["credit_code"] == "91990102A5NNL98XUY"
    assert (listed["butler_name"], listed["butler_phone"]) == ("何杰", "13800000016")
    assert (listed["status"], listed["category"]) == ("submitted", "用电用水用气")
    assert [d["key"] for d in listed["deadlines"]] == ["contact", "answer", "resolve"]
    assert all(d["light"] in ("green", "yellow", "red") for d in listed["deadlines"])
    assert [e["kind"] for e in listed["events"]] == ["create", "route"]

    code, out, _ = butler("tickets", "show", listed["number"], "--json")
    shown = json.loads(out)
    assert code == 0 and shown["number"] == listed["number"] and shown["routing_rule"] == "assigned"
    again = butler(*CREATE, "--json")  # the same command retried files nothing new
    assert json.loads(again[1])["number"] == listed["number"]
    assert len(json.loads(butler("tickets", "list", "--json")[1])) == 1


def test_the_loop_from_the_command_line(butler: Any) -> None:
    butler("registry", "demo")
    number = json.loads(butler(*CREATE, "--json")[1])["number"]
    assert butler("tickets", "contact", number, "--note", "电话联系")[0] == 0
    assert butler("tickets", "reply", number, "已协调供电公司")[0] == 0
    code, out, _ = butler("tickets", "reply", number, "已完成增容", "--done", "--json")
    assert code == 0 and json.loads(out)["status"] == "answered"
    code, out, _ = butler("tickets", "rate", number, "不满意", "--comment", "电压还不稳")
    assert code == 0 and "重新交由管家何杰办理" in out
    code, out, _ = butler("tickets", "assign", number, "--butler", "13800000002", "--reason", "何杰出差")
    assert code == 0 and "已改派" in out
    code, out, _ = butler("tickets", "close", number, "--reason", "企业已撤回", "--json")
    assert code == 0 and json.loads(out)["status"] == "closed"
    code, _, err = butler("tickets", "close", number, "--reason", "再次关闭")
    assert code == 2 and "当前状态为「已办结」，不能关闭工单" in err
    code, out, _ = butler("tickets", "show", number)
    assert "第1轮评价 不满意：电压还不稳" in out and "改派给管家" in out


def test_clear_errors_for_unknown_tickets_and_bad_phones(butler: Any) -> None:
    butler("registry", "demo")
    code, _, err = butler("tickets", "show", "GD209901010001")
    assert code == 2 and "没有找到工单 GD209901010001" in err
    code, _, err = butler("tickets", "list", "--butler", "12345")
    assert code == 2 and "手机号码应为11位" in err
    code, _, err = butler(*CREATE[:-1], "138")
    assert code == 2 and "手机号码应为11位" in err


def test_sweep_reports_as_json(butler: Any) -> None:
    butler("registry", "demo")
    code, out, _ = butler("tickets", "sweep", "--json")
    assert code == 0 and json.loads(out) == {"checked": 0, "escalations": []}


def test_templates(butler: Any, tmp_path: Path) -> None:
    target = tmp_path / "登记表.xlsx"
    assert butler("registry", "template", str(target))[0] == 0
    assert target.exists()
    code, _, err = butler("registry", "template", str(target))
    assert code == 2 and "已存在" in err
    assert butler("registry", "template", str(target), "--force")[0] == 0


def test_calendar_import_and_list(butler: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("日期,是否工作日,名称\n2027-13-01,否,错日期\n2027-10-01,休,国庆\n", encoding="utf-8")
    code, _, err = butler("calendar", "import", str(bad))
    assert code == 2 and "第2行「日期」" in err and "未导入任何日期" in err
    good = tmp_path / "2027.csv"
    good.write_text("日期,是否工作日,名称\n2027-10-01,否,国庆节\n2027-09-26,是,国庆调休\n", encoding="utf-8")
    assert butler("calendar", "import", str(good))[0] == 0
    code, out, _ = butler("calendar", "list", "--year", "2027", "--json")
    assert json.loads(out) == [
        {"date": "2027-09-26", "is_working_day": True, "name": "国庆调休"},
        {"date": "2027-10-01", "is_working_day": False, "name": "国庆节"},
    ]
