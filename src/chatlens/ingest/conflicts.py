"""Same `event_id`, different content: a conflict, reported rather than silently dropped.

The store keeps the first copy of an id (store.append). A later copy with the same content is a
duplicate (a re-import); one whose content differs is a conflict: the import counts it and
quarantines it so nobody believes it was stored.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from chatlens.store import Store
from chatlens.store.db import ROW_SCHEMA
from chatlens.store.retention import EXPIRED
from chatlens.store.sql import run

MESSAGE = (
    "already stored with different content; the stored event is kept "
    "(fix this one or give it another event_id)"
)


def _differs(name: str) -> str:
    """The test of one column; a field the retention blanked (chatlens.store.retention)
    is not a difference, nor the fallback flag it set before the text went."""
    test = f"i.{name} IS DISTINCT FROM e.{name}"
    if name in EXPIRED:
        return f"({test} AND e.{name} IS DISTINCT FROM '{EXPIRED[name]}')"
    if name == "fallback":
        return f"({test} AND NOT (i.fallback IS NULL AND e.text = ''))"
    return test


_DIFFERS = " OR ".join(_differs(name) for name in ROW_SCHEMA.names if name != "event_id")
_SQL = (
    "SELECT DISTINCT i._pos FROM _checked i JOIN events e ON e.event_id = i.event_id "
    f"WHERE {_DIFFERS} ORDER BY 1"
)


def conflicting(store: Store, rows: list[dict[str, Any]]) -> list[int]:
    """Positions in `rows` whose event_id is stored with other content. Called after the rows
    were appended, so the first copy of every id is in the store and each later copy, from
    this batch or an earlier import, is compared with it. Costs about what the append's own
    conversion to Arrow costs; run only for batches that had duplicates."""
    table = pa.Table.from_pylist(rows, schema=ROW_SCHEMA)
    table = table.append_column("_pos", pa.array(range(len(rows)), pa.int64()))
    store.con.register("_checked", table)
    try:
        return [int(row[0]) for row in run(store.con, _SQL)]
    finally:
        store.con.unregister("_checked")
