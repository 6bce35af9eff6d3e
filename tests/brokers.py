"""Real servers for tests, started and stopped by them on loopback: PostgreSQL (Debian's
`postgresql`: the app state on Postgres, Rasa's SQL event broker) and RabbitMQ (Debian's
`rabbitmq-server`: Rasa's Pika event broker), each with its own data directory and ports.
`.ci/run` installs both."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.serverkit import free_port

RABBITMQ = Path("/usr/lib/rabbitmq/bin")


def _as_postgres(command: list[str]) -> list[str]:
    """Postgres refuses to run as root: as root, run it as the `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway Postgres cluster on a Unix socket and a free port; yields the SQLAlchemy
    URL of a server without a database (`{database}` to fill in; tests create their own)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    assert found, "PostgreSQL is not installed: apt install postgresql (.ci/run does)"
    bin_dir = Path(found[-1]).parent
    home = Path(tempfile.mkdtemp(prefix="chatlens-pg-"))
    home.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    data, log = home / "data", home / "log"
    port = free_port()
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    options = f"-k {home} -p {port} -c listen_addresses=''"
    start = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w"]
    subprocess.run(_as_postgres([*start, "start"]), check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@/{{database}}?host={home}&port={port}"
    finally:
        stop = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]
        subprocess.run(_as_postgres(stop), capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def create_database(server_url: str, name: str) -> str:
    """A fresh database `name` on the server (dropped first if it exists); its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(server_url.format(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server_url.format(database=name)


def libpq_url(sqlalchemy_url: str) -> str:
    """The same URL as libpq (psycopg, Rasa's endpoints.yml) writes it."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


@contextmanager
def rabbitmq(password: str = "rasa-pw-3Zk9", timeout: float = 120.0) -> Iterator[str]:
    """A RabbitMQ node of its own (data, logs, Erlang cookie in a temporary directory; AMQP
    and distribution ports free ones on 127.0.0.1; no plugins); yields its AMQP URL for a
    user `rasa` with `password` and every right on the default vhost. Stopped, and its
    directory removed, after."""
    server = RABBITMQ / "rabbitmq-server"
    assert server.exists(), "RabbitMQ is not installed: apt install rabbitmq-server (.ci/run does)"
    home = Path(tempfile.mkdtemp(prefix="chatlens-rabbit-"))
    port, dist, epmd = free_port(), free_port(), free_port()
    node = f"chatlens{port}@localhost"
    (home / "enabled_plugins").write_text("[].\n")
    (home / "rabbitmq.conf").write_text("loopback_users.guest = true\n")
    env = {
        **os.environ,
        "HOME": str(home),
        "RABBITMQ_NODENAME": node,
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist),
        "RABBITMQ_MNESIA_BASE": str(home / "mnesia"),
        "RABBITMQ_LOG_BASE": str(home / "log"),
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(home / "enabled_plugins"),
        "RABBITMQ_CONFIG_FILE": str(home / "rabbitmq"),
        "RABBITMQ_CONF_ENV_FILE": str(home / "rabbitmq-env.conf"),
        "RABBITMQ_PID_FILE": str(home / "rabbit.pid"),
        # an Erlang port mapper of its own, stopped after (not the machine's, on 4369)
        "ERL_EPMD_PORT": str(epmd),
    }
    log = (home / "server.out").open("wb")
    process = subprocess.Popen(
        [str(server)], env=env, stdout=log, stderr=log, start_new_session=True
    )
    ctl = [str(RABBITMQ / "rabbitmqctl"), "-n", node]
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert process.poll() is None, (home / "server.out").read_text()[-3000:]
            waited = subprocess.run(
                [*ctl, "await_startup", "--timeout", "10"], env=env, capture_output=True
            )
            if waited.returncode == 0:
                break
            assert time.monotonic() < deadline, (
                "RabbitMQ did not start: " + (home / "server.out").read_text()[-3000:]
            )
        for command in (
            ["add_user", "rasa", password],
            ["set_permissions", "-p", "/", "rasa", ".*", ".*", ".*"],
        ):
            subprocess.run([*ctl, *command], env=env, check=True, capture_output=True)
        yield f"amqp://rasa:{password}@127.0.0.1:{port}/%2F"
    finally:
        subprocess.run([*ctl, "stop"], env=env, capture_output=True, timeout=120)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
        log.close()
        subprocess.run(["epmd", "-port", str(epmd), "-kill"], env=env, capture_output=True)
        shutil.rmtree(home, ignore_errors=True)
