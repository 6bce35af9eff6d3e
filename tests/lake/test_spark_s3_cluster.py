"""Spark on the standalone test cluster (tests/sparkcluster.py: a master and two worker
JVMs, this process the driver) over a lake on moto's S3 server: the executors read the
lake through pyarrow with the credentials the driver pickled into the data source; none
of the cluster's logs or work folders holds the secret key."""

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
