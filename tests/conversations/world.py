"""The demo registry in a throwaway SQLite database, and the people the conversation tests act as.

Migrating and importing the registry once per run, then copying the file per
test, keeps each test on a fresh, real database in milliseconds.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from appeals import registry
from appeals.models import Assignment, Butler, Department, Enterprise
from conversations.views import Actor
from storage.engine import make_engine, make_session_factory
from storage.migrate import upgrade_to_head
from storage.transaction import transaction

REPO_ROOT = Path(__file__).resolve().parents[2]
DEMO = REPO_ROOT / "appeals" / "demo"


def import_demo_registry(url: str) -> None:
    """Migrate to head and import the demo departments and registry (as ``build_demo_world`` does)."""
    upgrade_to_head(url)
    engine = make_engine(url)
    with transaction(make_session_factory(engine)) as session:
        registry.import_departments(session, DEMO / "departments_demo.csv")
        registry.import_registry(session, DEMO / "registry_demo.csv")
    engine.dispose()


def build_registry_template(path: Path) -> Path:
    """A SQLite file with the demo registry, copied for each test."""
    import_demo_registry(f"sqlite:///{path}")
    return path


def copy_database(template: Path, target: Path) -> str:
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@dataclass(frozen=True)
class People:
    """Ids from the demo registry, so any session can use them."""

    hejie: Actor  # butler of 腾飞 (市商务局)
    liu: Actor  # butler of 东升 (市工信局)
    wu: Actor  # 吴晓东, backup butler of 腾飞 (市工信局)
    admin: Actor
    commerce_head: Actor  # head of 市商务局, 何杰's department
    east_head: Actor  # head of 城东区营商环境办, another department
    tengfei_id: int  # 示例市腾飞生物医药有限公司, assigned to 何杰
    dongsheng_id: int  # 示例市东升制药有限公司, assigned to 刘晓东
    commerce_id: int
    industry_id: int
    east_id: int


def _butler(session: Session, phone: str) -> Actor:
    butler = session.execute(select(Butler).where(Butler.phone == phone)).scalar_one()
    return Actor(butler_id=butler.id, name=butler.name, role="butler", department_id=butler.department_id)


def _department(session: Session, name: str) -> int:
    return int(session.execute(select(Department.id).where(Department.name == name)).scalar_one())


def _enterprise(session: Session, name: str) -> int:
    return int(session.execute(select(Enterprise.id).where(Enterprise.name == name)).scalar_one())


def load_people(factory: sessionmaker) -> People:
    with factory() as session:
        hejie = _butler(session, "13800000016")
        liu = _butler(session, "13800000013")
        wu = _butler(session, "13800000031")
        commerce = _department(session, "市商务局")
        industry = _department(session, "市工信局")
        east = _department(session, "城东区营商环境办")
        tengfei = _enterprise(session, "示例市腾飞生物医药有限公司")
        dongsheng = _enterprise(session, "示例市东升制药有限公司")
        # the facts the scope tests rely on, checked rather than assumed
        tengfei_assignment = session.execute(
            select(Assignment).where(Assignment.enterprise_id == tengfei)
        ).scalar_one()
        assert (tengfei_assignment.butler_id, tengfei_assignment.backup_butler_id) == (
            hejie.butler_id,
            wu.butler_id,
        )
        assert (
            hejie.department_id == commerce and liu.department_id == industry and wu.department_id == industry
        )
        return People(
            hejie=hejie,
            liu=liu,
            wu=wu,
            admin=Actor(butler_id=None, name="管理员", role="admin"),
            commerce_head=Actor(butler_id=None, name="杨文博", role="head", department_id=commerce),
            east_head=Actor(butler_id=None, name="郭娜", role="head", department_id=east),
            tengfei_id=tengfei,
            dongsheng_id=dongsheng,
            commerce_id=commerce,
            industry_id=industry,
            east_id=east,
        )
