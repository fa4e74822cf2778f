"""``butler kb …`` end to end: exit codes, messages, and that failures leave the database alone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from cli.main import main
from knowledge.service import log_unanswered
from storage.engine import make_engine, make_session_factory
from tests.knowledge.conftest import DEMO_DIR

Item = Callable[..., dict[str, Any]]
WriteYaml = Callable[[Path, list[dict[str, Any]]], Path]


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("KNOWLEDGE_CATALOGUE", raising=False)
    monkeypatch.delenv("KNOWLEDGE_DEMO_DIR", raising=False)
    return url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    code, out, _ = run(capsys, "kb", "list", "--json")
    assert code == 0
    return list(json.loads(out))


def test_import_then_reimport(
    url: str, tmp_path: Path, item: Item, write_yaml: WriteYaml, capsys: Any
) -> None:
    path = write_yaml(tmp_path / "g.yaml", [item(), item(id="B", name="公章刻制备案")])
    assert run(capsys, "kb", "import", str(path)) == (0, "导入完成：新增 2 条，更新 0 条，未变 0 条。\n", "")
    assert run(capsys, "kb", "import", str(path))[1] == "导入完成：新增 0 条，更新 0 条，未变 2 条。\n"
    write_yaml(path, [item(fee="100元"), item(id="B", name="公章刻制备案")])
    assert run(capsys, "kb", "import", str(path))[1] == "导入完成：新增 0 条，更新 1 条，未变 1 条。\n"
    versions = {i["id"]: i["version"] for i in listed(capsys)}
    assert versions == {"B": 1, "DEMO-SCJG-013": 2}


def test_bad_csv_reports_every_problem_and_changes_nothing(
    url: str, tmp_path: Path, item: Item, write_yaml: WriteYaml, capsys: Any
) -> None:
    run(capsys, "kb", "import", str(write_yaml(tmp_path / "g.yaml", [item()])))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "事项编码,事项名称,事项类型,法定时限,法定时限单位\nNEW-1,新事项,行政许可,3,工作日\nNEW-2,,许可,三,工作日\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "kb", "import", str(bad))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "bad.csv: 第3行 [事项名称] 必填，不能为空",
        "bad.csv: 第3行 [事项类型] 应为 行政许可/行政确认/行政备案/行政给付/行政奖励/行政裁决/行政征收/其他行政权力/公共服务/备案/一件事 之一，实际为“许可”",
        "bad.csv: 第3行 [法定时限] 应为非负整数，实际为“三”",
        "导入失败：共 3 个问题，知识库未做任何修改。",
    ]
    assert [i["id"] for i in listed(capsys)] == ["DEMO-SCJG-013"]  # NEW-1 was valid but not written


def test_one_bad_file_blocks_the_good_ones(
    url: str, tmp_path: Path, item: Item, write_yaml: WriteYaml, capsys: Any
) -> None:
    good = write_yaml(tmp_path / "good.yaml", [item()])
    bad = write_yaml(tmp_path / "bad.yaml", [item(id="X", updated="2026-02-30")])
    code, _, err = run(capsys, "kb", "import", str(good), str(bad))
    assert code == 2
    assert "bad.yaml: 第1条（X） [updated] 日期应为 YYYY-MM-DD 格式的有效日期" in err
    assert listed(capsys) == []


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("nothing.yaml", None, "错误：文件不存在："),
        ("guides.docx", b"x", "错误：无法识别文件类型 guides.docx"),
        ("broken.xlsx", b"PK\x03\x04junk", "错误：无法读取 Excel 文件 broken.xlsx"),
    ],
)
def test_unreadable_input_exits_2(
    url: str, tmp_path: Path, capsys: Any, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    code, out, err = run(capsys, "kb", "import", str(path))
    assert code == 2 and out == "" and err.startswith(message) and "Traceback" not in err


def test_import_needs_a_path(url: str, capsys: Any) -> None:
    code, _, err = run(capsys, "kb", "import")
    assert code == 2 and "请指定要导入的文件或目录" in err


def test_xlsx_import_and_export(
    url: str, tmp_path: Path, item: Item, write_yaml: WriteYaml, capsys: Any
) -> None:
    run(capsys, "kb", "import", str(write_yaml(tmp_path / "g.yaml", [item(), item(id="B")])))
    out_path = tmp_path / "out.xlsx"
    code, _, err = run(capsys, "kb", "export", "--format", "xlsx", "-o", str(out_path))
    assert code == 0 and "已导出 2 条" in err
    assert openpyxl.load_workbook(out_path).worksheets[0]["A2"].value == "B"
    assert run(capsys, "kb", "import", str(out_path))[1] == "导入完成：新增 0 条，更新 0 条，未变 2 条。\n"


def test_export_to_stdout(url: str, tmp_path: Path, item: Item, write_yaml: WriteYaml, capsys: Any) -> None:
    run(capsys, "kb", "import", str(write_yaml(tmp_path / "g.yaml", [item()])))
    code, out, _ = run(capsys, "kb", "export", "--format", "yaml")
    assert code == 0 and out.startswith("items:\n- id: DEMO-SCJG-013\n")
    code, out, _ = run(capsys, "kb", "export", "--format", "csv", "--only-guides")
    assert code == 0 and out.startswith("\ufeff事项编码,事项名称")
    code, _, err = run(capsys, "kb", "export", "--format", "xlsx")
    assert code == 2 and "需要用 -o 指定输出文件" in err


def test_read_commands_on_a_missing_database(url: str, capsys: Any) -> None:
    code, _, err = run(capsys, "kb", "list")
    assert code == 2 and "知识库尚未初始化" in err


def test_show(url: str, tmp_path: Path, item: Item, write_yaml: WriteYaml, capsys: Any) -> None:
    run(capsys, "kb", "import", str(write_yaml(tmp_path / "g.yaml", [item()])))
    code, out, _ = run(capsys, "kb", "show", "DEMO-SCJG-013")
    assert code == 0 and out.startswith("食品经营许可证核发（DEMO-SCJG-013）\n版本 1\n")
    assert "  - 营业执照｜复印件｜2份｜容缺" in out and "法定时限：10 工作日" in out
    assert "适用情形：开饭馆、小吃店卖现做的饭菜；奶茶店开张前" in out
    code, out, _ = run(capsys, "kb", "show", "DEMO-SCJG-013", "--json")
    assert json.loads(out)["materials"][0]["name"] == "食品经营许可申请书"
    code, _, err = run(capsys, "kb", "show", "NOPE")
    assert code == 2 and err == "错误：未找到事项：NOPE\n"


def test_list_text_and_filters(
    url: str, tmp_path: Path, item: Item, write_yaml: WriteYaml, capsys: Any
) -> None:
    run(
        capsys,
        "kb",
        "import",
        str(write_yaml(tmp_path / "g.yaml", [item(), item(id="B", item_type="公共服务")])),
    )
    code, out, err = run(capsys, "kb", "list", "--type", "公共服务")
    assert (
        code == 0
        and out == "B\t食品经营许可证核发\t公共服务\t示例市市场监督管理局\t指南\tv1\n"
        and "共 1 条" in err
    )


def test_unanswered(url: str, capsys: Any) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    engine = make_engine(url)
    with make_session_factory(engine).begin() as session:
        log_unanswered(
            session=session,
            text="开奶茶店要办什么",
            sender_id="u1",
            best_guess="食品经营许可证核发",
            confidence="低",
        )
        log_unanswered(session=session, text="你好", sender_id="u2", best_guess="", confidence="")
    engine.dispose()
    code, out, _ = run(capsys, "kb", "unanswered")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[1].endswith("开奶茶店要办什么  最接近：食品经营许可证核发（低）")
    code, out, _ = run(capsys, "kb", "unanswered", "--json", "--limit", "1")
    assert [q["text"] for q in json.loads(out)] == ["你好"]
    with pytest.raises(SystemExit):
        main(["kb", "unanswered", "--limit", "0"])


def test_catalogue_import(url: str, catalogue_path: Path, capsys: Any) -> None:
    code, out, err = run(capsys, "kb", "import", "--catalogue", str(catalogue_path))
    assert code == 0 and out == "导入完成：新增 1135 条，更新 0 条，未变 0 条。\n"
    assert err.splitlines()[-1] == "正在写入：1135/1135"  # long import: progress on stderr
    items = listed(capsys)
    assert len(items) == 1135 and not any(i["has_guide"] for i in items)
    assert {i["region"] for i in items} == {"广安市广安区"}


def test_demo_import_and_catalogue_on_top(
    url: str, catalogue_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("KNOWLEDGE_DEMO_DIR", str(DEMO_DIR))
    assert run(capsys, "kb", "import", "--demo")[1] == "导入完成：新增 60 条，更新 0 条，未变 0 条。\n"
    items = listed(capsys)
    names = {i["name"] for i in items}
    assert len(items) == 60 and all(i["has_guide"] for i in items)
    assert {"食品经营许可证核发", "排污许可证核发", "海关进出口货物收发货人备案"} <= names
    monkeypatch.setenv("KNOWLEDGE_CATALOGUE", str(catalogue_path))
    code, out, _ = run(capsys, "kb", "import", "--catalogue")
    assert code == 0 and out.startswith("导入完成：新增 1135 条")
    assert sum(1 for i in listed(capsys) if i["has_guide"]) == 60


def test_teach_adds_the_question_to_its_items_situations_once(
    url: str, tmp_path: Path, item: Item, write_yaml: WriteYaml, capsys: Any
) -> None:
    run(capsys, "kb", "import", str(write_yaml(tmp_path / "g.yaml", [item()])))
    code, out, _ = run(capsys, "kb", "teach", "楼下想开个卖卤菜的小档口", "--item", "食品经营许可证核发")
    assert code == 0 and out.startswith("已学习：这句问法记入“食品经营许可证核发”的适用情形")
    code, out, _ = run(capsys, "kb", "show", "DEMO-SCJG-013", "--json")
    shown = json.loads(out)
    assert shown["situations"][-1] == "楼下想开个卖卤菜的小档口" and shown["version"] == 2
    # the same words again (another spacing, Traditional) change nothing
    code, out, _ = run(capsys, "kb", "teach", "樓下想開個賣滷菜的小檔口 ", "--item", "DEMO-SCJG-013")
    assert code == 0 and out == "“食品经营许可证核发”的适用情形里已有这句问法，未做修改\n"
    assert [i["version"] for i in listed(capsys)] == [2]


@pytest.mark.parametrize(
    ("question", "item_name", "message"),
    [
        (
            "楼下想开个卖卤菜的小档口",
            "食品经营许可",
            "没有找到有办事指南的事项：食品经营许可（请写完整的事项名称或事项编码）",
        ),
        ("  ！！ ", "食品经营许可证核发", "问题内容为空，没有可学习的说法"),
        ("开店" * 101, "食品经营许可证核发", "问题太长（202 字）"),
    ],
    ids=["an item not named in full", "no words", "a whole document"],
)
def test_teach_refuses_what_it_cannot_teach_and_changes_nothing(
    url: str,
    tmp_path: Path,
    item: Item,
    write_yaml: WriteYaml,
    capsys: Any,
    question: str,
    item_name: str,
    message: str,
) -> None:
    run(capsys, "kb", "import", str(write_yaml(tmp_path / "g.yaml", [item()])))
    code, out, err = run(capsys, "kb", "teach", question, "--item", item_name)
    assert code == 2 and out == "" and err.startswith("错误：" + message) and "知识库未做任何修改" in err
    assert [i["version"] for i in listed(capsys)] == [1]


def test_teach_needs_an_initialised_knowledge_base(url: str, capsys: Any) -> None:
    code, _, err = run(capsys, "kb", "teach", "楼下想开个卖卤菜的小档口", "--item", "食品经营许可证核发")
    assert code == 2 and "知识库尚未初始化" in err
