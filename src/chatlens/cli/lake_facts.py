"""`chatlens lake facts` (DuckDB) and `chatlens spark facts` (Spark): the conversation facts
and agent stints derived into an event lake, incrementally (chatlens.lake.facts)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from chatlens.cli.common import fail, out
from chatlens.cli.report import SetOption, _overrides
from chatlens.errors import ChatlensError, InputError
from chatlens.lake import spark_source
from chatlens.lake.facts import DeriveResult, DuckDBLimits, derive, settings_of
from chatlens.lake.layout import Lake
from chatlens.store.settings import Settings, load_settings, make_settings

spark_app = typer.Typer(help="Apache Spark jobs over an event lake (chatlens[spark]).")
lake_facts_app = typer.Typer(help="The event lake (docs/lake.md).")

LakeOption = Annotated[
    str,
    typer.Option(
        "--lake",
        help="The lake: a path, or s3://bucket/prefix?endpoint_override=HOST:PORT&scheme=http",
    ),
]
FullOption = Annotated[
    bool, typer.Option("--full", help="Derive every partition again (not only what changed).")
]
SettingsDbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Take the settings from this store (default: those of the lake's last run, "
        "else the defaults).",
        show_default=False,
    ),
]


def register(app: typer.Typer, lake_app: typer.Typer | None = None) -> None:
    """`spark facts` on `app`, and `facts` on the `lake` command group (made here unless
    given)."""
    spark_app.command("facts")(spark_facts)
    app.add_typer(spark_app, name="spark", no_args_is_help=True)
    if lake_app is None:
        lake_app = lake_facts_app
        app.add_typer(lake_app, name="lake", no_args_is_help=True)
    lake_app.command("facts")(lake_facts)


def _settings(lake: Lake, db: Path | None, overrides: dict[str, Any]) -> Settings:
    if db is not None:
        from chatlens.store import open_store

        with open_store(db, read_only=True) as store:
            base = load_settings(store.con)
    else:
        base = settings_of(lake) or make_settings({})
    try:
        return make_settings({**base.model_dump(), **overrides})
    except (ValueError, TypeError) as exc:
        raise InputError(f"--set: {exc}") from None


def _report(result: DeriveResult) -> None:
    if not result.partitions and not result.full:
        out.print(f"facts up to date (nothing new in the lake; {result.seconds:.1f} s)")
        return
    how = "full rebuild" if result.full else "incremental"
    if result.slices > 1:
        how += f" in {result.slices} slices"
    days = _days(result.partitions)
    out.print(
        f"facts derived ({how}) in {result.seconds:.1f} s: {result.conversations} "
        f"conversations; events partitions {days}; facts partitions written: "
        f"{len(result.facts_partitions)}"
    )


def lake_facts(
    lake: LakeOption,
    full: FullOption = False,
    settings: SetOption = None,
    db: SettingsDbOption = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(
            "--memory-limit",
            help="DuckDB's memory cap, e.g. 8GB (default 80 % of the RAM); beyond it DuckDB "
            "spills to --temp-dir.",
            show_default=False,
        ),
    ] = None,
    temp_dir: Annotated[
        str | None,
        typer.Option(
            "--temp-dir",
            help="Where DuckDB spills (default .tmp in the current folder).",
            show_default=False,
        ),
    ] = None,
    max_temp_size: Annotated[
        str | None,
        typer.Option(
            "--max-temp-size",
            help="The most DuckDB may spill, e.g. 40GB (default 90 % of the free disk).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Derive the facts and stints of what changed in the lake, with DuckDB."""
    try:
        limits = DuckDBLimits(memory_limit, temp_dir, max_temp_size)
        opened = Lake.open(lake)
        opened.check_reachable()  # before reading its manifest
        chosen = _settings(opened, db, _overrides(settings))
        _report(derive(opened, chosen, full=full, limits=limits))
    except ChatlensError as exc:
        raise fail(str(exc)) from None


def spark_facts(
    lake: LakeOption,
    master: Annotated[
        str | None,
        typer.Option("--master", help="local[N] (default local[2]) or spark://HOST:PORT."),
    ] = None,
    remote: Annotated[
        str | None, typer.Option("--remote", help="Spark Connect: sc://HOST:PORT.")
    ] = None,
    full: FullOption = False,
    settings: SetOption = None,
    db: SettingsDbOption = None,
) -> None:
    """Derive the facts and stints of what changed in the lake, on Spark."""
    try:
        if master and remote:
            raise InputError("give --master or --remote, not both")
        opened = Lake.open(lake)
        if spark_source.needs_source(opened):
            spark_source.check_lake(opened)  # before reading its manifest
        chosen = _settings(opened, db, _overrides(settings))
        session = _session(master, remote)
        _report(derive(opened, chosen, engine="spark", session=session, full=full))
    except ChatlensError as exc:
        raise fail(str(exc)) from None


def _session(master: str | None, remote: str | None) -> Any:
    """The Spark session for --master or --remote (store/spark.py's spark_session)."""
    from chatlens.store.spark import spark_session

    if remote:
        try:
            return spark_session(**{"remote": remote})  # the `cluster` branch adds it
        except TypeError:
            raise InputError("--remote needs Spark Connect support in this chatlens") from None
    return spark_session(master or "local[2]")


def _days(partitions: list[str]) -> str:
    """The days derived: each one when they are few, else how many and their range."""
    if len(partitions) <= 7:
        return ", ".join(partitions) or "none"
    ordered = sorted(partitions)
    return f"{len(ordered)} days from {ordered[0]} to {ordered[-1]}"
