"""The catalogue through Spark Connect (`--remote sc://127.0.0.1:PORT`): a Connect server
(pyspark's spark-connect jar) whose driver runs on the test cluster; this process only sends
plans over gRPC. The tests themselves are tests/spark_suite.py's."""

from __future__ import annotations

import pytest

from .spark_suite import *  # noqa: F403  (its tests, collected here through Spark Connect)
from .spark_suite import cli_report_matches

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def on_spark(connect_spark):
    return connect_spark


def test_the_session_is_a_connect_client_on_the_cluster(spark_cluster, spark_connect, on_spark):
    from pyspark.sql.connect.session import SparkSession as ConnectSession

    assert isinstance(on_spark, ConnectSession)
    assert on_spark.conf.get("spark.sql.session.timeZone") == "UTC"
    assert on_spark.range(1000).repartition(4).count() == 1000
    [server] = [a for a in spark_cluster.applications() if a["name"] == "chatlens-connect"]
    assert server["cores"] == 2  # the server's jobs run on both workers


def test_report_through_connect_from_the_cli(lake_sim, spark_connect, on_spark):
    store, lake = lake_sim
    cli_report_matches(store, lake, ["--remote", spark_connect.url])
