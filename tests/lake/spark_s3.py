"""Spark over a lake on an S3-compatible object store (moto's server on loopback), read
through pyarrow (src/chatlens/lake/spark_source.py): checks shared by the local[2], the
standalone cluster and the Spark Connect modules (test_spark_s3*.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.lake.facts import derive, read_state
from chatlens.lake.layout import FACTS, STINTS, Lake
from chatlens.store import Store
from chatlens.store.settings import Settings, load_settings
from tests.lake.s3 import CREDENTIALS, MotoS3

from .lakekit import store_events, store_facts, write_day_files
from .test_facts_lake import differences, lake_rows

BEFORE = "ts::DATE < '2026-10-30'"
RESENT = "ts::DATE = '2026-10-25'"
"""A day whose events a writer sends again (a second file): each must count once."""


def fill(store: Store, lake: Lake, where: str = "true") -> None:
    """The store's events (`where`) in the lake, one file per day, then 25 October's again."""
    write_day_files(lake, store_events(store, where))
    write_day_files(lake, store_events(store, f"({where}) AND {RESENT}"))


def spark_facts_equal_duckdb(store: Store, moto: MotoS3, session: Any) -> None:
    """A full Spark derivation over an S3 lake: the store's facts and stints, and DuckDB's
    derivation over the same lake."""
    lake = Lake.open(moto.bucket())
    fill(store, lake)
    settings = load_settings(store.con)
    result = derive(lake, settings, engine="spark", session=session)
    assert result.full and result.conversations == 300
    state = read_state(lake)
    assert state is not None and state.engine == "spark"
    same_as_store_and_duckdb(store, lake, settings)


def same_as_store_and_duckdb(store: Store, lake: Lake, settings: Settings) -> None:
    """The lake's facts and stints (Spark's) are the store's, and a full DuckDB rebuild of
    the same lake writes them again."""
    on_spark = lake_rows(lake, FACTS), lake_rows(lake, STINTS)
    assert not differences(store_facts(store, "conversation_facts"), on_spark[0])
    assert on_spark[1] == store_facts(store, "agent_stints")
    assert derive(lake, settings, engine="duckdb", full=True).full
    assert not differences(lake_rows(lake, FACTS), on_spark[0])
    assert lake_rows(lake, STINTS) == on_spark[1]


def incremental_spark_run_equals_duckdb(store: Store, moto: MotoS3, session: Any) -> None:
    """A first Spark run over the days before 30 October, a second over the rest (it reads
    the old facts from the object store too): DuckDB's full rebuild of the same lake."""
    lake = Lake.open(moto.bucket())
    settings = load_settings(store.con)
    fill(store, lake, BEFORE)
    assert derive(lake, settings, engine="spark", session=session).full
    write_day_files(lake, store_events(store, f"NOT ({BEFORE})"))
    later = derive(lake, settings, engine="spark", session=session)
    assert not later.full and later.partitions == ["2026-10-30", "2026-10-31", "2026-11-01"]
    same_as_store_and_duckdb(store, lake, settings)


def cli_spark_facts(store: Store, moto: MotoS3, where: list[str]) -> str:
    """`chatlens spark facts --lake s3://... [where]` on a new S3 lake: the store's facts.
    Returns the lake URL."""
    url = moto.bucket()
    fill(store, Lake.open(url))
    result = CliRunner().invoke(app, ["spark", "facts", "--lake", url, *where])
    assert result.exit_code == 0, (result.output, result.exception)
    assert "facts derived (full rebuild)" in result.output
    assert "300 conversations" in result.output
    lake = Lake.open(url)
    assert not differences(store_facts(store, "conversation_facts"), lake_rows(lake, FACTS))
    return url


def secret_in(folder: Path) -> list[str]:
    """Files under `folder` (Spark's logs, work folders) holding the test secret key."""
    secret = CREDENTIALS["AWS_SECRET_ACCESS_KEY"].encode()
    return [
        str(path) for path in folder.rglob("*") if path.is_file() and secret in path.read_bytes()
    ]
