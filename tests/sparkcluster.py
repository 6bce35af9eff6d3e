"""A real standalone Spark cluster and a Spark Connect server for the tests, started from
pyspark's own `bin/spark-class` and `bin/spark-submit` (nothing is downloaded): a master and
two workers (one core, 1 GiB each) as separate JVMs, and a Connect server whose driver runs
its jobs on that cluster. Everything binds to 127.0.0.1 (SPARK_LOCAL_IP; the web UIs on
loopback ports, the master's REST server off) and writes its logs and work folders under a
temporary folder. Each JVM runs in a process group of its own and is stopped with it (a
worker's executors too).

Fixtures (registered in tests/conftest.py):
- `spark_cluster` (session): the cluster, `.url` is `spark://127.0.0.1:PORT`.
- `cluster_spark` (module): a session of this process on that cluster (the driver here).
- `spark_connect` (module): a Connect server on the cluster, `.url` is `sc://127.0.0.1:PORT`.

A standalone application takes every free core, so two applications at once would wait on
each other: the in-process session and the Connect server are module fixtures of different
test modules, and pytest stops one module's fixtures before the next module's start.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from chatlens.lake.layout import EVENT_SCHEMA, EVENTS, Lake
from chatlens.store import Store
from tests.serverkit import free_port
from tests.waiting import wait_until

WORKERS = 2
START_TIMEOUT = 240.0  # JVMs on a loaded 2-core machine
STOP_TIMEOUT = 60.0

_RUNNING: set[subprocess.Popen[bytes]] = set()
"""JVMs started and not yet stopped: stopped at exit if a fixture failed half-way."""


def spark_home() -> Path:
    """pyspark's folder: its bin/, jars/ (spark-connect_*.jar among them) are a Spark."""
    import pyspark

    return Path(pyspark.__file__).parent


def _env(tmp: Path) -> dict[str, str]:
    conf = tmp / "conf"  # an empty conf folder: no spark-defaults.conf from the machine
    conf.mkdir(exist_ok=True)
    return {
        **os.environ,
        "SPARK_HOME": str(spark_home()),
        "SPARK_CONF_DIR": str(conf),
        "SPARK_LOG_DIR": str(tmp / "logs"),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_DAEMON_MEMORY": "256m",  # master and workers are small; executors get 1g
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
    }


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it when the test process dies, even by SIGKILL
    (Linux's PR_SET_PDEATHSIG; spark-class execs the JVM, which keeps it)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            args,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    _RUNNING.add(process)
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group (the JVM stops its children), SIGKILL if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)
        except ProcessLookupError:
            pass
    _RUNNING.discard(process)


@atexit.register
def _stop_all() -> None:
    for process in list(_RUNNING):
        _stop(process)


