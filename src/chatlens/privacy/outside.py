"""An erasure applied outside the store: the ingest journal's files beside it (rows
acknowledged but not yet moved in, or left by a crash) and the event lake's Parquet files
(events, facts, stints), each file rewritten whole when one of its rows changes."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from chatlens.lake.compact import partitions, read_file
from chatlens.lake.layout import EVENTS, KINDS, Lake
from chatlens.lake.rewrite import replace_part
from chatlens.privacy.scrub import Target
from chatlens.store.journal_files import journal_files, rewrite_rows
from chatlens.store.settings import Settings


def journal_conversations(store: Path, customer: str) -> set[str]:
    """The conversations of `customer` named by journalled rows."""
    found = set()
    for row in _journal_rows(store):
        if row.get("customer_id") == customer and row.get("conversation_id"):
            found.add(row["conversation_id"])
    return found


def _journal_rows(store: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in journal_files(store):
        for line in path.read_bytes().split(b"\n"):
            try:
                group = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue
            rows.extend(group if isinstance(group, list) else [group])
    return rows


def erase_journal(store: Path, target: Target, settings: Settings) -> int:
    """Apply the erasure to every journalled row; returns the rows changed. A line that
    does not decode (torn by a crash, never acknowledged) is dropped, as replay drops it."""
    return rewrite_rows(store, lambda row: target.scrub(row, settings))


def lake_conversations(url: str, customers: set[str]) -> set[str]:
    """The conversations named by the lake's events of any of `customers` (reading two
    columns): a workspace served with `--lake` alone has none of them in its store, and
    the texts of those conversations (an agent greeting the customer by name) go too."""
    lake = Lake.open(url)
    wanted = pa.array(sorted(customers), pa.string())
    found: set[str] = set()
    for part in partitions(lake, EVENTS):
        for info in part.files:
            table = read_file(lake, info, ["conversation_id", "customer_id"])
            theirs = pc.fill_null(pc.is_in(table.column("customer_id"), value_set=wanted), False)
            named = table.column("conversation_id").filter(theirs).drop_null()
            found.update(pc.unique(named).to_pylist())
    return found


ERASE_PASSES = 5
"""The most passes `erase_lake` makes over a lake whose files keep changing."""


def erase_lake(url: str, target: Target, settings: Settings, job: int) -> int:
    """Apply the erasure to every Parquet file of the lake; returns the rows changed.

    A file with a changed row is replaced by a copy named from the old name and the job
    (`<old>-e<hash>.parquet`, chatlens.lake.rewrite): a crash between writing the copy and
    deleting the old file leaves both, the copy first in the read order (readers keep the
    erased rows), and the step run again writes the same copy before deleting the old file,
    so no row is ever kept twice.

    The lake may change meanwhile: servers add files, a compaction merges files read
    before this pass rewrote them (docs/lake.md, "Compaction"). So once every listed file
    is done, the files that appeared since are done too, and again, until a pass over the
    new files changes nothing and finds none gone (at most ERASE_PASSES)."""
    lake = Lake.open(url)
    changed = 0
    seen: set[str] = set()
    for _ in range(ERASE_PASSES):
        fresh = [path for path in _lake_files(lake) if path not in seen]
        seen.update(fresh)
        changed_now = gone = 0
        for path in fresh:
            try:
                changed_now += _rewrite(lake, path, target, settings, job)
            except FileNotFoundError:  # merged or replaced since the listing: its
                gone += 1  # successor is a new file, seen by the next pass
        changed += changed_now
        if not changed_now and not gone:
            break
    return changed


def _lake_files(lake: Lake) -> list[str]:
    """Every Parquet file of the lake's kinds (events, facts, stints)."""
    paths = []
    for kind in KINDS:
        selector = pafs.FileSelector(lake.kind_dir(kind), recursive=True, allow_not_found=True)
        for info in lake.fs.get_file_info(selector):
            if info.type == pafs.FileType.File and info.path.endswith(".parquet"):
                paths.append(info.path)
    return paths


def _rewrite(lake: Lake, path: str, target: Target, settings: Settings, job: int) -> int:
    table = pq.read_table(path, filesystem=lake.fs)
    rows = table.to_pylist()
    changed = sum(target.scrub(row, settings) for row in rows)
    if not changed:
        return 0
    stem = path.rsplit("/", 1)[1].removesuffix(".parquet")
    mark = hashlib.sha256(f"{stem}/{job}".encode()).hexdigest()[:12]
    replace_part(lake, path, pa.Table.from_pylist(rows, schema=table.schema), f"e{mark}")
    return changed
