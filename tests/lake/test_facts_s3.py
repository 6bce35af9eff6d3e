"""Facts derived into a lake on an S3-compatible object store (moto's server on loopback):
the same rows as the store, first in full and then incrementally."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.errors import InputError
from chatlens.lake.facts import derive, read_state
from chatlens.lake.layout import FACTS, STINTS, Lake
from chatlens.store.settings import Settings, load_settings
from tests.serverkit import free_port
from tests.waiting import wait_until

from .lakekit import store_events, store_facts, write_day_files
from .test_facts_lake import differences, lake_rows, simulated  # noqa: F401


@pytest.fixture
def s3_lake(tmp_path, monkeypatch):
    """A lake URL in a fresh bucket of a moto S3 server started for this test."""
    port = free_port()
    log = (tmp_path / "moto.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=log,
    )
    endpoint = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(endpoint, timeout=1).status_code < 500
        except httpx.TransportError:
            return False

    try:
        wait_until(up, timeout=60, interval=0.1, what="moto S3 server")
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        assert httpx.put(f"{endpoint}/lakefacts").status_code == 200
        yield f"s3://lakefacts/lake?endpoint_override=127.0.0.1:{port}&scheme=http"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_facts_derived_in_an_object_store_equal_the_store(simulated, s3_lake):  # noqa: F811
    settings = load_settings(simulated.con)
    lake = Lake.open(s3_lake)
    write_day_files(lake, store_events(simulated, "ts::DATE < '2026-10-30'"))
    assert derive(lake, settings).full
    write_day_files(lake, store_events(simulated, "ts::DATE >= '2026-10-30'"))
    later = derive(lake, settings)
    assert not later.full and later.partitions == ["2026-10-30", "2026-10-31", "2026-11-01"]
    assert not differences(store_facts(simulated, "conversation_facts"), lake_rows(lake, FACTS))
    assert lake_rows(lake, STINTS) == store_facts(simulated, "agent_stints")
    state = read_state(lake)
    assert state is not None and state.latest_event_at is not None


def test_an_object_store_that_does_not_answer_is_a_clear_error(monkeypatch):
    """DuckDB's `lake facts` against an endpoint where nothing listens: the lake named, the
    endpoint, no traceback, no secret; derive() says the same from the Python API."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-to-be-printed")
    port = free_port()  # nothing listens there
    url = f"s3://nowhere/lake?endpoint_override=127.0.0.1:{port}&scheme=http&region=us-east-1"
    want = f"cannot reach the lake at s3://nowhere/lake (endpoint 127.0.0.1:{port})"
    result = CliRunner().invoke(app, ["lake", "facts", "--lake", url])
    assert result.exit_code == 2, result.output  # fail(): the CLI's exit code for bad input
    assert want in result.output
    assert "Traceback" not in result.output and "not-to-be-printed" not in result.output
    with pytest.raises(InputError, match=re.escape(want)):
        derive(Lake.open(url), Settings())
