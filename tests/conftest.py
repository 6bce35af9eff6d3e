from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.ingest import import_file
from chatlens.store import Store, open_store
from chatlens.store.facts import refresh_facts
from tests.sparkcluster import (  # noqa: F401
    cluster_spark,
    connect_spark,
    spark_cluster,
    spark_connect,
)


@pytest.fixture
def store(tmp_path: Path):
    with open_store(tmp_path / "test.duckdb") as s:
        yield s


def write_jsonl(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def load(store: Store, events: list[dict[str, Any]], tmp: Path, name: str = "in.jsonl"):
    """Import events through the normal file path and refresh the facts."""
    summary = import_file(store, write_jsonl(tmp / name, events))
    refresh_facts(store)
    return summary


def facts(store: Store) -> dict[str, dict[str, Any]]:
    """The facts table as {conversation_id: {column: value}}."""
    cur = store.con.execute("SELECT * FROM conversation_facts ORDER BY conversation_id")
    names = [d[0] for d in cur.description]
    return {row[0]: dict(zip(names, row, strict=True)) for row in cur.fetchall()}


def report(store: Store, metrics, start: str = "2026-11-01", end: str = "2026-11-30", **kw):
    """Run a query through a new engine (with caches of its own: nothing compiled or
    computed before is reused); kw: grain, dimensions, filters, compare, bounds, overrides."""
    from chatlens.metrics import Engine, Query

    overrides = kw.pop("overrides", None)
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    query = Query(
        metrics=metrics,
        start=start,
        end=end,
        grain=kw.pop("grain", None),
        dimensions=tuple(kw.pop("dimensions", ())),
        filters=kw.pop("filters", {}),
        compare=kw.pop("compare", False),
        bounds=kw.pop("bounds", False),
    )
    assert not kw, kw
    return Engine(store, overrides).run(query)


def value(store: Store, metric: str, start: str = "2026-11-01", end: str = "2026-11-30", **kw):
    """The single value of one metric over a period."""
    rows = report(store, metric, start, end, **kw).rows
    assert len(rows) == 1, rows
    return rows[0][metric]


@pytest.fixture(scope="session", autouse=True)
def _no_server_outlives_the_run():
    """Stop the servers a failed fixture left running (tests/serverkit.py RUNNING)."""
    yield
    from tests.serverkit import RUNNING

    for server in list(RUNNING):
        server.stop()


@pytest.fixture(scope="module")
def spark():
    """A local Spark session for the `spark` tests of one module (pyspark imported only
    here). A process has one classic Spark session at a time: the modules on the test
    cluster (tests/sparkcluster.py) run theirs between two modules' local ones."""
    from chatlens.store.spark import spark_session

    session = spark_session()
    yield session
    session.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Large generated data and the Spark session get twice the per-test timeout of
    pyproject.toml (a test that sets its own keeps it). Tests marked `last` check what the
    others recorded: they run after them, whatever order pytest-randomly chose (this hook
    runs after its shuffle; the sort is stable)."""
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)
    for item in items:
        if item.get_closest_marker("timeout") is None and (
            item.get_closest_marker("slow") or item.get_closest_marker("spark")
        ):
            item.add_marker(pytest.mark.timeout(1200))


@pytest.fixture(autouse=True, scope="session")
def _failed_commands_let_go_of_their_store() -> Iterator[None]:
    """A command that fails under CliRunner leaves its error in the result, and the error's
    tracebacks hold the command's frames, which hold its (closed) store until the process
    ends, where DuckDB's bindings then report the connection as leaked. Once the command has
    returned those frames are finished: their locals are cleared here."""
    invoke = CliRunner.invoke

    def invoke_and_clear(self: CliRunner, *args: Any, **kwargs: Any) -> Any:
        result = invoke(self, *args, **kwargs)
        error = result.exc_info[1] if result.exc_info else None
        seen: set[int] = set()
        while error is not None and id(error) not in seen:
            seen.add(id(error))
            if error.__traceback__ is not None:
                traceback.clear_frames(error.__traceback__)
            error = error.__cause__ or error.__context__
        return result

    CliRunner.invoke = invoke_and_clear  # type: ignore[method-assign]
    yield
    CliRunner.invoke = invoke  # type: ignore[method-assign]
