"""Running statements on DuckDB."""

from __future__ import annotations

from typing import Any

import duckdb


def run(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> list[tuple[Any, ...]]:
    """Execute a statement and drain its result.

    DuckDB 2.0 keeps a connection busy until a statement's result (even the row count of an
    INSERT or DELETE) has been fetched, so every statement goes through here.
    """
    cursor = con.execute(sql, params) if params is not None else con.execute(sql)
    return cursor.fetchall()
