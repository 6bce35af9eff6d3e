"""Event columns as integer codes, and their conversion to Arrow tables and JSONL bytes.

Emitters append blocks of events (numpy arrays, or scalars broadcast over the block) to an
`EventBuffer`. `build` drops what lies past the cutoff, sorts the chunk by time and numbers
the events; the resulting `EventChunk` renders strings only at the very end, by
`pyarrow.compute` kernels: no per-event Python objects anywhere on the hot path.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from chatlens.simulate.columns import TYPE, Column

_ALIASES = {"segment": "attrs.segment", "country": "attrs.country", "locale": "attrs.locale"}
_JSONL_SLICE = 200_000  # rows rendered at once (bounds the memory of the string kernels)


def _null_of(col: Column) -> tuple[np.dtype, float]:
    if col.kind in ("float", "ts"):
        return np.dtype(np.float64), np.nan
    if col.kind == "id":
        return np.dtype(np.int64), -1
    if col.kind == "bool":
        return np.dtype(np.int8), -1
    return np.dtype(np.int32 if len(col.values) > 30_000 else np.int16), -1


def arrow_schema(columns: list[Column], ts_as_text: bool = False) -> pa.Schema:
    kinds = {"id": pa.string(), "dict": pa.string(), "bool": pa.bool_(), "float": pa.float64()}
    ts = pa.string() if ts_as_text else pa.timestamp("ms", tz="UTC")
    return pa.schema([pa.field(c.name, ts if c.kind == "ts" else kinds[c.kind]) for c in columns])


class EventBuffer:
    """Blocks of events for one chunk, column by column."""

    def __init__(self, columns: list[Column]) -> None:
        self.columns = columns
        self.blocks: list[tuple[int, dict[str, object]]] = []

    def add(self, etype: str, ts: np.ndarray, **cols: object) -> None:
        """Append len(ts) events of one type; other columns are arrays or scalars."""
        n = len(ts)
        if n == 0:
            return
        values = {_ALIASES.get(k, k): v for k, v in cols.items() if v is not None}
        values["type"] = TYPE[etype]
        values["ts"] = ts
        self.blocks.append((n, values))

    def build(self, cutoff: float, first_number: int) -> EventChunk:
        total = sum(n for n, _ in self.blocks)
        arrays: dict[str, np.ndarray] = {}
        for col in self.columns:
            if col.name == "event_id":
                continue
            dtype, null = _null_of(col)
            if any(col.name in cols for _, cols in self.blocks):
                arrays[col.name] = np.full(total, null, dtype=dtype)
        offset = 0
        for n, cols in self.blocks:
            for name, value in cols.items():
                arrays[name][offset : offset + n] = value
            offset += n
        ts = arrays["ts"]
        keep = np.flatnonzero(ts < cutoff)
        order = keep[np.argsort(ts[keep], kind="stable")]
        out = {name: arr[order] for name, arr in arrays.items()}
        out["ts"] = np.floor(out["ts"] * 1000.0).astype(np.int64)  # epoch milliseconds
        out["event_id"] = first_number + np.arange(len(order), dtype=np.int64)
        return EventChunk(self.columns, out, len(order))


@dataclass
class EventChunk:
    """A chunk of events as code arrays (absent column = all null)."""

    columns: list[Column]
    arrays: dict[str, np.ndarray]
    size: int

    def to_table(self, ts_as_text: bool = False) -> pa.Table:
        """The chunk as an Arrow table; `ts_as_text` renders times as RFC 3339 (for CSV)."""
        data = []
        for col in self.columns:
            if col.kind == "ts" and ts_as_text:
                data.append(_rfc3339(self.arrays["ts"]))
            else:
                data.append(self._arrow(col))
        return pa.Table.from_arrays(data, schema=arrow_schema(self.columns, ts_as_text))

    def _arrow(self, col: Column) -> pa.Array:
        arr = self.arrays.get(col.name)
        n = self.size
        if col.kind == "ts":
            return pa.array(arr, type=pa.timestamp("ms", tz="UTC"))
        if arr is None:
            return pa.nulls(n, pa.bool_() if col.kind == "bool" else _plain(col))
        if col.kind == "float":
            return pa.array(arr, type=pa.float64(), from_pandas=True)
        if col.kind == "bool":
            return pa.array(arr == 1, mask=arr < 0)
        if col.kind == "id":
            return _ids(col, arr)
        return pc.take(_dictionary(col), pa.array(arr, mask=arr < 0))

    def jsonl_parts(self) -> list[memoryview]:
        """The chunk as JSON lines (null fields omitted, attrs nested), in a few buffers."""
        return [
            self._jsonl_slice(start, min(self.size, start + _JSONL_SLICE))
            for start in range(0, self.size, _JSONL_SLICE)
        ]

    def _jsonl_slice(self, lo: int, hi: int) -> memoryview:
        """Rows are grouped by which fields they have, so every string kernel runs on dense
        columns only (a join over all 40 sparse columns is several times slower), then
        put back in time order with one `take`."""
        cols = [(c, self.arrays[c.name][lo:hi]) for c in self.columns if c.name in self.arrays]
        present = np.zeros(hi - lo, dtype=np.int64)
        for bit, (col, arr) in enumerate(cols):
            has = ~np.isnan(arr) if col.kind == "float" else arr >= 0
            present |= has.astype(np.int64) << bit
        signatures, group = np.unique(present, return_inverse=True)
        order = np.argsort(group, kind="stable")
        counts = np.bincount(group, minlength=len(signatures))
        ends = np.cumsum(counts)
        pieces = []
        for signature, begin, stop in zip(signatures.tolist(), ends - counts, ends, strict=True):
            rows = order[begin:stop]
            here = [(col, arr) for bit, (col, arr) in enumerate(cols) if signature >> bit & 1]
            fields = [c for c in here if not c[0].name.startswith("attrs.")]
            attrs = [c for c in here if c[0].name.startswith("attrs.")]
            # The braces ride on the first and last fragments: no extra pass over the lines.
            leads = ["{"] + [""] * (len(fields) - 1) + ['"attrs":{'] + [""] * (len(attrs) - 1)
            tails = [""] * (len(here) - 1) + ["}}\n" if attrs else "}\n"]
            frags = [
                _fragment(col, arr[rows], lead, tail)
                for (col, arr), lead, tail in zip(fields + attrs, leads, tails, strict=False)
            ]
            pieces.append(pc.binary_join_element_wise(*frags, ","))
        back = np.empty(hi - lo, dtype=np.int64)
        back[order] = np.arange(hi - lo)
        lines = pc.take(pa.concat_arrays(pieces), pa.array(back))
        return _string_bytes(lines)


def _plain(col: Column) -> pa.DataType:
    return pa.float64() if col.kind == "float" else pa.string()


def _ids(col: Column, arr: np.ndarray, prefix: str = "", suffix: str = "") -> pa.Array:
    """`prefix + col.prefix + zero-padded number + suffix` per row, null where arr < 0."""
    valid = arr >= 0
    if valid.sum() < len(arr) // 2:  # mostly absent (tickets, items): render the few present
        position = np.cumsum(valid) - 1
        return pc.take(_ids(col, arr[valid], prefix, suffix), pa.array(position, mask=~valid))
    digits = pc.cast(pa.array(arr, mask=~valid), pa.string())
    if col.width:
        digits = pc.utf8_lpad(digits, col.width, padding="0")
    return pc.binary_join_element_wise(prefix + col.prefix, digits, suffix, "")


_EPOCH = dt.date(1970, 1, 1)
_CLOCK = pa.array(
    [f"T{h:02d}:{m:02d}:{s:02d}." for h in range(24) for m in range(60) for s in range(60)]
)


@lru_cache(maxsize=8)
def _millis(tail: str) -> pa.Array:
    return pa.array([f"{ms:03d}{tail}" for ms in range(1000)])


def _rfc3339(ms: np.ndarray, lead: str = "", tail: str = "Z") -> pa.Array:
    """Epoch milliseconds as RFC 3339 UTC text ("2026-11-01T08:15:02.123Z").

    Assembled from lookup tables (date, second of day, millisecond): about 20 times
    faster than `pc.strftime`, which dominated the JSONL writer.
    """
    if len(ms) == 0:
        return pa.array([], type=pa.string())
    day, rest = np.divmod(ms, 86_400_000)
    second, milli = np.divmod(rest, 1000)
    first = int(day.min())
    span = range(int(day.max()) - first + 1)
    dates = pa.array([lead + (_EPOCH + dt.timedelta(days=first + d)).isoformat() for d in span])
    millis = _millis(tail)
    return pc.binary_join_element_wise(
        pc.take(dates, pa.array(day - first)),
        pc.take(_CLOCK, pa.array(second)),
        pc.take(millis, pa.array(milli)),
        "",
    )


_DICTS: dict[tuple[str, tuple[str, ...]], pa.Array] = {}
_FRAGS: dict[tuple[str, tuple[str, ...], str], pa.Array] = {}


def _dictionary(col: Column) -> pa.Array:
    key = (col.name, col.values)
    if key not in _DICTS:
        _DICTS[key] = pa.array(col.values, type=pa.string())
    return _DICTS[key]


def _fragment(col: Column, arr: np.ndarray, lead: str = "", tail: str = "") -> pa.Array:
    """`lead"key":value tail` per row, null where the value is absent."""
    head = lead + orjson.dumps(col.json_key).decode() + ":"
    if col.kind == "dict" or col.kind == "bool":
        values = col.values if col.kind == "dict" else ("false", "true")
        key = (head, values, tail)
        if key not in _FRAGS:
            rendered = values if col.kind == "bool" else [orjson.dumps(v).decode() for v in values]
            _FRAGS[key] = pa.array([head + v + tail for v in rendered], type=pa.string())
        return pc.take(_FRAGS[key], pa.array(arr, mask=arr < 0))
    if col.kind == "ts":
        return _rfc3339(arr, head + '"', 'Z"' + tail)
    if col.kind == "float":
        text = pc.cast(pa.array(arr, from_pandas=True), pa.string())
        return pc.binary_join_element_wise(head, text, tail, "")
    return _ids(col, arr, head + '"', '"' + tail)


def _string_bytes(arr: pa.Array) -> memoryview:
    """The concatenated values of a string array without nulls (no copy)."""
    buffers = arr.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int32, count=len(arr) + 1, offset=arr.offset * 4)
    if buffers[2] is None:
        return memoryview(b"")
    return memoryview(buffers[2])[int(offsets[0]) : int(offsets[-1])]
