"""Row-level exports: one row per conversation with its facts; the raw events as Parquet."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from chatlens.errors import InputError, did_you_mean
from chatlens.metrics.dialects import COMPILERS
from chatlens.metrics.periods import make_period
from chatlens.metrics.query import Engine, Query, validate
from chatlens.metrics.sources import conversations
from chatlens.metrics.sources_base import with_topic
from chatlens.reports.drill import Drill
from chatlens.reports.format import spreadsheet_cell, write_csv
from chatlens.store.sql import run

EXPORT_FORMATS = ("csv", "xlsx", "parquet")


def conversations_sql(engine: Engine, query: Query, drill: Drill | None = None) -> str:
    """SQL for the facts of the conversations a query covers (started in its period), narrowed
    by `drill` (what a click on a figure picked), in the dialect of the engine's backend."""
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
    return COMPILERS[engine.backend.dialect](expr)


def export_conversations(
    engine: Engine, query: Query, fmt: str, out: Path, drill: Drill | None = None
) -> int:
    """Write the conversations of a query (narrowed by `drill`); returns how many."""
    if fmt not in EXPORT_FORMATS:
        hint = did_you_mean(fmt, EXPORT_FORMATS)
        raise InputError(
            f"unknown format {fmt!r}{hint}; expected one of {', '.join(EXPORT_FORMATS)}"
        )
    sql = conversations_sql(engine, query, drill)
    con = engine.store.con
    if fmt == "parquet":
        run(con, f"COPY ({sql}) TO '{_quoted(out)}' (FORMAT parquet)")
    elif fmt == "csv":
        _write_csv(con, _flatten(con, sql, text_booleans=True), out)
    else:
        _write_xlsx(con, _flatten(con, sql), out)
    return int(run(con, f"SELECT count(*) FROM ({sql})")[0][0])


def export_events(engine: Engine, out: Path) -> int:
    """All events as Parquet (the layout a Spark job reads)."""
    con = engine.store.con
    run(con, f"COPY (SELECT * FROM events ORDER BY seq) TO '{_quoted(out)}' (FORMAT parquet)")
    return int(run(con, "SELECT count(*) FROM events")[0][0])


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _flatten(con: object, sql: str, *, text_booleans: bool = False) -> str:
    """Lists as '; '-joined text and times as ISO text, for CSV and spreadsheets; with
    `text_booleans`, booleans as `true`/`false` (as CSV has always had them)."""
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
        elif text_booleans and type_name == "BOOLEAN":
            parts.append(f'"{name}"::VARCHAR AS "{name}"')
        else:
            parts.append(f'"{name}"')
    return f"SELECT {', '.join(parts)} FROM ({sql})"


def _batches(con: object, sql: str) -> tuple[list[str], Iterator[tuple[Any, ...]]]:
    """The column names and rows of `sql`, fetched 10,000 at a time and drained to the end
    (an unfetched result would block the shared connection)."""
    import duckdb

    assert isinstance(con, duckdb.DuckDBPyConnection)
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]

    def rows() -> Iterator[tuple[Any, ...]]:
        while batch := cursor.fetchmany(10_000):
            yield from batch

    return names, rows()


def _write_csv(con: object, sql: str, out: Path) -> None:
    names, rows = _batches(con, sql)
    with out.open("w", encoding="utf-8", newline="") as file:
        write_csv(file, names, rows)


def _write_xlsx(con: object, sql: str, out: Path) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("conversations")
    names, rows = _batches(con, sql)
    sheet.append([xlsx_cell(name) for name in names])
    for row in rows:
        sheet.append([xlsx_cell(v) for v in row])
    book.save(out)


@cache
def _illegal_characters() -> re.Pattern[str]:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # loaded on first use: CLI start-up

    pattern: re.Pattern[str] = ILLEGAL_CHARACTERS_RE  # openpyxl: untyped
    return pattern


XLSX_MAX_CHARS = 32_767  # Excel's limit for one cell; a longer one makes it "repair" the file


def xlsx_cell(value: object) -> object:
    """A value as an XLSX cell: the characters XML 1.0 cannot hold (NUL and the other control
    characters but tab, LF, CR; openpyxl refuses them) shown as U+FFFD, then neutralised as
    in CSV, line breaks as LF (Excel's; a CR written raw is read back as LF by any XML
    parser), then cut to Excel's cell limit (the last character an ellipsis)."""
    if not isinstance(value, str):
        return value
    text = spreadsheet_cell(_illegal_characters().sub("\ufffd", value))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > XLSX_MAX_CHARS:
        text = text[: XLSX_MAX_CHARS - 1] + "\u2026"
    return text
