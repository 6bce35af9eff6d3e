"""`chatlens lake`: write event files to an event lake, compact it, show what it holds
(docs/lake.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from chatlens.cli.common import err, fail, out
from chatlens.errors import ChatlensError, InputError
from chatlens.lake.compact import as_day, compact
from chatlens.lake.info import lake_info
from chatlens.lake.ingest import write_file_events
from chatlens.lake.layout import Lake

lake_app = typer.Typer(
    help="The event lake: date-partitioned Parquet on a local path or S3 (docs/lake.md).",
    no_args_is_help=True,
)

LakeOption = Annotated[
    str,
    typer.Option(
        "--lake",
        help="The lake: a local path or s3://BUCKET/PREFIX[?endpoint_override=HOST:PORT"
        "&scheme=http] (credentials from the AWS environment variables).",
        envvar="CHATLENS_LAKE",
    ),
]


def register(app: typer.Typer) -> None:
    app.add_typer(lake_app, name="lake")


@lake_app.command("write")
def write_cmd(
    files: Annotated[list[Path], typer.Argument(help="Event files (JSONL, JSON, CSV, Parquet).")],
    lake: LakeOption,
) -> None:
    """Append event files to the lake. Each file is validated whole first: a file with a bad
    record is refused (the first bad records and fields named) and nothing of it written;
    the others are written. Exit status: 0 all written, 1 some file refused or unreadable."""
    try:
        target = Lake.open(lake)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    refused = 0
    events = 0
    for path in files:
        try:
            written = write_file_events(target, path)
        except InputError as exc:
            refused += 1
            err.print(f"[bold red]refused:[/] {escape(str(exc))}", highlight=False)
            continue
        except OSError as exc:  # the lake itself failed (disk full, S3 unreachable)
            raise fail(f"{path}: cannot write to the lake: {exc}") from None
        events += written.events
        out.print(
            f"{escape(str(path))}: {written.events:,} events in {len(written.files)} "
            f"new file{'s' if len(written.files) != 1 else ''}",
            highlight=False,
        )
    out.print(f"written: {events:,} events from {len(files) - refused} of {len(files)} files")
    if refused:
        raise typer.Exit(1)


@lake_app.command("compact")
def compact_cmd(
    lake: LakeOption,
    since: Annotated[
        str | None, typer.Option("--since", help="Only partitions from this day on (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Merge each day's files into one, dropping second copies of an event_id (the first
    copy, by file age then row order, is kept). Safe while servers write: their new files
    are left for the next run."""
    try:
        done = compact(Lake.open(lake), as_day(since, "--since"))
    except (ChatlensError, OSError) as exc:
        raise fail(str(exc)) from None
    out.print(
        f"compacted {done.partitions} partitions: {done.files_in} files into "
        f"{done.files_out}, {done.rows_in:,} rows into {done.rows_out:,} "
        f"({done.duplicates:,} duplicates dropped); "
        f"{done.stale_removed} stale temporary files removed"
    )


@lake_app.command("info")
def info_cmd(
    lake: LakeOption,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Partitions, files, rows, bytes, days and duplicates pending in the lake's events."""
    try:
        info = lake_info(Lake.open(lake))
    except (ChatlensError, OSError) as exc:
        raise fail(str(exc)) from None
    if as_json:
        sys.stdout.write(orjson.dumps(info.as_dict()).decode() + "\n")
        return
    table = Table(show_header=False, box=None)
    days = f"{info.first_day} to {info.last_day}" if info.first_day else "none"
    for label, value in [
        ("lake", escape(info.url)),
        ("partitions (days)", f"{info.partitions:,}"),
        ("days", days),
        ("files", f"{info.files:,}"),
        ("rows", f"{info.rows:,}"),
        ("bytes", f"{info.bytes:,}"),
        ("duplicates pending", f"{info.duplicates:,}"),
        ("days with several files", f"{info.unsplit:,}"),
        ("temporary files", f"{info.temporary:,}"),
    ]:
        table.add_row(label, value)
    out.print(table)
