"""The `chatlens` command line."""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from chatlens import topics
from chatlens.cli import audit as audit_commands
from chatlens.cli import connections as connections_commands
from chatlens.cli import lake as lake_commands
from chatlens.cli import lake_facts as lake_facts_commands
from chatlens.cli import privacy as privacy_commands
from chatlens.cli import report as report_commands
from chatlens.cli import server as server_commands
from chatlens.cli import sync as sync_commands
from chatlens.cli import topics as topics_commands
from chatlens.cli.common import DbOption, err, fail, out
from chatlens.errors import ChatlensError, InputError
from chatlens.importers import REGISTRY, Importer, expand_paths, get_importer
from chatlens.ingest import ImportSummary, import_file, progress_total
from chatlens.store import Store, open_store
from chatlens.store.db import db_path
from chatlens.store.facts import refresh_facts
from chatlens.store.info import store_info
from chatlens.store.settings import Settings, load_settings, save_setting

app = typer.Typer(
    help="chatlens: analytics for chatbots and live chat.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
settings_app = typer.Typer(
    help="Workspace settings applied when figures are computed.", no_args_is_help=True
)
docs_app = typer.Typer(help="Generate reference docs from the code.", no_args_is_help=True)
app.add_typer(settings_app, name="settings")
report_commands.register(app)
server_commands.register(app)
topics_commands.register(app)
privacy_commands.register(app)
connections_commands.register(app)
lake_commands.register(app)
lake_facts_commands.register(app, lake_commands.lake_app)
sync_commands.register(app)
audit_commands.register(app)
app.add_typer(docs_app, name="docs")


@app.command("import")
def import_cmd(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Event files (JSONL, JSON, CSV, Parquet), or a platform's export "
            "files or directories with --from."
        ),
    ],
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="chatlens (events as in docs/events.md), or a platform: "
            + ", ".join(REGISTRY)
            + ". See docs/importers.md.",
        ),
    ] = "chatlens",
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-o",
            help="KEY=VALUE setting of the importer (e.g. mapping=FILE for --from mapping).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Import event files or a platform's export; bad records go to <FILE>.rejected.jsonl,
    good ones are kept. Importing the same data again adds nothing. Exit status: 0 all
    imported, 1 some records rejected or conflicting, 2 a file could not be read (wholly,
    or past some point: what was read before it is kept)."""
    total = ImportSummary("total")
    unreadable = 0
    try:
        importer = None if source == "chatlens" else get_importer(source, _options(option))
        paths = expand_paths(files) if importer else files
        with open_store(db) as store:
            for path in paths:
                try:
                    summary = _import_with_progress(store, path, importer)
                except InputError as exc:  # not readable at all: say so, go on with the rest
                    unreadable += 1
                    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
                    continue
                total.add(summary)
                _print_summary(summary)
                if summary.failure:
                    unreadable += 1
                    kept = "; the records before it were imported" if summary.read else ""
                    err.print(
                        f"[bold red]error:[/] {escape(summary.failure)}{kept}", highlight=False
                    )
            started = time.perf_counter()
            refreshed = refresh_facts(store)
            took = time.perf_counter() - started
            topics.refresh(store)  # new conversations join the existing topics
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    if len(paths) > 1:
        _print_summary(total)
    how = "rebuilt" if refreshed.full else "updated"
    out.print(
        f"conversation facts {how}: {refreshed.conversations:,} conversations "
        f"in {took:.1f} s; store: {db_path(db)}"
    )
    if unreadable:
        raise typer.Exit(2)
    if total.rejected or total.conflicts:
        raise typer.Exit(1)


def _options(pairs: list[str] | None) -> dict[str, str]:
    settings: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--option {pair!r}: expected KEY=VALUE")
        settings[key.strip()] = value
    return settings


def _import_with_progress(
    store: Store, path: Path, importer: Importer | None = None
) -> ImportSummary:
    columns = [
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err, transient=True) as bar:
        total = None if path.name.lower().endswith(".gz") else progress_total(path)
        task = bar.add_task(path.name, total=total)
        tick = lambda n: bar.advance(task, n)  # noqa: E731
        records = importer.records(path, tick) if importer else None
        return import_file(store, path, tick, records)


def _print_summary(s: ImportSummary) -> None:
    line = (
        f"{s.source}: read {s.read:,}, imported {s.imported:,}, "
        f"duplicates {s.duplicates:,}, rejected {s.rejected:,}, conflicts {s.conflicts:,}"
    )
    out.print(line, highlight=False)
    for problem in s.first_errors:
        err.print(f"  rejected {problem}", highlight=False, markup=False)
    if s.rejected_path:
        err.print(
            f"  all rejected and conflicting records with reasons: {s.rejected_path}",
            highlight=False,
            markup=False,
        )


@app.command()
def info(db: DbOption = None) -> None:
    """What the store holds: events by type, conversations, agents, date range."""
    try:
        with open_store(db) as store:
            facts = store_info(store)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    table = Table(title=f"chatlens store {db_path(db)}", show_header=False)
    for key, value in facts.summary.items():
        table.add_row(key, f"{value:,}" if isinstance(value, int) else str(value))
    out.print(table)
    types = Table("event type", "events")
    for name, count in facts.events_by_type.items():
        types.add_row(name, f"{count:,}")
    out.print(types)


@app.command()
def simulate(
    out_file: Annotated[Path, typer.Option("--out", help="Output: .jsonl, .parquet or .csv")],
    conversations: Annotated[int, typer.Option(min=1)] = 1000,
    days: Annotated[int, typer.Option(min=1)] = 30,
    seed: int = 1,
    end: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last simulated day (default: today, UTC)."),
    ] = None,
    agents: Annotated[int, typer.Option(min=1)] = 25,
    teams: Annotated[int, typer.Option(min=1)] = 3,
    bots: Annotated[int, typer.Option(min=0)] = 2,
) -> None:
    """Write a realistic event stream of a support operation (deterministic per seed)."""
    from chatlens.simulate import SimConfig, write_events

    config = SimConfig(
        conversations=conversations,
        days=days,
        seed=seed,
        end=end.date() if end else None,
        agents=agents,
        teams=teams,
        bots=bots,
    )
    started = time.perf_counter()
    count = write_events(config, out_file)
    out.print(
        f"wrote {count:,} events of {conversations:,} conversations to {out_file} "
        f"in {time.perf_counter() - started:.1f} s"
    )


@app.command()
def demo(
    db: DbOption = None,
    conversations: int = 50_000,
    days: int = 90,
    seed: int = 7,
) -> None:
    """Simulate 90 days of a mid-size support operation into the store (once) and give it a
    demo sign-in; `make demo` then serves it."""
    from chatlens.simulate import SimConfig

    path = db_path(db)
    # the demo's data stops now: the live view shows chats going on now, nothing in the future
    now = dt.datetime.now(dt.UTC)
    config = SimConfig(conversations=conversations, days=days, seed=seed, stop_at=now)
    try:
        with open_store(path) as store:
            if store.max_seq() == 0:
                _demo_data(store, config, path.with_name(path.stem + "-demo-events.parquet"))
            facts = store_info(store)
        _demo_login(path)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    out.print(
        f"demo store ready: {path} ({facts.summary['conversations']:,} conversations, "
        f"{facts.summary['events']:,} events)"
    )
    first = config.last_day - dt.timedelta(days=config.days - 1)
    out.print(f"report: chatlens report --db {path} --from {first} --to {config.last_day}")
    out.print(
        f"dashboard: chatlens serve --db {path}, then sign in as {DEMO_LOGIN[0]} with "
        f"password {DEMO_LOGIN[1]}"
    )


DEMO_LOGIN = ("demo@chatlens.example", "chatlens-demo")


def _demo_data(store: Store, config: Any, source: Path) -> None:
    from chatlens.simulate import write_events

    out.print(f"simulating {config.conversations:,} conversations over {config.days} days ...")
    write_events(config, source)
    for key, value in _demo_settings(config.timezone).items():
        save_setting(store.con, key, value)
    _print_summary(_import_with_progress(store, source))
    refresh_facts(store)
    topics.refresh(store)
    source.unlink()


def _demo_login(path: Path) -> None:
    """An admin seat in the default workspace for the demo (a known password: demo only)."""
    from chatlens.app import service
    from chatlens.app.db import app_db_url, open_app_db

    factory = open_app_db(app_db_url(path.resolve()))
    try:
        with factory() as session:
            service.ensure_default_workspace(session, path.resolve())
            service.create_user(session, DEMO_LOGIN[0], DEMO_LOGIN[1], "default", "admin")
    finally:
        factory.kw["bind"].dispose()


def _demo_settings(timezone: str) -> dict[str, object]:
    weekday = ["08:00", "18:00"]
    return {
        "timezone": timezone,
        "business_hours": {day: weekday for day in ("mon", "tue", "wed", "thu", "fri")},
        "cost_per_agent_conversation": 6.0,
        "cost_per_bot_conversation": 0.5,
        "currency": "EUR",
        "canned_seconds_saved": 20,
        "goals": {
            "csat": {"min": 4.5},
            "first_response_time_p90": {"max": 60},
            "fcr_rate": {"min": 0.8},
        },
    }


@app.command("rebuild-facts")
def rebuild_facts(db: DbOption = None) -> None:
    """Recompute every conversation's facts from the events."""
    with open_store(db) as store:
        result = refresh_facts(store, full=True)
    out.print(f"rebuilt facts of {result.conversations:,} conversations")


