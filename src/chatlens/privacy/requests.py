"""The log of access and erasure requests, in the workspace's store (`privacy_requests`):
who asked (a seat's email or the CLI's operator), when, what (export or erase, of a customer
or an agent, the target only as its token) and the result. Never the id itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import orjson

from chatlens.store.sql import run

KINDS = ("export", "erase")


def open_request(
    con: duckdb.DuckDBPyConnection,
    operator: str,
    kind: str,
    target_kind: str,
    target: str,
    result: str = "running",
) -> int:
    """Record a request; returns its id."""
    found = run(
        con,
        "INSERT INTO privacy_requests (asked_at, operator, kind, target_kind, target, result) "
        "VALUES ($at, $operator, $kind, $target_kind, $target, $result) RETURNING request_id",
        {
            "at": dt.datetime.now(dt.UTC),
            "operator": operator,
            "kind": kind,
            "target_kind": target_kind,
            "target": target,
            "result": result,
        },
    )
    return int(found[0][0])


def close_request(
    con: duckdb.DuckDBPyConnection, request_id: int, result: str, detail: dict[str, Any]
) -> None:
    run(
        con,
        "UPDATE privacy_requests SET result = $result, detail = $detail, finished_at = $at "
        "WHERE request_id = $id",
        {
            "result": result,
            "detail": orjson.dumps(detail).decode(),
            "at": dt.datetime.now(dt.UTC),
            "id": request_id,
        },
    )


def list_requests(con: duckdb.DuckDBPyConnection, limit: int = 500) -> list[dict[str, Any]]:
    """The latest requests, newest first."""
    rows = run(
        con,
        "SELECT request_id, asked_at, operator, kind, target_kind, target, result, detail, "
        "finished_at FROM privacy_requests ORDER BY request_id DESC LIMIT $limit",
        {"limit": limit},
    )
    names = ("request_id", "asked_at", "operator", "kind", "target_kind", "target", "result")
    out = []
    for row in rows:
        item = dict(zip(names, row[:7], strict=True))
        item["detail"] = orjson.loads(row[7]) if row[7] else {}
        item["finished_at"] = row[8]
        out.append(item)
    return out
