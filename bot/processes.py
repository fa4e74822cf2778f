"""Starting the action server and the Rasa server as child processes, for tests and benchmarks.

`make run` uses scripts/serve.sh; this module exists so the end-to-end test and the
latency benchmark start exactly the same servers on free ports and wait until they answer.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.inprocess_actions import ACTIONS_MODULE_KEY
from storage.settings import PROJECT_ROOT

RASA = str(Path(sys.executable).with_name("rasa"))
RASA_SERVER = [sys.executable, "-m", "bot.server"]  # rasa with the action-response validation fix


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}; log: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s; log: {log.read_text()[-3000:]}")


@dataclass(frozen=True)
class RunningAssistant:
    rasa_url: str
    rasa_pid: int
    actions_pid: int | None
    tracker_db: Path

    @property
    def webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"


def write_endpoints(
    path: Path, tracker_db: Path, actions_port: int | None, tracker_store: str, *, in_process: bool
) -> None:
    lines = []
    if in_process:
        lines += [
            "action_endpoint:",
            f"  {ACTIONS_MODULE_KEY}: bot.actions",
            "  enable_selective_domain: true",
        ]
    elif actions_port is not None:
        lines += [
            "action_endpoint:",
            f'  url: "http://127.0.0.1:{actions_port}/webhook"',
            "  enable_selective_domain: true",
        ]
    lines += [
        "tracker_store:",
        f"  type: {tracker_store}",
        "  dialect: sqlite",
        f"  db: {tracker_db}",
        "lock_store:",
        "  type: in_memory",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def running_assistant(
    model: Path,
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    with_actions: bool = True,
    action_server: bool = False,
    tracker_store: str = "bot.tracker_store.BoundedSQLTrackerStore",
    api_token: str | None = None,
    timeout: float = 240,
) -> Iterator[RunningAssistant]:
    """Start the servers, wait until they answer, stop them on exit.

    Custom actions run inside the Rasa server unless ``action_server`` asks for Rasa's
    separate action server over HTTP.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, **(env or {})}
    rasa_port = free_port()
    actions_port = free_port() if with_actions and action_server else None
    tracker_db = workdir / "tracker.db"
    endpoints = workdir / "endpoints.yml"
    write_endpoints(
        endpoints, tracker_db, actions_port, tracker_store, in_process=with_actions and not action_server
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        actions = None
        if actions_port is not None:
            actions_log = workdir / "actions.log"
            actions = subprocess.Popen(
                [RASA, "run", "actions", "--actions", "bot.actions", "--port", str(actions_port)],
                cwd=PROJECT_ROOT,
                env={**environment, "SANIC_HOST": "127.0.0.1"},  # loopback only, like Rasa itself
                stdout=actions_log.open("wb"),
                stderr=subprocess.STDOUT,
            )
            processes.append(actions)
        rasa_log = workdir / "rasa.log"
        rasa = subprocess.Popen(
            [
                *RASA_SERVER,
                "run",
                "--model",
                str(model),
                "--endpoints",
                str(endpoints),
                "--credentials",
                str(PROJECT_ROOT / "credentials.yml"),
                "--port",
                str(rasa_port),
                "--interface",
                "127.0.0.1",
                *(
                    ["--enable-api", f"--auth-token={api_token}"] if api_token else []
                ),  # a token may start with "-"
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=rasa_log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        processes.append(rasa)
        if actions is not None:
            wait_until_up(
                f"http://127.0.0.1:{actions_port}/health", actions, timeout, workdir / "actions.log"
            )
        rasa_url = f"http://127.0.0.1:{rasa_port}"
        wait_until_up(f"{rasa_url}/webhooks/rest/", rasa, timeout, rasa_log)
        yield RunningAssistant(rasa_url, rasa.pid, actions.pid if actions else None, tracker_db)
    finally:
        for process in reversed(processes):
            _stop(process)
