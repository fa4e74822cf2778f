"""Databases and a small registry for the appeals tests.

``session_factory`` is a fresh, migrated SQLite file. ``db_factory`` runs the
same test on SQLite and on PostgreSQL (a throwaway database per test on the
server in ``DATABASE_URL_PG``, e.g. from ``scripts/postgres.sh var/pg``). When
that variable is unset the PostgreSQL runs are deselected and the summary says
so, unless ``REQUIRE_POSTGRES=1``, where they fail instead: CI must not pass
without them by accident.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from appeals import registry
from appeals.credit_code import make_credit_code
from appeals.models import Assignment, Butler, Department, Enterprise
from appeals.service import create_ticket
from appeals.settings import AppealsSettings, get_settings
from appeals.views import TicketCreate, TicketPublic
from appeals.workcalendar import DEFAULT_TZ
from storage.engine import make_engine, make_session_factory
from storage.migrate import upgrade_to_head
from storage.transaction import transaction
from tests.pg_databases import PG_ENV, throwaway_database

DEMO_REGISTRY = Path(__file__).resolve().parents[2] / "appeals" / "demo"

TZ = DEFAULT_TZ
# Monday 3 March 2025, 10:00 office time: a plain working day in a year chinese_calendar knows
NOW = datetime(2025, 3, 3, 10, 0, tzinfo=TZ)


def _postgres_missing() -> bool:
    return not os.environ.get(PG_ENV)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a PostgreSQL server, drop the postgresql runs visibly (or keep them to fail)."""
    if not _postgres_missing() or os.environ.get("REQUIRE_POSTGRES") == "1":
        return
    dropped = [
        item
        for item in items
        if getattr(item, "callspec", None) is not None and item.callspec.params.get("db_url") == "postgresql"  # type: ignore[attr-defined]
    ]
    if not dropped:
        return
    config.hook.pytest_deselected(items=dropped)
    items[:] = [item for item in items if item not in dropped]
    config.stash[_NOTE] = (
        f"appeals: {len(dropped)} PostgreSQL test runs did not run because {PG_ENV} is unset "
        "(start a server with scripts/postgres.sh var/pg; set REQUIRE_POSTGRES=1 to make this an error)"
    )


