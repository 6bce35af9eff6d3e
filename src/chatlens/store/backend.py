"""The seam between the metric engine and the engine that runs its SQL.

The metric catalogue compiles (through ibis) to the SQL of a dialect; a `Backend` runs that
SQL and holds the small temp tables a query needs (`_calendar`, `_business_hours`). DuckDB is
the default; Spark (`chatlens[spark]`) lives in `chatlens.store.spark`.

Values come back as plain Python: instants (TIMESTAMPTZ) as aware UTC datetimes where the
engine keeps the zone, wall-clock times as naive datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import ibis
import ibis.expr.datatypes as dtypes
import pyarrow as pa

from chatlens.store.db import Store
from chatlens.store.sql import run


class Backend(Protocol):
    dialect: str
    """The SQL dialect metric sources compile to (a key of metrics.dialects.COMPILERS)."""

    def sql(self, query: str) -> list[dict[str, Any]]:
        """Run a query; its rows read by column name."""
        ...

    def sql_many(self, queries: Sequence[str]) -> list[list[dict[str, Any]]]:
        """Run independent queries (one per metric source); their rows in the same order."""
        ...

    def create_temp_table(
        self, name: str, schema: ibis.Schema, rows: Sequence[tuple[Any, ...]]
    ) -> None:
        """(Re)create a session-local table `name` holding `rows` (in `schema` order)."""
        ...

    def table_schema(self, name: str) -> ibis.Schema:
        """The ibis schema of a table the metrics read (`attrs` as JSON)."""
        ...


def _duckdb_type(dtype: dtypes.DataType) -> str:
    if dtype.is_timestamp():
        return "TIMESTAMPTZ" if dtype.timezone else "TIMESTAMP"
    raise TypeError(f"no DuckDB column type for {dtype} in a temp table")


class DuckDBBackend:
    """The store's DuckDB connection (the default engine)."""

    dialect = "duckdb"

    def __init__(self, store: Store):
        self.store = store

    def sql(self, query: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.store.con.sql(query).to_arrow_table().to_pylist()
        return rows

    def sql_many(self, queries: Sequence[str]) -> list[list[dict[str, Any]]]:
        return [self.sql(query) for query in queries]  # one connection: one at a time

    def create_temp_table(
        self, name: str, schema: ibis.Schema, rows: Sequence[tuple[Any, ...]]
    ) -> None:
        columns = ", ".join(f"{col} {_duckdb_type(t)}" for col, t in schema.items())
        run(self.store.con, f"CREATE OR REPLACE TEMP TABLE {name} ({columns})")
        if rows:
            marks = ", ".join("?" for _ in schema)
            self.store.con.executemany(f"INSERT INTO {name} VALUES ({marks})", list(rows))

    def table_schema(self, name: str) -> ibis.Schema:
        arrow = self.store.con.sql(f"SELECT * FROM {name} LIMIT 0").to_arrow_table().schema
        fields = [
            f.with_type(pa.string())
            if f.type.__class__.__name__ == "JsonType" or str(f.type).startswith("extension")
            else f
            for f in arrow
        ]
        schema = ibis.Schema.from_pyarrow(pa.schema(fields))
        if "attrs" in schema:
            schema = ibis.Schema({**dict(schema.items()), "attrs": "json"})
        return schema
