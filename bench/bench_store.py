"""A cached benchmark store of N simulated conversations.

The simulator's Arrow tables are loaded straight into the events table (trusted, generated
data), which skips per-record validation: import speed is measured by bench_import.py, this
only builds the data the KPI benchmark reads. Stores are cached in bench/.cache/.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pyarrow as pa

from chatlens.events import COLUMNS
from chatlens.simulate import SimConfig, simulate_tables
from chatlens.store import Store, open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.settings import save_setting
from chatlens.store.sql import run

CACHE = Path(__file__).resolve().parent / ".cache"
END = dt.date(2026, 11, 22)


def _rows(table: pa.Table) -> pa.Table:
    attrs = [n for n in table.column_names if n.startswith("attrs.")]
    columns = {n: table[n] for n in COLUMNS if n in table.column_names and n != "attrs"}
    if attrs:
        structs = pa.StructArray.from_arrays(
            [table[n].combine_chunks() for n in attrs], names=[n[6:] for n in attrs]
        )
        columns["attrs_struct"] = structs
    return pa.table(columns)


def build_store(conversations: int, days: int = 365, seed: int = 11, agents: int = 25) -> Path:
    """Create (once) and return the path of a store with that many conversations."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"kpi-{conversations}-{days}-{seed}-{agents}.duckdb"
    if path.exists():
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    with open_store(partial) as store:
        save_setting(store.con, "timezone", "Europe/Helsinki")
        save_setting(store.con, "cost_per_agent_conversation", 6.0)
        save_setting(store.con, "cost_per_bot_conversation", 0.5)
        config = SimConfig(
            conversations=conversations,
            days=days,
            seed=seed,
            end=END,
            agents=agents,
            teams=max(3, agents // 20),
        )
        for table in simulate_tables(config):
            _append(store, _rows(table))
        print(f"loaded {store.max_seq():,} events in {time.perf_counter() - started:.1f} s")
        t0 = time.perf_counter()
        refresh_facts(store, full=True)
        print(f"built facts in {time.perf_counter() - t0:.1f} s")
    partial.rename(path)
    return path


def _append(store: Store, table: pa.Table) -> None:
    store.con.register("_sim", table)
    names = [n for n in table.column_names if n != "attrs_struct"]
    attrs = "to_json(attrs_struct)" if "attrs_struct" in table.column_names else "NULL"
    run(
        store.con,
        f"INSERT INTO events ({', '.join(names)}, attrs) "
        f"SELECT {', '.join(names)}, {attrs} FROM _sim",
    )
    store.con.unregister("_sim")
