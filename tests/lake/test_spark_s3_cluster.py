"""Spark on the standalone test cluster (tests/sparkcluster.py: a master and two worker
JVMs, this process the driver) over a lake on moto's S3 server: the executors read the
lake through pyarrow with the credentials the driver pickled into the data source; none
of the cluster's logs or work folders holds the secret key."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.ingest import import_file
from chatlens.lake.compact import read_events
from chatlens.lake.layout import Lake
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until

from ..spark_suite import cli_report_matches
from .spark_s3 import (
    cli_spark_facts,
    incremental_spark_run_equals_duckdb,
    secret_in,
    spark_facts_equal_duckdb,
)
from .test_facts_lake import simulated  # noqa: F401
from .test_serve_lake_facts import answers, same

pytestmark = pytest.mark.spark


def test_spark_facts_of_an_s3_lake_on_the_cluster_equal_duckdb(simulated, moto, cluster_spark):  # noqa: F811
    spark_facts_equal_duckdb(simulated, moto, cluster_spark)


def test_an_incremental_run_on_the_cluster_equals_a_duckdb_rebuild(
    simulated,  # noqa: F811
    moto,
    cluster_spark,
):
    incremental_spark_run_equals_duckdb(simulated, moto, cluster_spark)


def test_spark_facts_and_report_from_the_cli_on_the_cluster(
    simulated,  # noqa: F811
    moto,
    spark_cluster,
    cluster_spark,
):
    url = cli_spark_facts(simulated, moto, ["--master", spark_cluster.url])
    cli_report_matches(simulated, url, ["--master", spark_cluster.url])


@pytest.mark.last
def test_no_log_or_work_folder_of_the_cluster_holds_the_secret(spark_cluster, cluster_spark):
    assert list(spark_cluster.tmp.rglob("stderr")), "the executors' logs are there"
    assert secret_in(spark_cluster.tmp) == []


@pytest.mark.server
def test_ingest_servers_to_an_s3_lake_to_spark_facts_to_dashboards(
    moto,
    spark_cluster,
    cluster_spark,
    tmp_path,
):
    """The deployment of docs/scaling.md on one S3 lake: an ingest server writing the lake
    (`serve --lake s3://...`), `spark facts` on the cluster, and a dashboard server over
    the lake's facts (`serve --lake-facts s3://...`) answering what a server over a store
    of the same events answers."""
    url = moto.bucket()
    events = tmp_path / "events.jsonl"
    write_events(SimConfig(conversations=300, days=14, seed=11, end=dt.date(2026, 11, 1)), events)
    lines = events.read_text().splitlines()
    stores = {name: tmp_path / name / "chatlens.duckdb" for name in ("ingest", "store", "dash")}
    spec = {"default": {"keys": {"in": "ingest", "read": "read"}}}
    seats = {}
    for name, path in stores.items():
        path.parent.mkdir()
        seats[name] = provision(path, spec)
    with open_store(stores["store"]) as store:
        import_file(store, events)
        refresh_facts(store)
    ingest = LiveServer(stores["ingest"], args=("--lake", url)).start(timeout=180)
    try:
        with ingest.client(seats["ingest"].keys["in"]) as http:
            for start in range(0, len(lines), 500):
                body = "\n".join(lines[start : start + 500]).encode()
                headers = {"content-type": "application/x-ndjson"}
                answer = http.post("/api/v1/events", content=body, headers=headers)
                assert answer.status_code == 200, answer.text
        lake = Lake.open(url)
        wait_until(lambda: read_events(lake).num_rows == len(lines), 120, what="in the lake")
    finally:
        ingest.stop()

    result = CliRunner().invoke(
        app, ["spark", "facts", "--lake", url, "--master", spark_cluster.url]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert "300 conversations" in result.output

    servers = [
        LiveServer(stores["store"]),
        LiveServer(stores["dash"], args=("--lake-facts", url)),
    ]
    try:
        for server in servers:
            server.start(timeout=180)
        want = answers(servers[0].client(seats["store"].keys["read"]))
        got = answers(servers[1].client(seats["dash"].keys["read"]))
        assert want[0][0]["conversations"] == 300
        assert same(got, want)
    finally:
        for server in servers:
            server.stop()
