"""Test lakes: events written the way the lake's layout says (src/chatlens/lake/layout.py),
one file per day per call, in the order given (the store's arrival order)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chatlens.lake.layout import EVENT_SCHEMA, EVENTS, Lake
from chatlens.store import Store
from chatlens.store.sql import run

COLUMNS = ", ".join(EVENT_SCHEMA.names)


def store_events(store: Store, where: str = "true") -> pa.Table:
    """The store's events (those `where` holds) in arrival order, as lake rows."""
    table = store.con.sql(
        f"SELECT {COLUMNS} FROM events WHERE {where} ORDER BY seq"
    ).to_arrow_table()
    return table.cast(EVENT_SCHEMA)


def write_day_files(lake: Lake, table: pa.Table) -> list[str]:
    """Append `table` to the lake: one new file in each day's partition it touches."""
    days = pc.strftime(table["ts"], format="%Y-%m-%d")
    written = []
    for day in sorted(set(days.to_pylist())):
        part = table.filter(pc.equal(days, day))
        folder = lake.partition_dir(EVENTS, dt.date.fromisoformat(day))
        lake.fs.create_dir(folder, recursive=True)
        path = f"{folder}/{lake.new_file_name()}"
        pq.write_table(part, path, filesystem=lake.fs)
        written.append(path)
    return written


def store_facts(store: Store, table: str) -> list[dict]:
    """The store's facts (or stints) rows, in a stable order."""
    order = (
        "conversation_id"
        if table == "conversation_facts"
        else "conversation_id, started_at, agent_id"
    )
    return run_rows(store, f"SELECT * FROM {table} ORDER BY {order}")


def run_rows(store: Store, sql: str) -> list[dict]:
    return store.con.sql(sql).to_arrow_table().to_pylist()


__all__ = ["run", "store_events", "store_facts", "write_day_files"]
