"""Row-level exports: one row per conversation with its facts; the raw events as Parquet."""

from __future__ import annotations

from pathlib import Path

import ibis

from chatlens.events import InputError
from chatlens.metrics.periods import make_period
from chatlens.metrics.query import Engine, Query, validate
from chatlens.metrics.sources import conversations
from chatlens.metrics.sources_base import with_topic
from chatlens.reports.drill import Drill
from chatlens.store.sql import run

EXPORT_FORMATS = ("csv", "xlsx", "parquet")


def conversations_sql(engine: Engine, query: Query, drill: Drill | None = None) -> str:
    """SQL for the facts of the conversations a query covers (started in its period), narrowed
    by `drill` (what a click on a figure picked)."""
    validate(query)
    period = make_period(query.start, query.end, engine.settings.timezone)
    ctx = engine.context(query, period)
    table = conversations(ctx, split=False)
    assert table is not None
    if drill:
        table = drill.narrow(table, engine.settings)
    if "topic" not in table.columns:
        table = with_topic(ctx, table)
    facts_columns = list(engine.schemas[engine.facts_table].names)
    expr = table.select(*facts_columns, topic=table.topic, started_local=table.local_ts).order_by(
        "started_at", "conversation_id"
    )
    return str(ibis.to_sql(expr, dialect="duckdb"))


def export_conversations(
    engine: Engine, query: Query, fmt: str, out: Path, drill: Drill | None = None
) -> int:
    """Write the conversations of a query (narrowed by `drill`); returns how many."""
    if fmt not in EXPORT_FORMATS:
        raise InputError(f"unknown format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    sql = conversations_sql(engine, query, drill)
    con = engine.store.con
    if fmt == "parquet":
        run(con, f"COPY ({sql}) TO '{_quoted(out)}' (FORMAT parquet)")
    else:
        flat = _flatten(con, sql)
        if fmt == "csv":
            run(con, f"COPY ({flat}) TO '{_quoted(out)}' (FORMAT csv, HEADER true)")
        else:
            _write_xlsx(con, flat, out)
    return int(run(con, f"SELECT count(*) FROM ({sql})")[0][0])


def export_events(engine: Engine, out: Path) -> int:
    """All events as Parquet (the layout a Spark job reads)."""
    con = engine.store.con
    run(con, f"COPY (SELECT * FROM events ORDER BY seq) TO '{_quoted(out)}' (FORMAT parquet)")
    return int(run(con, "SELECT count(*) FROM events")[0][0])


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _flatten(con: object, sql: str) -> str:
    """Lists as '; '-joined text and times as ISO text, for CSV and spreadsheets."""
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    described = con.sql(f"SELECT * FROM ({sql}) LIMIT 0").description
    parts = []
    for name, kind, *_ in described:
        type_name = str(kind).upper()
        if type_name.endswith("[]"):
            parts.append(f'array_to_string("{name}", \'; \') AS "{name}"')
        elif "TIME ZONE" in type_name or type_name == "TIMESTAMPTZ":
            parts.append(f'strftime("{name}", \'%Y-%m-%dT%H:%M:%S.%gZ\') AS "{name}"')
        else:
            parts.append(f'"{name}"')
    return f"SELECT {', '.join(parts)} FROM ({sql})"


def _write_xlsx(con: object, sql: str, out: Path) -> None:
    import duckdb
    from openpyxl import Workbook

    assert isinstance(con, duckdb.DuckDBPyConnection)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("conversations")
    cursor = con.execute(sql)
    sheet.append([d[0] for d in cursor.description])
    while batch := cursor.fetchmany(10_000):  # drained to the end, freeing the connection
        for row in batch:
            sheet.append([_cell(v) for v in row])
    book.save(out)


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value  # chat text is untrusted: never let a spreadsheet run it
    return value
