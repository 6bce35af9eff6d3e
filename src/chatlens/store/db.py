"""Opening the store and appending events to it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from chatlens.errors import InputError
from chatlens.events import COLUMNS
from chatlens.store.migrations import migrate
from chatlens.store.sql import run

DEFAULT_DB = "chatlens.duckdb"

_ARROW_TYPES = {
    "str": pa.string(),
    "float": pa.float64(),
    "bool": pa.bool_(),
    "ts": pa.timestamp("us", tz="UTC"),
    "json": pa.string(),
}
ROW_SCHEMA = pa.schema(
    [pa.field(name, _ARROW_TYPES[kind]) for name, kind in COLUMNS.items()]
    + [pa.field("extra", pa.string())]
)
_INSERT_COLUMNS = ", ".join(ROW_SCHEMA.names)


def db_path(path: str | os.PathLike[str] | None) -> Path:
    """The store file: the argument, else $CHATLENS_DB, else ./chatlens.duckdb."""
    return Path(path or os.environ.get("CHATLENS_DB") or DEFAULT_DB)


@dataclass
class AppendResult:
    inserted: int
    duplicates: int


class Store:
    """A migrated DuckDB connection with the operations the rest of chatlens needs."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | None):
        self.con = con
        self.path = path

    def append(self, rows: list[dict[str, Any]]) -> AppendResult:
        """Append event rows (from `to_row`); events whose id is already stored, or that
        repeat an earlier row of `rows`, are skipped (the first one is kept).

        Deduplication is an anti-join on event_id rather than a primary-key index: measured
        here 3x faster to insert (0.6 s against 1.75 s for 500k events in 50k batches), and
        the store has a single writer, so the check and the insert cannot interleave.
        """
        if not rows:
            return AppendResult(0, 0)
        unique = list({row["event_id"]: row for row in reversed(rows)}.values())[::-1]
        inserted = self._insert(unique, check=True)
        return AppendResult(inserted, len(rows) - inserted)

    def known_ids(self, ids: list[str]) -> set[str]:
        """Which of `ids` are already stored."""
        if not ids:
            return set()
        found = run(
            self.con,
            "SELECT DISTINCT event_id FROM events "
            "SEMI JOIN (SELECT unnest($ids::VARCHAR[]) AS event_id) USING (event_id)",
            {"ids": ids},
        )
        return {row[0] for row in found}

    def insert(self, rows: list[dict[str, Any]], *, check: bool = True) -> int:
        """Insert rows with distinct ids (the server's mover); returns how many were
        refused because their id is stored already. `check=False` skips that anti-join
        (~20 ms per million stored events, measured) when the caller knows no row's id can
        be stored: the server's mover, whose index of stored ids hit none of them."""
        return len(rows) - self._insert(rows, check=check)

    def _insert(self, rows: list[dict[str, Any]], *, check: bool) -> int:
        """The one insert into `events`; returns the rows inserted."""
        if not rows:
            return 0
        self.con.register("_incoming", pa.Table.from_pylist(rows, schema=ROW_SCHEMA))
        unseen = " WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_id = i.event_id)"
        try:
            result = run(
                self.con,
                f"INSERT INTO events ({_INSERT_COLUMNS}) "
                f"SELECT {_INSERT_COLUMNS} FROM _incoming i" + (unseen if check else ""),
            )
        finally:
            self.con.unregister("_incoming")
        return int(result[0][0]) if result else 0

    def max_seq(self) -> int:
        return int(run(self.con, "SELECT coalesce(max(seq), 0) FROM events")[0][0])

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(path: str | os.PathLike[str] | None = None, *, read_only: bool = False) -> Store:
    """Open (creating and migrating if needed) the store; ':memory:' for a throwaway one."""
    target = db_path(path)
    memory = str(target) == ":memory:"
    if not memory and read_only and not target.exists():
        raise InputError(f"no store at {target}: import events first (chatlens import FILE)")
    try:
        con = duckdb.connect(":memory:" if memory else str(target), read_only=read_only)
    except duckdb.IOException as exc:
        raise InputError(f"cannot open the store {target}: {exc}") from None
    run(con, "SET TimeZone = 'UTC'")
    run(con, "SET enable_progress_bar = false")
    if not read_only:
        migrate(con)
    return Store(con, None if memory else target)
