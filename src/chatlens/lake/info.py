"""What a lake holds: its events partitions, files, rows, bytes, days and the second copies
waiting for compaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chatlens.lake.compact import partitions
from chatlens.lake.layout import EVENTS, Lake


def shown_url(url: str) -> str:
    """A lake URL fit for output and logs: credentials in it (`s3://KEY:SECRET@bucket`, or a
    `secret_key=` / `session_token=` parameter) are masked."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.split("@", 1)[1]
    path, mark, query = rest.partition("?")
    if query:
        pairs = [p.partition("=") for p in query.split("&")]
        secret = ("secret_key", "session_token", "access_key")
        query = "&".join(k + s + ("***" if k in secret else v) for k, s, v in pairs)
    return f"{scheme}{sep}{path}{mark}{query}"


@dataclass
class LakeInfo:
    url: str
    partitions: int
    files: int
    rows: int
    bytes: int
    first_day: dt.date | None
    last_day: dt.date | None
    duplicates: int
    """Rows whose event_id appears earlier (in the lake's order): what compaction removes."""
    temporary: int
    """Files being written, or left by a writer that crashed (never read)."""
    unsplit: int
    """Partitions holding more than one file (compaction merges them)."""

    def as_dict(self) -> dict[str, Any]:
        found = asdict(self)
        for name in ("first_day", "last_day"):
            found[name] = found[name].isoformat() if found[name] else None
        return found


def lake_info(lake: Lake) -> LakeInfo:
    """Count what the lake's events hold. Rows come from the files' footers; duplicates need
    the event_id column of every file (read, nothing else)."""
    parts = partitions(lake, EVENTS)
    files = [info for part in parts for info in part.files]
    rows = 0
    ids = []
    for info in files:
        with lake.fs.open_input_file(info.path) as fh:
            parquet = pq.ParquetFile(fh)
            rows += parquet.metadata.num_rows
            ids.append(parquet.read(columns=["event_id"]).column("event_id"))
    distinct = len(pc.unique(pa.chunked_array(ids, pa.string()))) if ids else 0
    return LakeInfo(
        url=shown_url(lake.url),
        partitions=len(parts),
        files=len(files),
        rows=rows,
        bytes=sum(info.size or 0 for info in files),
        first_day=parts[0].day if parts else None,
        last_day=parts[-1].day if parts else None,
        duplicates=rows - distinct,
        temporary=sum(len(part.temporary) for part in parts),
        unsplit=sum(len(part.files) > 1 for part in parts),
    )
