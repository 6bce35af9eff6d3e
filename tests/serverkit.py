"""Running the real server for tests: uvicorn in a child process on a free loopback port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from chatlens.app import service
from chatlens.app.db import app_db_url, open_app_db
from tests.waiting import wait_until

PASSWORD = "correct horse battery"

CHROMIUM = "/usr/bin/chromium"  # Debian's Chromium (apt install chromium), driven by Playwright
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Seats:
    """The people and keys of a test deployment, by label."""

    keys: dict[str, str]
    emails: dict[str, str]


def provision(store: Path, spec: dict[str, dict]) -> Seats:
    """Create workspaces, seats and keys: {workspace: {"access": ..., "users": {label:
    (role, agent_id, team)}, "keys": {label: scope}}}."""
    factory = open_app_db(app_db_url(store))
    keys, emails = {}, {}
    with factory() as db:
        service.ensure_default_workspace(db, store)
        for name, ws in spec.items():
            if name != service.DEFAULT_WORKSPACE:
                service.create_workspace(db, name, store, ws.get("access", "own"))
            for label, (role, agent_id, team) in ws.get("users", {}).items():
                email = f"{label}@{name}.example.com"
                service.create_user(db, email, PASSWORD, name, role, agent_id, team)
                emails[label] = email
            for label, scope in ws.get("keys", {}).items():
                keys[label] = service.create_key(db, name, scope, label).key
    factory.kw["bind"].dispose()
    return Seats(keys, emails)


RUNNING: set[LiveServer] = set()
"""Servers started and not yet stopped: tests/conftest.py stops any left at the session's
end (a fixture that failed after starting one), so no child outlives the run."""


class LiveServer:
    """`chatlens serve` as a child process; `kill()` is SIGKILL (a crash), `stop()` a clean
    shutdown."""

    def __init__(self, store: Path, refresh_seconds: float = 0.2, args: tuple[str, ...] = ()):
        self.store = store
        self.args = args
        self.refresh_seconds = refresh_seconds
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = store.with_suffix(".server.log")
        self.entry: tuple[str, ...] = ("-m", "chatlens.cli")
        """How Python runs the CLI (a test may run it through `-c CODE ARGS` instead)."""

    def start(self, timeout: float = 90.0) -> LiveServer:
        command = [
            sys.executable,
            *self.entry,
            "serve",
            "--db",
            str(self.store),
            "--port",
            str(self.port),
            "--refresh-seconds",
            str(self.refresh_seconds),
            *self.args,
        ]
        env = {**os.environ, "PYTHONWARNINGS": "ignore"}
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, env=env)
        RUNNING.add(self)
        process = self.process

        def healthy() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                return httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(healthy, timeout, interval=0.1)
        except AssertionError:
            self.kill()  # never left running for a later test to trip over
            raise RuntimeError(f"server did not start: {self.log.read_text()[-2000:]}") from None
        return self

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        RUNNING.discard(self)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)  # a clean stop drains the journal
            except subprocess.TimeoutExpired:
                self.kill()
        RUNNING.discard(self)

    def client(self, key: str | None = None, source: str | None = None) -> httpx.Client:
        """A client; `source`: the loopback address it connects from (e.g. 127.0.0.5). Its
        answers may take two minutes: an erasure rewrites the store, which on a CI machine
        loaded by the suite's other tests took over 30 s (a hung test still ends at the
        suite's timeout)."""
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        transport = httpx.HTTPTransport(local_address=source) if source else None
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, transport=transport)

    def login(self, email: str, password: str = PASSWORD) -> httpx.Client:
        """A client signed in as `email`, sending its CSRF token on every request."""
        client = self.client()
        answer = client.post("/api/v1/auth/login", json={"email": email, "password": password})
        answer.raise_for_status()
        client.headers["x-csrf-token"] = answer.json()["csrf_token"]
        return client


def numbered_chat(
    conversation: str, size: int, *, day: str, channel: str, text: str
) -> list[dict[str, Any]]:
    """One conversation of `size` events with explicit ids (`<conversation>-<n>`), a second
    apart from the hour `day` names ("2026-11-03T09"): a start, then customer messages. For
    tests that must know exactly which events were acknowledged (retries, crashes)."""
    hour = day[11:13]
    return [
        {
            "event_id": f"{conversation}-{n}",
            "type": "message" if n else "conversation_started",
            "ts": f"{day[:10]}T{hour}:{n // 60 % 60:02d}:{n % 60:02d}Z",
            "conversation_id": conversation,
            **({"sender": "customer", "text": f"{text} {n}"} if n else {"channel": channel}),
        }
        for n in range(size)
    ]
