"""Spark Connect (a Connect server whose driver runs on the standalone test cluster; this
process only sends plans) over a lake on moto's S3 server: the data source class, the
lake's filesystem and credentials inside it, goes to the server pickled; the server's and
the cluster's logs do not hold the secret key."""

from __future__ import annotations

import pytest

from ..spark_suite import cli_report_matches
from .spark_s3 import (
    cli_spark_facts,
    incremental_spark_run_equals_duckdb,
    secret_in,
    spark_facts_equal_duckdb,
)
from .test_facts_lake import simulated  # noqa: F401

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def connected(connect_spark):
    return connect_spark


def test_spark_facts_of_an_s3_lake_through_connect_equal_duckdb(simulated, moto, connected):  # noqa: F811
    spark_facts_equal_duckdb(simulated, moto, connected)


def test_an_incremental_run_through_connect_equals_a_duckdb_rebuild(
    simulated,  # noqa: F811
    moto,
    connected,
):
    incremental_spark_run_equals_duckdb(simulated, moto, connected)


def test_spark_facts_and_report_from_the_cli_through_connect(
    simulated,  # noqa: F811
    moto,
    spark_connect,
    connected,
):
    url = cli_spark_facts(simulated, moto, ["--remote", spark_connect.url])
    cli_report_matches(simulated, url, ["--remote", spark_connect.url])


@pytest.mark.last
def test_no_log_of_the_connect_server_or_the_cluster_holds_the_secret(
    spark_cluster, spark_connect, connected
):
    assert spark_connect.log.exists()
    assert secret_in(spark_connect.tmp) == []
    assert secret_in(spark_cluster.tmp) == []
