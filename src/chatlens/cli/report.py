"""`chatlens report`, `chatlens metrics ...` and `chatlens export ...`."""

from __future__ import annotations

import io
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from chatlens.cli.audit import WorkspaceOption, audited
from chatlens.cli.common import AppDbOption, DbOption, err, fail, out
from chatlens.errors import ChatlensError, InputError, did_you_mean
from chatlens.metrics import METRICS, Engine, Query, Result
from chatlens.metrics.catalogue.lists import LISTS
from chatlens.reports.drill import Drill
from chatlens.reports.export import EXPORT_FORMATS, export_events
from chatlens.reports.format import human, target_text, write_csv
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.settings import load_settings, make_settings

metrics_app = typer.Typer(help="The metric catalogue.", no_args_is_help=True)
export_app = typer.Typer(help="Row-level exports.", no_args_is_help=True)

FromOption = Annotated[str, typer.Option("--from", help="First day (or date-time), local.")]
ToOption = Annotated[str, typer.Option("--to", help="Last day (or date-time), inclusive.")]
FilterOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter", help="DIM=VALUE; repeat for more (the same dimension twice means either)."
    ),
]
SetOption = Annotated[
    list[str] | None, typer.Option("--set", help="KEY=VALUE: override a setting for this run only.")
]


