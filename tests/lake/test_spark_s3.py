"""Spark (local[2]) over a lake on moto's S3 server, read through pyarrow
(lake/spark_source.py; no Hadoop S3A connector): facts equal to the store's and to DuckDB's
over the same lake, `spark facts` and `report --engine spark` with `--lake s3://...`, clear
errors without credentials or with a bad endpoint, and no secret in the plan."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.errors import InputError
from chatlens.lake import spark_source
from chatlens.lake.facts import derive
from chatlens.lake.layout import EVENT_SCHEMA, Lake
from chatlens.store.settings import load_settings
from tests.lake.s3 import CREDENTIALS
from tests.serverkit import free_port

from ..spark_suite import cli_report_matches
from .spark_s3 import cli_spark_facts, fill, spark_facts_equal_duckdb
from .test_facts_lake import simulated  # noqa: F401

pytestmark = pytest.mark.spark


def test_spark_facts_of_an_s3_lake_equal_duckdb_on_the_same_lake(simulated, moto, spark):  # noqa: F811
    spark_facts_equal_duckdb(simulated, moto, spark)


def test_spark_facts_and_report_from_the_cli_on_an_s3_lake(simulated, moto, spark):  # noqa: F811
    url = cli_spark_facts(simulated, moto, [])
    cli_report_matches(simulated, url, [])


def test_each_row_knows_its_file_and_place(moto, spark):
    """The position columns the lake's `seq` is made of: a file's base name and the row's
    index in that file (Spark's _metadata.file_name and row_index), across split groups."""
    lake = Lake.open(moto.bucket())
    table = EVENT_SCHEMA.empty_table()
    paths = []
    for rows in (3, 2):
        path = f"{lake.root}/events/date=2026-10-20/{lake.new_file_name()}"
        data = {n: [None] * rows for n in EVENT_SCHEMA.names}
        data["event_id"] = [f"{len(paths)}-{i}" for i in range(rows)]
        lake.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
        pq.write_table(pa.table(data, schema=table.schema), path, filesystem=lake.fs)
        paths.append(path)
    files = spark_source.event_files(lake)
    assert [p for p, _ in files] == sorted(paths)
    frame = spark_source.read_files(spark, lake, files, EVENT_SCHEMA, ("f", "r"))
    got = sorted(
        (row.f, row.r, row.event_id) for row in frame.select("f", "r", "event_id").collect()
    )
    first, second = (p.rsplit("/", 1)[1] for p in paths)
    want = [(first, i, f"0-{i}") for i in range(3)] + [(second, i, f"1-{i}") for i in range(2)]
    assert got == sorted(want)


def test_no_secret_in_the_plan(moto, spark, capsys):
    lake = Lake.open(moto.bucket())
    frame = spark_source.read_files(spark, lake, [], EVENT_SCHEMA)
    frame.explain(extended=True)
    plan = capsys.readouterr().out
    assert "chatlens_lake_" in plan
    assert CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in plan
    assert CREDENTIALS["AWS_ACCESS_KEY_ID"] not in plan


def test_missing_credentials_are_a_clear_error(simulated, moto, spark, monkeypatch):  # noqa: F811
    url = moto.bucket()
    fill(simulated, Lake.open(url))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookup
    bucket = url.removeprefix("s3://").split("?")[0]
    with pytest.raises(InputError, match=f"no credentials for the lake at s3://{bucket}"):
        derive(Lake.open(url), load_settings(simulated.con), engine="spark", session=spark)
    result = CliRunner().invoke(app, ["spark", "facts", "--lake", url])
    assert result.exit_code != 0
    assert "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in result.output


def test_a_bad_endpoint_is_a_clear_error(moto, spark):
    port = free_port()  # nothing listens there
    url = f"s3://nowhere/lake?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
    args = ["report", "--engine", "spark", "--lake", url, "--metrics", "conversations"]
    args += ["--from", "2026-10-19", "--to", "2026-10-31"]
    for command in (["spark", "facts", "--lake", url], args):
        result = CliRunner().invoke(app, command)
        assert result.exit_code != 0, result.output
        assert f"cannot reach the lake at s3://nowhere/lake (endpoint 127.0.0.1:{port})" in (
            result.output
        ), result.output
        assert CREDENTIALS["AWS_SECRET_ACCESS_KEY"] not in result.output


EXECUTOR = """
import pickle, sys
sys.modules["chatlens"] = None  # an executor where chatlens is not installed
import pyarrow as pa
from pyspark.sql.pandas.types import from_arrow_schema
source, options = pickle.loads(sys.stdin.buffer.read())
schema = pa.schema([("event_id", pa.string()), ("f", pa.string()), ("r", pa.int64())])
reader = source(options).reader(from_arrow_schema(schema))
for part in reader.partitions():
    for batch in reader.read(part):
        print(batch.to_pylist())
"""


def test_the_source_needs_no_chatlens_where_it_reads(tmp_path):
    """The data source class, pickled as Spark pickles it, reads a lake's file in a Python
    where importing chatlens fails: executors need pyspark and pyarrow only."""
    from pyspark import cloudpickle

    lake = Lake.open(str(tmp_path / "lake"))
    path = f"{lake.root}/events/date=2026-10-20/part-1.parquet"
    lake.fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    pq.write_table(pa.table({"event_id": ["a", "b"]}), path)
    spark_source._pickle_by_value()
    source = spark_source._source_class("chatlens_lake_test", lake.fs)
    options = {"splits": json.dumps([[path]]), "position": json.dumps(["f", "r"])}
    child = subprocess.run(
        [sys.executable, "-c", EXECUTOR],
        input=cloudpickle.dumps((source, options)),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr.decode()[-2000:]
    want = [{"event_id": "a", "f": "part-1.parquet", "r": 0}]
    want.append({"event_id": "b", "f": "part-1.parquet", "r": 1})
    assert child.stdout.decode().strip() == str(want)
