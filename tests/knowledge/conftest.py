"""Shared fixtures: a migrated SQLite database per test and small guide files built on the fly."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from storage.engine import make_engine, make_session_factory
from storage.migrate import upgrade_to_head

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO_DIR = REPO_ROOT / "knowledge" / "demo"
# The Guang'an catalogue lives in the shared data folder beside the repository checkout.
DEFAULT_CATALOGUE = REPO_ROOT / "knowledge" / "catalogues" / "guangan" / "guang_an_items.derived.json"

GOOD_ITEM: dict[str, Any] = {
    "id": "DEMO-SCJG-013",
    "name": "食品经营许可证核发",
    "aliases": ["食品经营许可证", "食品经营许可", "开饭店许可证"],
    "item_type": "行政许可",
    "department": "示例市市场监督管理局",
    "level": "市",
    "region": "示例市",
    "legal_basis": "《中华人民共和国食品安全法》第三十五条",
    "conditions": "1. 具有与经营的食品品种、数量相适应的经营场所；\n2. 具有食品安全管理人员。",
    "situations": ["开饭馆、小吃店卖现做的饭菜", "奶茶店开张前"],
    "materials": [
        {
            "name": "食品经营许可申请书",
            "form": "原件",
            "copies": 1,
            "requirement": "必需",
            "notes": "在线填写",
        },
        {"name": "营业执照", "form": "复印件", "copies": 2, "requirement": "容缺"},
    ],
    "steps": [{"name": "申请", "description": "通过政务服务网提交材料"}, {"name": "受理"}],
    "legal_time_limit": 10,
    "legal_time_unit": "工作日",
    "promised_time_limit": 3,
    "promised_time_unit": "工作日",
    "fee": "不收费",
    "location": "示例市政务服务中心二楼",
    "hours": "周一至周五 9:00-12:00",
    "phone": "0000-12345678",
    "online_url": "https://zwfw.example.gov.cn/item/DEMO-SCJG-013",
    "fully_online": True,
    "visits": 0,
    "faqs": [{"q": "网上申请后还需要到现场吗？", "a": "材料齐全的，无需到现场。"}],
    "bundled_items": [],
    "note": "示例数据，以当地政务服务网公布为准",
    "updated": "2026-09-01",
}


def make_item(**overrides: Any) -> dict[str, Any]:
    item = copy.deepcopy(GOOD_ITEM)
    item.update(overrides)
    return {k: v for k, v in item.items() if v is not None}


@pytest.fixture
def item() -> Callable[..., dict[str, Any]]:
    """Factory for a complete, valid YAML item; keyword arguments override fields (None removes one)."""
    return make_item


@pytest.fixture
def write_yaml() -> Callable[[Path, list[dict[str, Any]]], Path]:
    def write(path: Path, items: list[dict[str, Any]]) -> Path:
        path.write_text(
            yaml.safe_dump({"items": items}, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        return path

    return write


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    upgrade_to_head(url)
    return url


@pytest.fixture
def session_factory(db_url: str) -> Iterator[sessionmaker]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def session(session_factory: sessionmaker) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def catalogue_path() -> Path:
    path = Path(os.environ.get("KNOWLEDGE_CATALOGUE") or DEFAULT_CATALOGUE)
    assert path.is_file(), f"Guang'an catalogue not found at {path}; set KNOWLEDGE_CATALOGUE"
    return path
