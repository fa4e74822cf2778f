"""Start the real stack for end-to-end, browser and benchmark runs: Rasa (with its API) and the gateway.

The gateway runs as ``python -m gateway``, exactly what ``make run`` starts, on a free
port, configured only through its environment variables; each context manager waits
until the server answers and stops it (SIGINT, then kill) on exit.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.processes import RunningAssistant, free_port, running_assistant, wait_until_up
from storage.settings import PROJECT_ROOT


@dataclass(frozen=True)
class RunningGateway:
    """A gateway process: its base URL (``http://127.0.0.1:PORT``), pid and log file."""

    url: str
    pid: int
    log: Path

    @property
    def ws_url(self) -> str:
        """The base URL for WebSockets (``ws://…``)."""
        return "ws" + self.url[len("http") :]


@dataclass(frozen=True)
class RunningStack:
    """Rasa and the gateway in front of it, sharing a database and the identity secret."""

    assistant: RunningAssistant
    gateway: RunningGateway
    identity_secret: str
    rasa_token: str
    database_url: str


def _stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_gateway(
    database_url: str,
    rasa_url: str,
    workdir: Path,
    *,
    rasa_token: str,
    identity_secret: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
) -> Iterator[RunningGateway]:
    """``python -m gateway`` on a free loopback port; ``env`` adds or overrides variables."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GATEWAY_RASA_URL": rasa_url,
        "RASA_AUTH_TOKEN": rasa_token,
        "IDENTITY_SECRET": identity_secret,
        "GATEWAY_HOST": "127.0.0.1",
        "GATEWAY_PORT": str(port),
        **(env or {}),
    }
    log = workdir / "gateway.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway"],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(f"{url}/api/health", process, timeout, log)
        yield RunningGateway(url=url, pid=process.pid, log=log)
    finally:
        _stop(process)


@contextmanager
def running_stack(
    model: Path,
    workdir: Path,
    database_url: str,
    *,
    env: Mapping[str, str] | None = None,
    gateway_env: Mapping[str, str] | None = None,
    action_server: bool = False,
    timeout: float = 240,
) -> Iterator[RunningStack]:
    """Rasa with the trained ``model`` (API open by a fresh token) and the gateway in front of it.

    The database must already be migrated (``storage.migrate.upgrade_to_head``) and hold
    whatever the test needs (knowledge base, registry).
    """
    identity_secret = secrets.token_urlsafe(32)
    rasa_token = secrets.token_urlsafe(24)
    shared = {"DATABASE_URL": database_url, "IDENTITY_SECRET": identity_secret, **(env or {})}
    with (
        running_assistant(
            model,
            workdir / "rasa",
            env=shared,
            action_server=action_server,
            api_token=rasa_token,
            timeout=timeout,
        ) as assistant,
        running_gateway(
            database_url,
            assistant.rasa_url,
            workdir / "gateway",
            rasa_token=rasa_token,
            identity_secret=identity_secret,
            env={**shared, **(gateway_env or {})},
        ) as gateway,
    ):
        yield RunningStack(
            assistant=assistant,
            gateway=gateway,
            identity_secret=identity_secret,
            rasa_token=rasa_token,
            database_url=database_url,
        )
