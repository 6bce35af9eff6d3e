"""Local time in SQL by the zone's offsets (chatlens.metrics.zones) equals DuckDB's
`timezone(zone, ts)` around every transition, in zones with odd offsets and midnight
changes, and outside the span the offsets cover."""

from __future__ import annotations

import datetime as dt

import duckdb
import ibis
import pytest

from chatlens.metrics.dialects import COMPILERS
from chatlens.metrics.sources_base import local_time
from chatlens.metrics.zones import offsets, span

ZONES = [
    "Europe/Helsinki",
    "America/New_York",
    "America/Santiago",  # changes at midnight
    "Australia/Lord_Howe",  # half-hour daylight saving
    "Asia/Kathmandu",  # +05:45, no daylight saving
    "UTC",
]


def _instants(zone: str) -> list[dt.datetime]:
    start, until = span(dt.date(2026, 12, 1))
    out = [dt.datetime(1999, 7, 1, 12, tzinfo=dt.UTC), dt.datetime(2061, 1, 1, tzinfo=dt.UTC)]
    for moment, _ in offsets(zone, start, until):
        for seconds in (-3601, -1, 0, 1, 3599, 43200):
            out.append(moment + dt.timedelta(seconds=seconds))
    out += [start - dt.timedelta(microseconds=1), start, until - dt.timedelta(microseconds=1)]
    return out


@pytest.mark.parametrize("zone", ZONES)
def test_same_wall_clock_as_duckdb(zone):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE t (ts TIMESTAMPTZ)")
    instants = _instants(zone)
    con.executemany("INSERT INTO t VALUES (?)", [(i,) for i in instants])
    t = ibis.table({"ts": "timestamp('UTC')"}, name="t")
    fast = COMPILERS["duckdb"](t.select("ts", local=local_time(zone, t.ts)))
    got = con.execute(f"SELECT ts, local FROM ({fast}) ORDER BY ts").fetchall()
    want = con.execute(f"SELECT ts, timezone('{zone}', ts) FROM t ORDER BY ts").fetchall()
    assert got == want
    assert len(got) == len(instants)


def test_offsets_find_each_change_to_the_second():
    start, until = dt.datetime(2026, 1, 1, tzinfo=dt.UTC), dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
    assert offsets("Europe/Helsinki", start, until) == (
        (start, 7200),
        (dt.datetime(2026, 3, 29, 1, tzinfo=dt.UTC), 10800),
        (dt.datetime(2026, 10, 25, 1, tzinfo=dt.UTC), 7200),
    )
    assert offsets("Asia/Kathmandu", start, until) == ((start, 20700),)