def _pairs(items: list[str] | None, what: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{what} {item!r}: expected KEY=VALUE")
        pairs.append((key.strip(), value))
    return pairs


def _overrides(items: list[str] | None) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for key, value in _pairs(items, "--set"):
        try:
            parsed[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            parsed[key] = value
    return parsed


def _filters(items: list[str] | None) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for key, value in _pairs(items, "--filter"):
        grouped[key].append(value)
    return {k: tuple(v) for k, v in grouped.items()}


def _engine(db: Path | None, overrides: dict[str, Any]) -> tuple[Any, Engine]:
    store = open_store(db)
    refresh_facts(store)
    try:
        return store, Engine(store, overrides)
    except (ValueError, TypeError) as exc:
        store.close()
        raise InputError(f"--set: {exc}") from None


def _spark_engine(source: SparkSource, db: Path | None, overrides: dict[str, Any]) -> Engine:
    """An engine on Spark over an events Parquet file or a lake, in the session --master or
    --remote names (local[2] by default); settings from --db when given (else the defaults),
    then --set."""
    from chatlens.store.spark import open_spark, open_spark_lake, spark_session

    stored = {}
    if db is not None:
        with open_store(db, read_only=True) as store:
            stored = load_settings(store.con).model_dump()
    try:
        settings = make_settings({**stored, **overrides})
    except (ValueError, TypeError) as exc:
        raise InputError(f"--set: {exc}") from None
    session = spark_session(source.master, source.remote)
    if source.lake is not None:
        return Engine.on(open_spark_lake(source.lake, settings, session), settings)
    assert source.events is not None
    return Engine.on(open_spark(source.events, settings, session), settings)


@dataclass(frozen=True)
class SparkSource:
    """What `report --engine spark` reads (--events or --lake) and where it runs."""

    events: Path | None = None
    lake: str | None = None
    master: str | None = None
    remote: str | None = None

    def check(self, engine_name: str) -> None:
        """Raise InputError unless the options go together."""
        spark_only = [
            name
            for name, value in (
                ("--events", self.events),
                ("--lake", self.lake),
                ("--master", self.master),
                ("--remote", self.remote),
            )
            if value is not None
        ]
        if engine_name != "spark":
            if spark_only:
                raise InputError(f"{', '.join(spark_only)}: only with --engine spark")
            return
        if (self.events is None) == (self.lake is None):
            raise InputError(
                "--engine spark reads --events FILE.parquet or --lake URL: give one of them"
            )
        if self.master is not None and self.remote is not None:
            raise InputError(
                "--master and --remote: give one (a cluster, or a Spark Connect server)"
            )


def register(app: typer.Typer) -> None:
    app.add_typer(metrics_app, name="metrics")
    app.add_typer(export_app, name="export")
    app.command("report")(report)


def report(
    start: FromOption,
    end: ToOption,
    every: Annotated[
        str | None, typer.Option("--every", help="Grain: hour, day, week, month or year.")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Dimensions, comma-separated.")] = None,
    filters: FilterOption = None,
    metrics: Annotated[
        str | None, typer.Option("--metrics", help="Metric ids, comma-separated (default: all).")
    ] = None,
    compare: Annotated[
        bool, typer.Option("--compare", help="Add the previous period of equal length.")
    ] = False,
    bounds: Annotated[
        bool,
        typer.Option(
            "--bounds", help="Add <id>__lower to rates: the 95% Wilson lower bound (rankings)."
        ),
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="table, csv, json or markdown")] = "table",
    settings: SetOption = None,
    db: DbOption = None,
    engine_name: Annotated[
        str,
        typer.Option(
            "--engine",
            help="duckdb (the store) or spark (an events Parquet file, --events, or --lake).",
        ),
    ] = "duckdb",
    events: Annotated[
        Path | None,
        typer.Option(
            "--events",
            help="With --engine spark: the events Parquet (chatlens export events).",
            show_default=False,
        ),
    ] = None,
    lake: Annotated[
        str | None,
        typer.Option(
            "--lake",
            help="With --engine spark: an event lake (a folder or s3://bucket/prefix).",
            show_default=False,
        ),
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(
            "--master",
            help="With --engine spark: local[N] (default local[2]) or a cluster, spark://HOST:PORT.",
            show_default=False,
        ),
    ] = None,
    remote: Annotated[
        str | None,
        typer.Option(
            "--remote",
            help="With --engine spark: a Spark Connect server, sc://HOST:PORT.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Compute metrics for a period, optionally by time bucket and dimensions."""
    if fmt not in ("table", "csv", "json", "markdown"):
        raise fail(f"unknown format {fmt!r}; expected table, csv, json or markdown")
    if engine_name not in ("duckdb", "spark"):
        raise fail(f"unknown engine {engine_name!r}; expected duckdb or spark")
    source = SparkSource(events, lake, master, remote)
    try:
        source.check(engine_name)
        ids = tuple(m.strip() for m in metrics.split(",")) if metrics else tuple(METRICS)
        dims = tuple(d.strip() for d in by.split(",")) if by else ()
        query = Query(
            metrics=ids,
            start=start,
            end=end,
            grain=every,
            dimensions=dims,
            filters=_filters(filters),
            compare=compare,
            bounds=bounds,
        )
        if engine_name == "spark":
            result = _spark_engine(source, db, _overrides(settings)).run(query)
        else:
            store, engine = _engine(db, _overrides(settings))
            with store:
                result = engine.run(query)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    {"json": _json, "csv": _csv, "markdown": _markdown, "table": _table}[fmt](result, query)
    for note in result.meta["notes"]:  # on stderr: the output stays machine-readable
        err.print(f"note: {note}", markup=False, highlight=False)


def _columns(result: Result, query: Query) -> list[str]:
    keys = (["bucket"] if query.grain else []) + list(query.dimensions)
    return keys + [c for c in (result.rows[0] if result.rows else {}) if c not in keys]


def _json(result: Result, query: Query) -> None:
    sys.stdout.write(
        orjson.dumps(
            {"meta": result.meta, "rows": result.rows}, option=orjson.OPT_INDENT_2
        ).decode()
        + "\n"
    )


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A row for a CSV: each `<id>__goal` as its status, `<id>__goal_target` ("min 0.8",
    "max 60") and `<id>__goal_progress` columns."""
    out: dict[str, Any] = {}
    for name, value in row.items():
        if name.endswith("__goal") and isinstance(value, dict):
            out[name] = value["status"]
            out[f"{name}_target"] = " ".join(f"{k} {v:g}" for k, v in value["target"].items())
            out[f"{name}_progress"] = value["progress"]
        else:
            out[name] = value
    return out


def _csv(result: Result, query: Query) -> None:
    rows = [_flat(r) for r in result.rows]
    keys = (["bucket"] if query.grain else []) + list(query.dimensions)
    columns = keys + [c for c in (rows[0] if rows else {}) if c not in keys]
    buffer = io.StringIO()
    write_csv(buffer, columns, ([row.get(c) for c in columns] for row in rows))
    sys.stdout.write(buffer.getvalue())


def _cells(result: Result, query: Query) -> tuple[list[str], list[list[str]]]:
    """Metrics as rows, buckets/dimension values as columns: reads best in a terminal."""
    keys = (["bucket"] if query.grain else []) + list(query.dimensions)
    heads = [" / ".join(str(r[k]) for k in keys) or "value" for r in result.rows]
    lines = []
    for mid in query.metrics:
        metric = METRICS[mid]
        line = [mid]
        for row in result.rows:
            text = human(row.get(mid), metric.unit)
            if query.compare and row.get(f"{mid}__previous") is not None:
                text += f" (prev {human(row[f'{mid}__previous'], metric.unit)})"
            line.append(text)
        lines.append(line)
        if any(f"{mid}__band" in r for r in result.rows):
            lines.append([f"{mid}__band", *[r.get(f"{mid}__band") or "-" for r in result.rows]])
        if any(f"{mid}__goal" in r for r in result.rows):
            lines.append(
                [f"{mid}__goal", *[_goal_text(r[f"{mid}__goal"], metric.unit) for r in result.rows]]
            )
    return ["metric", *heads], lines


def _goal_text(goal: dict[str, Any], unit: str) -> str:
    """'missed, 75 % of the way (at least 80.0 %)'."""
    target = target_text(goal["target"], unit)
    if goal["status"] is None:
        return f"no data (goal {target})"
    progress = "" if goal["progress"] is None else f", {goal['progress'] * 100:.0f} % of the way"
    return f"{goal['status']}{progress} ({target})"


def _table(result: Result, query: Query) -> None:
    heads, lines = _cells(result, query)
    table = Table(
        *heads, title=f"{result.meta['from']} .. {result.meta['to']} ({result.meta['timezone']})"
    )
    for line in lines:
        table.add_row(*line)
    out.print(table)


def _markdown(result: Result, query: Query) -> None:
    heads, lines = _cells(result, query)
    text = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    text += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in lines]
    sys.stdout.write("\n".join(text) + "\n")


@metrics_app.command("list")
def metrics_list() -> None:
    """Every metric: id, unit, label (one per line, easy to grep); lists last."""
    width = max(len(mid) for mid in METRICS)
    for metric in METRICS.values():
        out.print(
            f"{metric.id:<{width}}  {metric.unit:<8}  {metric.label}", highlight=False, markup=False
        )
    for entry in LISTS.values():
        out.print(f"{entry.id:<{width}}  {'list':<8}  {entry.label}", highlight=False, markup=False)


@metrics_app.command("explain")
def metrics_explain(
    metric_id: str,
    start: FromOption = "2026-01-01",
    end: ToOption = "2026-01-31",
    every: Annotated[str | None, typer.Option("--every")] = None,
    by: Annotated[str | None, typer.Option("--by")] = None,
    db: DbOption = None,
) -> None:
    """Print the SQL a metric compiles to on the current engine (DuckDB)."""
    if metric_id in LISTS:
        entry = LISTS[metric_id]
        out.print(f"-- {entry.id}: {entry.description}", highlight=False, markup=False)
        out.print("-- a list, not one number; read it from:", highlight=False, markup=False)
        for surface in entry.surfaces:
            out.print(f"--   {surface}", highlight=False, markup=False)
        return
    if metric_id not in METRICS:
        hint = did_you_mean(metric_id, [*METRICS, *LISTS])
        raise fail(f"unknown metric {metric_id!r}{hint}; `chatlens metrics list` shows them all")
    metric = METRICS[metric_id]
    dims = tuple(d.strip() for d in by.split(",")) if by else ()
    try:
        store, engine = _engine(db, {})
        with store:
            query = Query(metrics=(metric_id,), start=start, end=end, grain=every, dimensions=dims)
            sql = engine.explain(metric_id, query)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    out.print(f"-- {metric.id}: {metric.description}", highlight=False, markup=False)
    out.print(sql, highlight=False, markup=False)


@export_app.command("conversations")
def export_conversations_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="The file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or parquet")] = "csv",
    start: Annotated[str, typer.Option("--from")] = "1970-01-01",
    end: Annotated[str, typer.Option("--to")] = "2999-12-31",
    filters: FilterOption = None,
    counted: Annotated[
        str | None,
        typer.Option(
            "--counted",
            help="Only the conversations this count metric counts (e.g. missed_chats).",
        ),
    ] = None,
    csat: Annotated[
        int | None, typer.Option("--csat", help="Only the conversations rated this CSAT score.")
    ] = None,
    settings: SetOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """One row per conversation with its facts, for any filter (recorded in the audit
    trail: `chatlens audit`)."""
    if fmt not in EXPORT_FORMATS:
        raise fail(f"unknown format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    try:
        drill = Drill(counted, csat)
        with audited(db, app_db, workspace, "chatlens export conversations") as found:
            store, engine = _engine(found.store, _overrides(settings))
            with store:
                reader = found.reader(engine)
                count = reader.export(start, end, _filters(filters), drill, fmt, out_file)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote {count:,} conversations to {out_file}")


@export_app.command("events")
def export_events_cmd(
    out_file: Annotated[Path, typer.Option("--out", help="The Parquet file to write.")],
    fmt: Annotated[str, typer.Option("--format", help="parquet")] = "parquet",
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    app_db: AppDbOption = None,
) -> None:
    """Every event as Parquet (what the Spark engine reads; recorded in the audit trail)."""
    if fmt != "parquet":
        raise fail("events export only as parquet")
    try:
        with audited(db, app_db, workspace, "chatlens export events") as found:
            store, engine = _engine(found.store, {})
            with store:
                count = export_events(engine, out_file)
            try:
                found.trail.record("events_export", filters={"format": fmt}, rows=count)
            except BaseException:
                out_file.unlink(missing_ok=True)
                raise
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    out.print(f"wrote {count:,} events to {out_file}")
