"""The catalogue on a real standalone Spark cluster (a master and two workers, separate JVMs:
tests/sparkcluster.py), this process its driver: `--master spark://127.0.0.1:PORT`. The
tests themselves are tests/spark_suite.py's."""

from __future__ import annotations

import pytest

from .spark_suite import *  # noqa: F403  (its tests, collected here on the cluster)
from .spark_suite import cli_report_matches

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def on_spark(cluster_spark):
    return cluster_spark


def test_the_work_runs_on_both_workers(spark_cluster, on_spark):
    assert on_spark.sparkContext.master == spark_cluster.url
    assert on_spark.range(1000).repartition(4).count() == 1000  # executors are up
    [mine] = [a for a in spark_cluster.applications() if a["name"] == "chatlens"]
    assert mine["cores"] == 2  # one executor on each one-core worker


def test_report_on_the_cluster_from_the_cli(lake_sim, spark_cluster, on_spark):
    store, lake = lake_sim
    cli_report_matches(store, lake, ["--master", spark_cluster.url])
