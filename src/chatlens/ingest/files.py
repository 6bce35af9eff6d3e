"""Reading event records from files: JSONL, a JSON array, CSV and Parquet, streamed.

Each reader yields `Record`s: the raw record (a dict, or the undecodable/unparseable line) with
where it came from, so errors can name the line. Memory stays flat for JSONL, CSV and Parquet;
a JSON array is read whole (use JSONL for large files).
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow.parquet as pq

from chatlens.events import InputError
from chatlens.events.schema import MAX_EVENT_BYTES

FORMATS = ("jsonl", "json", "csv", "parquet")


@dataclass
class Record:
    """One record as read, or the reason it could not even be parsed."""

    where: str  # "line 12", "row 12" or "item 12"
    data: dict[str, Any] | None
    raw: str | None = None
    problem: str | None = None
    # Set by importers: which platform object the record came from ("conversation 42,
    # message 7") and, when it could not be converted, the problems with its fields.
    ref: str | None = None
    errors: list[dict[str, str]] | None = None
    source: dict[str, Any] | None = None


Progress = Callable[[int], None]


def detect_format(path: Path) -> str:
    """The format of a file, from its name and, for .json, its first byte."""
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith(".json"):
        with _open_binary(path) as fh:
            head = fh.read(4096).lstrip()
        return "json" if head.startswith(b"[") else "jsonl"
    raise InputError(
        f"{path}: unknown format; expected a .jsonl, .ndjson, .json, .csv or .parquet file "
        "(optionally .gz for the text formats)"
    )


def read_records(path: Path, progress: Progress | None = None) -> Iterator[Record]:
    """Stream the records of one file; raises InputError when the file cannot be read at all."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory; give the files inside it")
    fmt = detect_format(path)
    tick = progress or (lambda n: None)
    if fmt == "parquet":
        return _parquet(path, tick)
    _check_text(path)
    return {"jsonl": _jsonl, "json": _json_array, "csv": _csv}[fmt](path, tick)


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


def _check_text(path: Path) -> None:
    """Refuse binary or non-UTF-8 files up front rather than rejecting every line."""
    with _open_binary(path) as fh:
        try:
            head = fh.read(65536)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: cannot be read: {exc}") from None
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        raise InputError(f"{path}: not UTF-8 text (looks like UTF-16 or binary); save it as UTF-8")
    lines = head.split(b"\n")
    if len(lines) > 1:
        lines.pop()  # the sample may end inside a line (or a character)
    bad = [n for n, line in enumerate(lines, start=1) if not _is_utf8(line)]
    # One bad line is that line's problem (it is quarantined); a bad header or mostly bad
    # lines mean the file is in another encoding.
    if bad and (bad[0] == 1 or len(bad) * 2 > len(lines)):
        raise InputError(
            f"{path}: not UTF-8 text (line {bad[0]} is not valid UTF-8); save it as UTF-8"
        )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _jsonl(path: Path, tick: Progress) -> Iterator[Record]:
    with _open_binary(path) as fh:
        for number, line in enumerate(fh, start=1):
            tick(len(line))
            if not line.strip():
                continue
            where = f"line {number}"
            if len(line) > MAX_EVENT_BYTES:
                yield Record(
                    where,
                    None,
                    None,
                    f"event is {len(line)} bytes; at most {MAX_EVENT_BYTES} (256 KiB)",
                )
                continue
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                yield Record(where, None, line.decode("utf-8", "replace"), "not valid UTF-8")
                continue
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                yield Record(where, None, text.rstrip("\n"), f"not valid JSON: {exc}")
                continue
            if not isinstance(data, dict):
                yield Record(where, None, text.rstrip("\n"), "expected a JSON object per line")
                continue
            yield Record(where, data, text.rstrip("\n"))


def _json_array(path: Path, tick: Progress) -> Iterator[Record]:
    with _open_binary(path) as fh:
        content = fh.read()
    tick(len(content))
    try:
        items = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(items, list):
        raise InputError(f"{path}: expected a JSON array of events or one event per line")
    for index, item in enumerate(items):
        where = f"item {index}"
        if isinstance(item, dict):
            yield Record(where, item, None)
        else:
            yield Record(where, None, orjson.dumps(item).decode(), "expected a JSON object")


def nest_attrs(flat: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values and gather `attrs.<key>` columns into an `attrs` object."""
    out: dict[str, Any] = {}
    attrs: dict[str, Any] = {}
    for key, value in flat.items():
        if value is None or value == "":
            continue
        if key.startswith("attrs."):
            attrs[key[len("attrs.") :]] = value
        elif key == "attrs" and isinstance(value, str):
            try:
                out["attrs"] = orjson.loads(value)
            except orjson.JSONDecodeError:
                out["attrs"] = value  # validation names the field
        else:
            out[key] = value
    if attrs:
        out["attrs"] = {**(out.get("attrs") or {}), **attrs}
    return out


class _CountingReader(io.RawIOBase):
    def __init__(self, raw: IO[bytes], tick: Progress):
        self.raw, self.tick = raw, tick

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        self.tick(len(data))
        return len(data)


def _csv(
    path: Path, tick: Progress, shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> Iterator[Record]:
    with _open_binary(path) as binary:
        text = io.TextIOWrapper(
            io.BufferedReader(_CountingReader(binary, tick)),
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline="",
        )
        reader = csv.DictReader(text)
        if not reader.fieldnames:
            return
        for row in reader:
            where = f"line {reader.line_num}"
            if None in row:
                yield Record(where, None, _csv_raw(row), "more cells than header columns")
                continue
            if any(_has_surrogate(v) for v in row.values() if v):
                yield Record(where, None, None, "not valid UTF-8")
                continue
            yield Record(where, (shape or nest_attrs)(row), None)


def _csv_raw(row: dict[Any, Any]) -> str:
    return orjson.dumps({str(k): v for k, v in row.items()}, default=str).decode()


def _has_surrogate(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _parquet(path: Path, tick: Progress) -> Iterator[Record]:
    try:
        parquet = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for a non-Parquet file
        raise InputError(f"{path}: not a readable Parquet file: {exc}") from None
    number = 0
    for batch in parquet.iter_batches(batch_size=10_000):
        for row in batch.to_pylist():
            number += 1
            yield Record(f"row {number}", nest_attrs(row), None)
        tick(batch.num_rows)


def progress_total(path: Path) -> int | None:
    """The number a reader's progress ticks add up to: bytes, or rows for Parquet."""
    try:
        if detect_format(path) == "parquet":
            return int(pq.ParquetFile(path).metadata.num_rows)
        return None if path.name.lower().endswith(".gz") else path.stat().st_size
    except (InputError, OSError, Exception):
        return None
