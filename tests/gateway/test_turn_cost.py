"""What one chat turn costs the gateway's database, and that the cheap path loses nothing.

The gateway hop (issue 7 §7) is mostly the turn's database work: these tests pin the number
of SQL statements and commits of an ordinary bot turn, so a change that adds round trips
shows up here before it shows up in the benchmark, and check what makes the path cheap
(kept connections, ``synchronous=NORMAL``, the loop's own connection) keeps its promises:
a repeated message id is processed once, a busy database stalls no other chat, every frame
is stored before it is sent, and the writes reach the database file.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvloop
from aiohttp import web
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

import gateway.app
from gateway.db import _LOOP_CONNECTIONS, LOOP_SESSIONS_KEY
from gateway.settings import GatewaySettings, SettingsError
from gateway.typedefs import ENGINE_KEY
from storage.engine import make_engine
from tests.gateway.conftest import Clock, Gateway, frames_until, next_frame, quiet, say, start_gateway
from tests.gateway.fake_rasa import FakeRasa

QUESTION = "食品经营许可证要什么材料"
GUIDE: list[dict[str, Any]] = [
    {
        "text": "【食品经营许可证核发】申请材料\n1. 食品经营许可申请书",
        "buttons": [{"title": "办理时限", "payload": "/ask_time"}],
    },
    {"custom": {"kind": "guide", "guide_id": "DEMO-013", "aspect": "materials", "materials": ["申请书"]}},
]

# One ordinary bot turn, as SQLite runs it (whether SQLAlchemy or conversations.rawsql issues it):
# UPDATE … RETURNING (take the number, refuse a known id, read the number and the state) + INSERT
# for the enterprise's message; the same two for the assistant's reply (with the unanswered
# streak). It was 16 statements before the gateway-hop work, then 6 (an UPDATE and a SELECT where
# the RETURNING is now); if a change needs more, say why here.
STATEMENTS_PER_TURN = 4
COMMITS_PER_TURN = 2


@dataclass
class Counter:
    """SQL statements, commits and new DBAPI connections on the gateway's own engines.

    Statements are what SQLite itself ran (``sqlite3``'s trace callback), so the chat path's
    statements count the same whether SQLAlchemy or ``conversations.rawsql`` issued them;
    the implicit ``BEGIN`` is not counted, a ``COMMIT`` counts as a commit.
    """

    statements: list[str] = field(default_factory=list)
    commits: int = 0
    connections: int = 0

    def on_sql(self, statement: str) -> None:
        words = statement.split()[:3]
        if not words or words[0].upper() in ("BEGIN", "ROLLBACK"):
            return
        if words[0].upper() == "COMMIT":
            self.commits += 1
        else:
            self.statements.append(" ".join(words))

    def trace(self, dbapi_connection: Any, *_: Any) -> None:
        dbapi_connection.set_trace_callback(self.on_sql)

    def on_connect(self, _dbapi: Any, _record: Any) -> None:
        self.connections += 1


def untrace(dbapi_connection: Any, *_: Any) -> None:
    dbapi_connection.set_trace_callback(None)


def gateway_engines(gw: Gateway) -> list[Engine]:
    engines = [gw.app[ENGINE_KEY]]
    loop_sessions = gw.app.get(LOOP_SESSIONS_KEY)
    if loop_sessions is not None:
        engines.append(loop_sessions.kw["bind"])
    return engines


@contextmanager
def counting(engines: list[Engine]) -> Iterator[Counter]:
    """Trace every connection checked out meanwhile, and the loop's kept one (checked out for good)."""
    counter = Counter()
    hooks = [("checkout", counter.trace), ("checkin", untrace), ("connect", counter.on_connect)]
    kept = [c.connection.dbapi_connection for e, c in _LOOP_CONNECTIONS.items() if e in engines]
    for engine in engines:
        for name, hook in hooks:
            event.listen(engine, name, hook)
    for dbapi_connection in kept:
        counter.trace(dbapi_connection)
    try:
        yield counter
    finally:
        for dbapi_connection in kept:
            untrace(dbapi_connection)
        for engine in engines:
            for name, hook in hooks:
                event.remove(engine, name, hook)


@pytest.fixture
async def gw(world_url: str, clock: Clock) -> AsyncIterator[Gateway]:
    """The gateway with its outbox pump idle: its poll would be counted as the turn's statements."""
    async with start_gateway(world_url, FakeRasa(), clock, notice_poll_seconds=3600.0) as gateway:
        yield gateway


async def _warm_socket(gw: Gateway) -> Any:
    """A conversation that has had one turn already (the first turn of a process warms caches)."""
    gw.fake.script[QUESTION] = GUIDE
    token, _ = await gw.open_session()
    ws = await gw.connect(token)
    await say(ws, "warm-up", QUESTION)
    return ws


async def test_an_ordinary_bot_turn_costs_four_statements_and_two_commits(gw: Gateway) -> None:
    ws = await _warm_socket(gw)

    with counting(gateway_engines(gw)) as counter:
        frames = await say(ws, "m1", QUESTION)

    assert [(f["type"], f.get("from")) for f in frames] == [
        ("ack", None),
        ("message", "enterprise"),
        ("message", "bot"),
    ]
    assert frames[2]["custom"]["kind"] == "guide" and frames[2]["buttons"][0]["title"] == "办理时限"
    assert len(counter.statements) == STATEMENTS_PER_TURN, counter.statements
    assert [s.split()[0] for s in counter.statements] == ["UPDATE", "INSERT"] * 2
    assert counter.commits == COMMITS_PER_TURN
    assert counter.connections == 0  # connections are kept, not opened per message


async def test_on_full_durability_the_turn_runs_on_threads_with_the_same_statements(
    world_url: str, clock: Clock
) -> None:
    async with start_gateway(
        world_url, FakeRasa(), clock, sqlite_synchronous="FULL", notice_poll_seconds=3600.0
    ) as gw:
        assert gw.app.get(LOOP_SESSIONS_KEY) is None  # a commit syncs the disk: never on the loop
        ws = await _warm_socket(gw)
        with counting(gateway_engines(gw)) as counter:
            frames = await say(ws, "m1", QUESTION)
        assert [f.get("seq") for f in frames] == [3, 3, 4]
        assert len(counter.statements) == STATEMENTS_PER_TURN and counter.commits == COMMITS_PER_TURN


async def test_the_loop_path_stores_exactly_what_the_orm_path_stores(
    world_template: Path, tmp_path: Path, clock: Clock
) -> None:
    """The loop's statements bind their values themselves (``conversations.rawsql``): same rows, byte for byte."""
    rows = {}
    for synchronous in ("NORMAL", "FULL"):  # the loop's Core connection; an ORM session on a thread
        path = tmp_path / f"{synchronous}.db"
        shutil.copy(world_template, path)
        async with start_gateway(
            f"sqlite:///{path}", FakeRasa(), clock, sqlite_synchronous=synchronous, notice_poll_seconds=3600.0
        ) as gw:
            assert (gw.app.get(LOOP_SESSIONS_KEY) is None) == (synchronous == "FULL")
            ws = await _warm_socket(gw)
            await say(ws, "m1", QUESTION)
        with sqlite3.connect(path) as database:
            rows[synchronous] = database.execute(
                "SELECT seq, role, text, custom, buttons, client_message_id, author, created_at,"
                " typeof(created_at), typeof(custom) FROM conversation_message ORDER BY id"
            ).fetchall()
    assert rows["NORMAL"] == rows["FULL"]
    assert [(r[0], r[1], r[5]) for r in rows["NORMAL"]] == [
        (1, "enterprise", "warm-up"),
        (2, "bot", None),
        (3, "enterprise", "m1"),
        (4, "bot", None),
    ]
    assert '"kind": "guide"' in rows["NORMAL"][3][3] and rows["NORMAL"][3][9] == "text"


async def test_a_repeated_message_id_takes_no_number_and_never_reaches_the_assistant(gw: Gateway) -> None:
    ws = await _warm_socket(gw)
    await say(ws, "m1", QUESTION)
    webhook_calls = len(gw.fake.messages())

    with counting(gateway_engines(gw)) as counter:
        again = await say(ws, "m1", QUESTION)

    assert again == [{"type": "ack", "id": "m1", "seq": 3, "duplicate": True}]
    assert len(gw.fake.messages()) == webhook_calls
    # the refused UPDATE and the look-up of the stored message; nothing is written
    assert [s.split()[0] for s in counter.statements] == ["UPDATE", "SELECT"]
    following = await say(ws, "m2", QUESTION)
    assert [f.get("seq") for f in following] == [5, 5, 6]  # no number was used up by the repeat


async def test_a_frame_received_live_is_the_frame_a_reconnect_gets(gw: Gateway) -> None:
    gw.fake.script[QUESTION] = GUIDE
    token, _ = await gw.open_session()
    ws = await gw.connect(token)
    live = [f for f in await say(ws, "m1", QUESTION) if f["type"] == "message"]

    again = await gw.connect(token)
    await again.send_json({"type": "resume", "after_seq": 0})
    resumed = await quiet(again)
    polled = await (
        await gw.client.get("/api/chat/messages?after_seq=0", headers={"Authorization": f"Bearer {token}"})
    ).json()

    assert resumed == live
    assert polled["frames"] == live


async def test_a_busy_database_stalls_no_other_chat_and_the_message_is_stored_once(
    gw: Gateway, world_url: str
) -> None:
    """Another writer holds the database: the turn waits on a thread, the loop keeps serving."""
    ws = await _warm_socket(gw)
    token, _ = await gw.open_session()
    other = await gw.connect(token)
    blocker = sqlite3.connect(world_url.split("///", 1)[1], timeout=0, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, as a long transaction elsewhere holds it
        started = time.perf_counter()
        await ws.send_json({"type": "message", "id": "m1", "text": QUESTION})
        await asyncio.sleep(0.2)  # the gateway meets the lock now
        await other.send_json({"type": "ping"})
        assert await next_frame(other, timeout=5) == {"type": "pong"}
        assert time.perf_counter() - started < 1.5  # the other chat was served while the turn waited
        blocker.execute("ROLLBACK")
        frames = await frames_until(ws, lambda f: f.get("from") == "bot")
    finally:
        blocker.close()

    assert frames[0] == {"type": "ack", "id": "m1", "seq": 3, "duplicate": False}
    assert [(f["from"], f["seq"]) for f in frames[1:]] == [("enterprise", 3), ("bot", 4)]
    with gw.factory() as session:
        stored = session.execute(
            text("SELECT count(*) FROM conversation_message WHERE client_message_id = 'm1'")
        ).scalar_one()
    assert stored == 1
    # the loop's connection was dropped after the failed attempt; its successor is kept and serves the next turn
    with counting(gateway_engines(gw)) as counter:
        following = await say(ws, "m2", QUESTION)
    assert [f.get("seq") for f in following] == [5, 5, 6]
    assert counter.connections == 0 and len(counter.statements) == STATEMENTS_PER_TURN


async def test_the_turns_reach_the_database_file_not_only_the_log(
    world_url: str, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop's connection never checkpoints; the background task copies the log into the file."""
    monkeypatch.setattr(gateway.app, "CHECKPOINT_SECONDS", 0.05)
    async with start_gateway(world_url, FakeRasa(), clock) as gw:
        ws = await _warm_socket(gw)
        await say(ws, "m1", "营业执照怎么办")
        await asyncio.sleep(0.5)
        copy = tmp_path / "file-only.db"
        shutil.copy(world_url.split("///", 1)[1], copy)  # the database file without its -wal
        with sqlite3.connect(copy) as database:
            texts = [row[0] for row in database.execute("SELECT text FROM conversation_message")]
    assert "营业执照怎么办" in texts and "答复：营业执照怎么办" in texts


async def test_the_gateways_connections_run_at_the_configured_durability(gw: Gateway) -> None:
    main_engine, loop_engine = gateway_engines(gw)
    with main_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with loop_engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 0  # fail, never wait
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0


def test_every_other_engine_keeps_full_durability(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/other.db")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        engine.dispose()
    with pytest.raises(ValueError, match="synchronous"):
        make_engine(f"sqlite:///{tmp_path}/other.db", synchronous="OFF")


def test_the_durability_setting() -> None:
    assert GatewaySettings.from_env({"DATABASE_URL": "sqlite:///x.db"}).sqlite_synchronous == "NORMAL"
    full = GatewaySettings.from_env(
        {"DATABASE_URL": "sqlite:///x.db", "GATEWAY_SQLITE_SYNCHRONOUS": " full "}
    )
    assert full.sqlite_synchronous == "FULL"
    with pytest.raises(SettingsError, match="GATEWAY_SQLITE_SYNCHRONOUS.*NORMAL 或 FULL"):
        GatewaySettings.from_env({"DATABASE_URL": "sqlite:///x.db", "GATEWAY_SQLITE_SYNCHRONOUS": "OFF"})


# -- the request to Rasa: one write, on a kept-alive connection -------------------------------


@dataclass
class WatchedRasa(FakeRasa):
    """The fake Rasa that also notes the TCP connection of every webhook call, and can answer chunked."""

    connections: list[Any] = field(default_factory=list)
    chunked: bool = False

    def app(self) -> web.Application:
        app = super().app()
        app.middlewares.append(self._watch)
        return app

    @web.middleware
    async def _watch(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.endswith("/webhook"):
            self.connections.append(request.transport)
        response = await handler(request)
        if not self.chunked or not isinstance(response, web.Response):
            return response
        streamed = web.StreamResponse(status=response.status, headers={"Content-Type": "application/json"})
        streamed.enable_chunked_encoding()
        await streamed.prepare(request)
        body = response.body if isinstance(response.body, bytes) else b""
        for start in range(0, len(body), 7):  # many small chunks, as a streaming server might send them
            await streamed.write(body[start : start + 7])
        await streamed.write_eof()
        return streamed


async def test_turns_reuse_one_connection_to_rasa_and_survive_rasa_closing_it(
    world_url: str, clock: Clock
) -> None:
    fake = WatchedRasa()
    async with start_gateway(world_url, fake, clock, notice_poll_seconds=3600.0) as gw:
        ws = await _warm_socket(gw)
        await say(ws, "m1", QUESTION)
        await say(ws, "m2", QUESTION)
        assert len(fake.connections) == 3 and len(set(map(id, fake.connections))) == 1

        fake.connections[-1].close()  # Rasa drops the idle connection (a restart, its keep-alive timeout)
        await asyncio.sleep(0.05)
        frames = await say(ws, "m3", QUESTION)

    assert [(f["type"], f.get("from")) for f in frames] == [
        ("ack", None),
        ("message", "enterprise"),
        ("message", "bot"),
    ]
    assert frames[2]["custom"]["kind"] == "guide"
    assert len(fake.messages()) == 4  # each message reached Rasa once: nothing was retried
    assert fake.connections[-1] is not fake.connections[0]


async def test_a_chunked_answer_from_rasa_is_read_whole(world_url: str, clock: Clock) -> None:
    fake = WatchedRasa(chunked=True)
    async with start_gateway(world_url, fake, clock, notice_poll_seconds=3600.0) as gw:
        ws = await _warm_socket(gw)
        frames = await say(ws, "m1", QUESTION)
        again = await say(ws, "m2", "营业执照怎么办")

    assert frames[2]["text"] == GUIDE[0]["text"] and frames[2]["custom"]["materials"] == ["申请书"]
    assert again[2]["text"] == "答复：营业执照怎么办"
    assert len(set(map(id, fake.connections))) == 1  # a chunked answer leaves the connection reusable


def test_the_one_write_path_to_rasa_works_on_uvloop(world_url: str, clock: Clock) -> None:
    """A process that imports Rasa's Sanic runs on uvloop, whose transports are no asyncio.Transport."""

    async def two_turns() -> tuple[list[dict[str, Any]], list[Any]]:
        fake = WatchedRasa()
        async with start_gateway(world_url, fake, clock, notice_poll_seconds=3600.0) as gw:
            ws = await _warm_socket(gw)
            return await say(ws, "m1", QUESTION), fake.connections

    loop = uvloop.new_event_loop()
    try:
        frames, connections = loop.run_until_complete(two_turns())
    finally:
        loop.close()
    assert [(f["type"], f.get("from")) for f in frames] == [
        ("ack", None),
        ("message", "enterprise"),
        ("message", "bot"),
    ]
    assert frames[2]["custom"]["kind"] == "guide"
    assert len(set(map(id, connections))) == 1
