"""``butler users …`` as an administrator uses it: the password comes from standard input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import sessionmaker

from accounts import authenticate, list_audit
from cli.main import main
from storage.engine import make_engine, make_session_factory
from tests.accounts.conftest import PASSWORD

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def butler(db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``butler …`` with ``stdin`` as standard input; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", db_url)

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def check(db_url: str) -> Any:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def test_add_reads_the_password_from_stdin_and_the_user_can_log_in(butler: Any, check: sessionmaker) -> None:
    code, out, err = butler(
        "users", "add", "hejie", "--role", "butler", "--butler-phone", "13800000016", stdin=PASSWORD + "\n"
    )
    assert (code, err) == (0, "")
    assert out.strip() == "已创建账号「hejie」（企业管家 何杰），可以登录管家工作台 /console。"
    with check() as session:
        user = authenticate(session, "hejie", PASSWORD)
        assert user is not None and user.role == "butler"
        assert [(e.action, e.target) for e in list_audit(session)] == [("user_created", "user:hejie")]
    code, out, _ = butler("users", "list", "--json")
    assert code == 0
    assert json.loads(out) == [
        {
            "username": "hejie",
            "display_name": "何杰",
            "role": "butler",
            "butler_id": user.butler_id,
            "department_id": user.department_id,
            "active": True,
        }
    ]


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["--role", "admin"], "short\n", "错误：密码至少需要8个字符"),
        (["--role", "admin"], "", "错误：没有从标准输入读到密码"),
        (
            ["--role", "butler", "--butler-phone", "13999999999"],
            PASSWORD + "\n",
            "错误：没有手机号为 13999999999 的管家，请先导入管家名册（butler registry import）",
        ),
        (
            ["--role", "boss"],
            PASSWORD + "\n",
            "错误：角色必须是 butler（企业管家）、head（部门负责人）或 admin（管理员）",
        ),
    ],
)
def test_add_refuses_with_one_chinese_line_and_creates_nothing(
    butler: Any, check: sessionmaker, argv: list[str], stdin: str, message: str
) -> None:
    code, out, err = butler("users", "add", "someone", *argv, stdin=stdin)
    assert code == 2 and out == ""
    assert err.startswith(message) and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    code, out, _ = butler("users", "list")
    assert code == 0 and "还没有任何账号" in out


def test_disable_and_passwd(butler: Any, check: sessionmaker) -> None:
    assert butler("users", "add", "admin", "--role", "admin", stdin=PASSWORD + "\n")[0] == 0
    code, out, _ = butler("users", "passwd", "admin", stdin="another passphrase\r\n")
    assert code == 0 and "已修改账号「admin」" in out
    with check() as session:
        assert authenticate(session, "admin", PASSWORD) is None
        assert authenticate(session, "admin", "another passphrase") is not None
    code, out, _ = butler("users", "disable", "admin")
    assert code == 0 and "已停用账号「admin」" in out
    with check() as session:
        assert authenticate(session, "admin", "another passphrase") is None
    code, out, _ = butler("users", "list")
    assert "admin\tadmin\t管理员\t已停用" in out
    code, _, err = butler("users", "disable", "ghost")
    assert code == 2 and err.strip() == "错误：用户「ghost」不存在"


def test_the_installed_command_reads_a_piped_password(db_url: str, check: sessionmaker) -> None:
    env = {**os.environ, "DATABASE_URL": db_url}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "users", "add", "linlei", "--role", "head", "--department", "市工信局"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "已创建账号「linlei」（部门负责人 linlei）" in result.stdout
    with check() as session:
        assert authenticate(session, "linlei", PASSWORD) is not None