@settings_app.command("list")
def settings_list(db: DbOption = None) -> None:
    """Show every setting with its value and meaning."""
    with open_store(db) as store:
        current = load_settings(store.con)
    table = Table("setting", "value", "meaning")
    for name, info in Settings.model_fields.items():
        value = orjson.dumps(getattr(current, name)).decode()
        table.add_row(name, value, info.description or "")
    out.print(table)


@settings_app.command("set")
def settings_set(
    key: str,
    value: Annotated[str, typer.Argument(help="A JSON value, or plain text for strings.")],
    db: DbOption = None,
) -> None:
    """Set one setting (the value is JSON: 90, "Europe/Helsinki", ["sorry"] ...)."""
    try:
        # Python's parser also reads NaN, Infinity and 1e309 (as inf): the setting's check
        # then names the field holding one, instead of taking the JSON for plain text
        parsed = json.loads(value)
    except ValueError:
        parsed = value
    try:
        with open_store(db) as store:
            saved = save_setting(store.con, key, parsed)
            refresh_facts(store)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    out.print(f"{key} = {orjson.dumps(getattr(saved, key)).decode()}", markup=False)


@docs_app.command("events")
def docs_events(
    out_file: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Write the event model reference (docs/events.md) generated from the models."""
    from chatlens.events.docs import events_markdown

    _write_doc(events_markdown(), out_file)


@docs_app.command("facts")
def docs_facts(
    out_file: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Write the conversation facts reference (docs/facts.md)."""
    from chatlens.store.facts_doc import facts_markdown

    _write_doc(facts_markdown(), out_file)


@docs_app.command("metrics")
def docs_metrics(
    out_file: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Write the metric reference (docs/metrics.md) generated from the catalogue."""
    from chatlens.metrics.docs import metrics_markdown

    _write_doc(metrics_markdown(), out_file)


def _write_doc(text: str, out_file: Path | None) -> None:
    if out_file:
        out_file.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
