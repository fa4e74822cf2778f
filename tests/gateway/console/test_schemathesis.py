"""The console API against its own contract: ``scripts/schemathesis.sh`` on a real gateway process.

The gateway runs as ``make run`` starts it (``python -m gateway``), on a free port, in front of
a fake Rasa, on a seeded database with the console accounts, a ticket and a waiting
conversation. schemathesis then fuzzes every operation anonymously, as a logged-in butler,
and as that butler on his own ticket and conversation; any 5xx or response outside the
schema fails the test. If the schemathesis virtualenv cannot be made, the script fails
and so does this test.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from bot.processes import free_port
from gateway.console.openapi import build_openapi
from storage.settings import PROJECT_ROOT
from tests.conftest import build_demo_world
from tests.gateway.conftest import PASSWORD
from tests.gateway.console.conftest import seed_console_world
from tests.gateway.fake_rasa import FakeRasa
from tests.servers import running_gateway

SCRIPT = PROJECT_ROOT / "scripts" / "schemathesis.sh"


@contextmanager
def fake_rasa_server() -> Iterator[tuple[str, FakeRasa]]:
    """The fake Rasa on a loopback port, served from its own thread and event loop."""
    fake = FakeRasa()
    port = free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(fake.app())

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        loop.run_forever()

    thread = threading.Thread(target=serve, name="fake-rasa", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the fake Rasa did not start"
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", fake
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_schemathesis_finds_no_server_error_and_no_schema_violation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'butler.db'}"
    build_demo_world(url)
    seed = seed_console_world(url)
    with (
        fake_rasa_server() as (rasa_url, fake),
        running_gateway(
            url, rasa_url, tmp_path / "gateway", rasa_token=fake.token, identity_secret="schemathesis-secret"
        ) as gateway,
    ):
        env = {
            **os.environ,
            "CONSOLE_USERNAME": "hejie",
            "CONSOLE_PASSWORD": PASSWORD,
            "CONSOLE_TICKET": seed.ticket,
            "CONSOLE_CONVERSATION": str(seed.conversation_id),
            "SCHEMATHESIS_MAX_EXAMPLES": "15",
        }
        result = subprocess.run(
            ["bash", str(SCRIPT), gateway.url],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        log = gateway.log.read_text(errors="replace")
    output = result.stdout + result.stderr
    assert result.returncode == 0, (
        f"schemathesis failed:\n{output[-12000:]}\n--- gateway log ---\n{log[-4000:]}"
    )
    # all three runs happened and tested every operation they were given
    assert output.count("Test cases:") == 3, output[-4000:]
    operations = sum(len(item) for item in build_openapi()["paths"].values())
    assert (
        f"{operations} selected / {operations} total" in output
    )  # anonymous: every operation, log-in included
    # logged in: all but log-in and log-out
    assert output.count(f"{operations - 2} selected / {operations} total") == 2
    # the logged-in runs really were logged in: nothing there was refused as anonymous
    logged_in = output[output.index("logged-in run as hejie") :]
    assert "401 Unauthorized" not in logged_in, logged_in[-4000:]
    assert "gateway.unhandled" not in log
