"""docs/scaling.md's "Step by step", command by command, on real parts, over a local lake
folder and over an S3 lake (moto's server, tests/lake/conftest.py `lake_url`): two ingest servers
(`chatlens serve --lake URL`) take the events of 300 simulated conversations through their
API (a batch sent to both, as a client retrying against the other would), `chatlens lake
compact`, `chatlens spark facts` on the standalone cluster (tests/sparkcluster.py), then a
dashboard server (`chatlens serve --lake-facts URL`) answers every metric of the catalogue as
DuckDB does over the same events in one store."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from chatlens.ingest import import_file
from chatlens.lake.layout import Lake
from chatlens.metrics.catalogue import METRICS
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from tests.conftest import report
from tests.lake.test_serve_lake import raw_counts
from tests.serverkit import LiveServer, provision
from tests.spark_suite import wrong_cells
from tests.waiting import wait_until

pytestmark = [pytest.mark.spark, pytest.mark.server]

PERIOD = ("2026-10-19", "2026-11-01")
BATCH = 500


def chatlens(*args: str, timeout: float = 900) -> str:
    """The command as a user types it (`python -m chatlens.cli` is `chatlens`)."""
    done = subprocess.run(
        [sys.executable, "-m", "chatlens.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-4000:])
    return done.stdout


def test_ingest_servers_lake_spark_job_and_dashboard_as_scaling_md_says(
    tmp_path: Path, lake_url: str, spark_cluster
) -> None:
    cfg = SimConfig(conversations=300, days=14, seed=17, end=dt.date(2026, 11, 1))
    source = tmp_path / "events.jsonl"
    write_events(cfg, source)
    events = [orjson.loads(line) for line in source.read_bytes().splitlines()]
    url = lake_url

    # 1. two ingest servers writing the lake, each with a store file of its own (keys)
    ingest, keys = [], []
    for name in ("ingest-a", "ingest-b"):
        db = tmp_path / name / "chatlens.duckdb"
        db.parent.mkdir()
        keys.append(provision(db, {"default": {"keys": {"in": "ingest"}}}).keys["in"])
        ingest.append(LiveServer(db, args=("--lake", url)))
    dashboard_db = tmp_path / "dash" / "chatlens.duckdb"
    dashboard_db.parent.mkdir()
    read_key = provision(dashboard_db, {"default": {"keys": {"read": "read"}}}).keys["read"]
    dashboard = LiveServer(dashboard_db, args=("--lake-facts", url))
    try:
        for server in ingest:
            server.start(timeout=180)
        clients = [s.client(k) for s, k in zip(ingest, keys, strict=True)]
        batches = [events[i : i + BATCH] for i in range(0, len(events), BATCH)]
        for n, batch in enumerate(batches):  # a load balancer's round robin
            answer = clients[n % 2].post("/api/v1/events", json=batch)
            assert answer.status_code == 200, answer.text
        resent = clients[1].post("/api/v1/events", json=batches[0])  # a retry elsewhere
        assert resent.status_code == 200, resent.text
        lake = Lake.open(url)
        wait_until(lambda: len(raw_counts(lake)) == len(events), timeout=120, what="the lake")
        assert raw_counts(lake).total() == len(events) + len(batches[0])  # until compaction

        # 2. compaction, then the facts of what changed, on the cluster
        chatlens("lake", "compact", "--lake", url)
        assert set(raw_counts(lake).values()) == {1}  # each event once
        chatlens("spark", "facts", "--lake", url, "--master", spark_cluster.url)

        # 3. a dashboard server over the facts
        dashboard.start(timeout=180)
        reader = dashboard.client(read_key)
        query = {"metrics": sorted(METRICS), "from": PERIOD[0], "to": PERIOD[1]}
        answer = reader.post("/api/v1/query", json=query)
        assert answer.status_code == 200, answer.text
        assert answer.headers["x-chatlens-facts-derived-at"] != "none"
        got = answer.json()["rows"]
    finally:
        for server in (*ingest, dashboard):
            server.stop()

    with open_store(tmp_path / "reference.duckdb") as store:  # the same events, one store
        import_file(store, source)
        refresh_facts(store)
        want = orjson.loads(orjson.dumps(report(store, sorted(METRICS), *PERIOD).rows))
    assert got[0]["conversations"] == want[0]["conversations"] == 300
    assert not wrong_cells(want, got)