def _alive(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is not None:
        tail = log.read_text(errors="replace")[-3000:]
        raise AssertionError(f"{log.name}: the JVM exited ({process.returncode}):\n{tail}")


class SparkCluster:
    """A master and WORKERS workers, each a JVM started by spark-class, each offering
    `cores` cores and `memory` to executors (bench/bench_lake_facts.py gives them more)."""

    def __init__(self, tmp: Path, cores: int = 1, memory: str = "1g"):
        self.tmp = tmp
        self.cores = cores
        self.memory = memory
        self.env = _env(tmp)
        self.port = free_port()
        self.ui_port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self.processes: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self) -> SparkCluster:
        spark_class = str(spark_home() / "bin" / "spark-class")
        master = [spark_class, "org.apache.spark.deploy.master.Master"]
        master += ["--host", "127.0.0.1", "--port", str(self.port)]
        master += ["--webui-port", str(self.ui_port)]
        self._launch(master, "master")
        for n in range(1, WORKERS + 1):
            work = self.tmp / f"worker{n}"
            work.mkdir(exist_ok=True)
            worker = [spark_class, "org.apache.spark.deploy.worker.Worker", self.url]
            worker += ["--cores", str(self.cores), "--memory", self.memory]
            worker += ["--host", "127.0.0.1"]
            worker += ["--webui-port", str(free_port()), "--work-dir", str(work)]
            self._launch(worker, f"worker{n}")
        wait_until(
            lambda: self.alive_workers() == WORKERS,
            timeout=START_TIMEOUT,
            interval=0.5,
            what=f"{WORKERS} workers registered with the master",
        )
        return self

    def _launch(self, args: list[str], name: str) -> None:
        log = self.tmp / "logs" / f"{name}.out"
        self.processes.append((_start(args, self.env, log), log))

    def alive_workers(self) -> int:
        """The master's count of live workers (its web UI's JSON, on loopback)."""
        for process, log in self.processes:
            _alive(process, log)
        try:
            state = httpx.get(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return 0
        return int(state.get("aliveworkers", 0))

    def applications(self) -> list[dict[str, Any]]:
        """The applications the master runs now (name, cores...)."""
        state = httpx.get(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5).json()
        return list(state.get("activeapps", []))

    def stop(self) -> None:
        for process, _ in reversed(self.processes):
            _stop(process)


class ConnectServer:
    """A Spark Connect server (spark-submit of SparkConnectServer, the spark-connect jar in
    pyspark's jars/) whose driver runs its jobs on `master`."""

    def __init__(self, tmp: Path, master: str):
        self.tmp = tmp
        self.port = free_port()
        self.url = f"sc://127.0.0.1:{self.port}"
        self.log = tmp / "logs" / "connect.out"
        conf = {
            "spark.connect.grpc.binding.address": "127.0.0.1",
            "spark.connect.grpc.binding.port": str(self.port),
            "spark.ui.enabled": "false",
            "spark.driver.host": "127.0.0.1",
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.sql.session.timeZone": "UTC",
            "spark.pyspark.python": sys.executable,
        }
        self.args = [str(spark_home() / "bin" / "spark-submit"), "--master", master]
        self.args += ["--driver-memory", "1g"]  # Spark's minimum is 450 MiB
        self.args += ["--class", "org.apache.spark.sql.connect.service.SparkConnectServer"]
        self.args += ["--name", "chatlens-connect"]
        for key, value in conf.items():
            self.args += ["--conf", f"{key}={value}"]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> ConnectServer:
        env = _env(self.tmp)
        del env["SPARK_DAEMON_MEMORY"]  # spark-submit would size the driver with it
        self.process = _start(self.args, env, self.log)
        wait_until(self._ready, timeout=START_TIMEOUT, interval=0.5, what="Spark Connect")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        _alive(self.process, self.log)
        return "Spark Connect server started at" in self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)


@pytest.fixture(scope="session")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkCluster]:
    cluster = SparkCluster(tmp_path_factory.mktemp("spark-cluster"))
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def cluster_spark(spark_cluster: SparkCluster) -> Iterator[Any]:
    """A session of this process on the cluster (this process is the driver)."""
    from chatlens.store.spark import spark_session

    session = spark_session(master=spark_cluster.url)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def spark_connect(
    spark_cluster: SparkCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ConnectServer]:
    server = ConnectServer(tmp_path_factory.mktemp("spark-connect"), spark_cluster.url)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def connect_spark(spark_connect: ConnectServer) -> Iterator[Any]:
    """A Spark Connect client session on the test cluster's Connect server."""
    from chatlens.store.spark import spark_session

    session = spark_session(remote=spark_connect.url)
    yield session
    session.stop()


def write_lake(store: Store, url: str, batch_rows: int = 500, repeat_every: int = 0) -> Lake:
    """The store's events written to a lake as the layout says, the way a lake writer fills
    it: batches of `batch_rows` events in arrival order (`seq`), each batch one file per UTC
    date of `ts` (`ROOT/events/date=YYYY-MM-DD/part-<time>-<random>.parquet`). With
    `repeat_every`, every n-th event is written again in one more file at the end (a writer
    that re-sends): the lake's reader must count each once."""
    lake = Lake.open(url)
    table = store.con.sql(
        f"SELECT {', '.join(EVENT_SCHEMA.names)} FROM events ORDER BY seq"
    ).to_arrow_table()
    table = table.cast(EVENT_SCHEMA)
    for start in range(0, table.num_rows, batch_rows):
        _write_batch(lake, table.slice(start, batch_rows))
    if repeat_every:
        _write_batch(lake, table.take(list(range(0, table.num_rows, repeat_every))))
    return lake


def _write_batch(lake: Lake, batch: pa.Table) -> None:
    days = pc.cast(pc.cast(batch["ts"], pa.timestamp("us")), pa.date32())  # UTC dates
    for day in pc.unique(days).to_pylist():
        part = batch.filter(pc.equal(days, pa.scalar(day, pa.date32())))
        folder = lake.partition_dir(EVENTS, day)
        lake.fs.create_dir(folder, recursive=True)
        pq.write_table(part, f"{folder}/{lake.new_file_name()}", filesystem=lake.fs)