_NOTE = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Say which suite did not run, and why, where nobody can miss it."""
    note = config.stash.get(_NOTE, None)
    if note:
        terminalreporter.write_sep("=", "PostgreSQL suite not run", yellow=True)
        terminalreporter.write_line(note)


@pytest.fixture(autouse=True)
def _fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test sees default appeal settings, whatever the developer's environment says."""
    for name in list(os.environ):
        if name.startswith("APPEALS_"):
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; each test copies the file, which is much faster than migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_to_head(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Path:
    """The migrated schema with the demo departments and registry, imported once; tests copy it."""
    path = tmp_path_factory.mktemp("demo-registry") / "demo.db"
    shutil.copyfile(migrated_sqlite, path)
    engine = make_engine(f"sqlite:///{path}")
    with transaction(make_session_factory(engine)) as session:
        registry.import_departments(session, DEMO_REGISTRY / "departments_demo.csv")
        registry.import_registry(session, DEMO_REGISTRY / "registry_demo.csv")
    engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    target = tmp_path / "appeals.db"
    shutil.copyfile(migrated_sqlite, target)
    return f"sqlite:///{target}"


@pytest.fixture
def session_factory(sqlite_url: str) -> Iterator[sessionmaker]:
    engine = make_engine(sqlite_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database on the test server; per-test databases are copies of it."""
    with throwaway_database("butler_tpl") as (name, url):
        upgrade_to_head(url)
        yield name


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, sqlite_url: str) -> Iterator[str]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_url
        return
    with throwaway_database("butler_t", request.getfixturevalue("pg_template")) as (_, url):
        yield url


@pytest.fixture
def db_factory(db_url: str) -> Iterator[sessionmaker]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def settings() -> AppealsSettings:
    """Default 2110 settings; service calls never use the URL in it."""
    return AppealsSettings(database_url="sqlite://")


# -- a small registry built directly, so tests state exactly what routing sees ----------


_serial = iter(range(1, 10_000_000))


def credit_code(n: int | None = None) -> str:
    """A valid code, distinct per call."""
    return make_credit_code(f"91990102{(n if n is not None else next(_serial)):09d}")


@dataclass
class Registry:
    """Builder for departments, butlers and enterprises in one session."""

    session: Session

    def department(
        self, name: str, *, region: str = "", head: str = "", head_phone: str = "", duty: bool = False
    ) -> Department:
        dep = Department(name=name, region=region, head_name=head, head_phone=head_phone, is_duty_queue=duty)
        self.session.add(dep)
        self.session.flush()
        return dep

    def butler(
        self,
        name: str,
        phone: str,
        department: Department | None = None,
        *,
        active: bool = True,
        capacity: int = 30,
    ) -> Butler:
        butler = Butler(
            name=name,
            phone=phone,
            department_id=department.id if department else None,
            active=active,
            capacity=capacity,
        )
        self.session.add(butler)
        self.session.flush()
        return butler

    def enterprise(
        self,
        name: str,
        *,
        region: str = "城东区",
        industry: str = "制造业",
        butler: Butler | None = None,
        backup: Butler | None = None,
        code: str | None = None,
    ) -> Enterprise:
        enterprise = Enterprise(
            name=name,
            credit_code=code or credit_code(),
            region=region,
            grid="东湖街道第1网格",
            industry=industry,
        )
        self.session.add(enterprise)
        self.session.flush()
        if butler is not None or backup is not None:
            self.session.add(
                Assignment(
                    enterprise_id=enterprise.id,
                    butler_id=butler.id if butler else None,
                    backup_butler_id=backup.id if backup else None,
                )
            )
            self.session.flush()
        return enterprise


@dataclass
class World:
    """The standard small registry most tests use; ids, not ORM objects, so any session can use them."""

    zhang_phone: str
    enterprise_id: int
    enterprise_code: str
    other_enterprise_id: int
    department_name: str
    head_name: str


@pytest.fixture
def world(db_factory: sessionmaker) -> World:
    """One enterprise served by 张三 of 市工信局 (head 林磊), and a second enterprise."""
    with db_factory.begin() as session:
        reg = Registry(session)
        dep = reg.department("市工信局", head="林磊", head_phone="13700000002")
        reg.department("城东区营商环境办", region="城东区", head="郭娜", duty=True)
        zhang = reg.butler("张三", "13800000001", dep)
        mine = reg.enterprise("示例市宏达机械制造有限公司", butler=zhang)
        other = reg.enterprise("示例市恒信商贸有限公司", butler=zhang, industry="批发和零售业")
        return World(
            zhang_phone=zhang.phone,
            enterprise_id=mine.id,
            enterprise_code=mine.credit_code,
            other_enterprise_id=other.id,
            department_name=dep.name,
            head_name="林磊",
        )


@pytest.fixture
def file_ticket(
    db_factory: sessionmaker, world: World, settings: AppealsSettings
) -> Callable[..., TicketPublic]:
    """File a ticket for ``world``'s enterprise (or another) the way the chat does."""
    keys = itertools.count(1)

    def make(
        *,
        enterprise_id: int | None = None,
        key: str | None = None,
        now: datetime = NOW,
        category: str = "用地",
        description: str = "新厂房用地规划许可迟迟办不下来",
    ) -> TicketPublic:
        return create_ticket(
            db_factory,
            TicketCreate(
                idempotency_key=key or f"chat:u1:{next(keys)}",
                enterprise_id=enterprise_id or world.enterprise_id,
                category=category,
                description=description,
                contact_name="王经理",
                contact_phone="13900000001",
                channel="test",
                sender_id="u1",
            ),
            now=now,
            settings=settings,
        )

    return make


def _builder(factory: sessionmaker) -> Callable[[], AbstractContextManager[Registry]]:
    @contextmanager
    def make() -> Iterator[Registry]:
        with factory.begin() as session:
            yield Registry(session)

    return make


@pytest.fixture
def build(db_factory: sessionmaker) -> Callable[[], AbstractContextManager[Registry]]:
    """``with build() as reg:`` adds registry rows to ``db_factory``'s database in one transaction."""
    return _builder(db_factory)


@pytest.fixture
def build_plain(session_factory: sessionmaker) -> Callable[[], AbstractContextManager[Registry]]:
    """The same for the SQLite-only ``session_factory``."""
    return _builder(session_factory)
