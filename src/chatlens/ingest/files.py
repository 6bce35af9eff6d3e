"""Reading event records from files: JSONL, a JSON array, CSV and Parquet, streamed.

Each reader yields `Record`s: the raw record (a dict, or the undecodable/unparseable line) with
where it came from, so errors can name the line. Memory stays flat for JSONL, CSV and Parquet;
a JSON array is read whole (use JSONL for large files).

The rules (docs/importers.md, "Bad input"): a bad record is that record's problem, wherever it
is in the file; a whole file is refused only when it is evidently not UTF-8 text or its
structure is unusable (a CSV header); when a file cannot be read past some point (truncated or
corrupt `.gz`, broken CSV quoting, an unterminated JSON array) the records before it are kept
and the reader raises `ReadFailure` naming the position.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson
import pyarrow.parquet as pq

from chatlens.errors import InputError
from chatlens.events import COLUMNS
from chatlens.events.schema import MAX_EVENT_BYTES, json_may_hold_controls

FORMATS = ("jsonl", "json", "csv", "parquet")
# A cell may be as large as a whole event (and then be rejected by size, not crash the reader).
csv.field_size_limit(max(csv.field_size_limit(), 4 * MAX_EVENT_BYTES))
_CSV_BOOLEANS = {
    **dict.fromkeys(("true", "t", "yes", "y", "on", "1"), True),
    **dict.fromkeys(("false", "f", "no", "n", "off", "0"), False),
}
_BOOL_FIELDS = tuple(name for name, kind in COLUMNS.items() if kind == "bool")
_READ_ERRORS = (OSError, EOFError, zlib.error, csv.Error, UnicodeError)


class ReadFailure(InputError):
    """A file cannot be read from `where` on; the records before it were read."""

    def __init__(self, path: Path, where: str, reason: str):
        self.where = where
        reason = " ".join(reason.split())  # one line, whatever the library said
        super().__init__(f"{path}: cannot be read from {where} on: {reason}")


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
    # The JSON text it came from holds no control character (not even escaped): the event
    # model may skip scanning its strings.
    controls_checked: bool = False


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
        return "json" if read_head(path, 4096).lstrip().startswith(b"[") else "jsonl"
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
    check_text(path)
    if fmt == "jsonl" and _one_document(path):
        fmt = "json"  # an array, or one (pretty-printed) object, in a .jsonl or .json file
    return {"jsonl": _jsonl, "json": _json_document, "csv": _csv_events}[fmt](path, tick)


def open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return io.BufferedReader(_Gunzip(path), buffer_size=65536)
    return path.open("rb")


class _Gunzip(io.RawIOBase):
    """A .gz file's content (any number of members). Everything decompressed before a
    truncation or corruption is handed over first; the failure is raised on the next read,
    so the readers keep every whole line before it."""

    def __init__(self, path: Path):
        self._fh = path.open("rb")
        self._z = zlib.decompressobj(wbits=31)
        self._started = False
        self._data = b""
        self._pos = 0
        self._failure: Exception | None = None
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while self._pos >= len(self._data):
            if self._failure is not None:
                raise self._failure
            if self._done:
                return 0
            self._data, self._pos = self._fill(), 0
        size = min(len(buffer), len(self._data) - self._pos)
        buffer[:size] = self._data[self._pos : self._pos + size]
        self._pos += size
        return size

    def _fill(self) -> bytes:
        chunk = self._fh.read(65536)
        if not chunk:
            self._done = True
            if self._started and not self._z.eof:
                self._failure = EOFError("the compressed file ends early (truncated)")
            return b""
        out = []
        try:
            while chunk:
                if self._z.eof:  # the next member of a multi-member file
                    self._z = zlib.decompressobj(wbits=31)
                self._started = True
                out.append(self._z.decompress(chunk))
                chunk = self._z.unused_data if self._z.eof else b""
        except zlib.error as exc:
            self._failure = OSError(f"corrupt compressed data ({exc})")
        return b"".join(out)

    def close(self) -> None:
        self._fh.close()
        super().close()


def read_head(path: Path, size: int) -> bytes:
    """Up to `size` bytes from the start of a (possibly compressed) file; less when the file
    cannot be read that far (the reader reports where later)."""
    parts: list[bytes] = []
    got = 0
    with open_binary(path) as fh:
        while got < size:
            try:
                part = fh.read1(size - got)  # type: ignore[attr-defined]
            except _READ_ERRORS:
                break
            if not part:
                break
            parts.append(part)
            got += len(part)
    return b"".join(parts)


def check_text(path: Path) -> None:
    """Refuse a file that is evidently not UTF-8 text up front rather than rejecting every
    line. Judged on the first 64 KiB as a whole, never on where one bad byte is: a bad line
    is that line's problem (quarantined) wherever it is."""
    head = read_head(path, 65536)
    boms = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    if head.startswith(boms) or head.count(b"\x00") * 10 > len(head):
        raise InputError(f"{path}: not UTF-8 text (looks like UTF-16 or binary); save it as UTF-8")
    lines = head.split(b"\n")
    if len(lines) > 1 and (len(head) == 65536 or not lines[-1]):
        lines.pop()  # the sample ends inside a line (or a character), or the file in "\n"
    bad = [n for n, line in enumerate(lines, start=1) if not _is_utf8(line)]
    if len(bad) >= 2 and len(bad) * 2 > len(lines):
        raise InputError(
            f"{path}: not UTF-8 text ({len(bad)} of the first {len(lines)} lines are not "
            "valid UTF-8); save it as UTF-8"
        )


def _one_document(path: Path) -> bool:
    """Whether a file read as JSONL is really one JSON document spread over several lines
    (a pretty-printed object or array): its first line is not JSON by itself, the whole is."""
    head = read_head(path, 4096).lstrip()
    if not head.startswith((b"{", b"[")):
        return False
    try:
        orjson.loads(head.split(b"\n", 1)[0])
        return False  # a whole value on the first line: one per line
    except orjson.JSONDecodeError:
        pass
    whole = read_head(path, 4 * MAX_EVENT_BYTES + 1)
    if len(whole) > 4 * MAX_EVENT_BYTES:
        return False
    try:
        return isinstance(orjson.loads(whole), dict | list)
    except orjson.JSONDecodeError:
        return False


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def numbered_lines(path: Path, fh: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Numbered lines; a read failure becomes a ReadFailure naming the first line lost."""
    number = 0
    try:
        for number, line in enumerate(fh, start=1):
            yield number, line
    except _READ_ERRORS as exc:
        raise ReadFailure(path, f"line {number + 1}", str(exc)) from None


def _jsonl(path: Path, tick: Progress) -> Iterator[Record]:
    with open_binary(path) as fh:
        for number, line in numbered_lines(path, fh):
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
            yield Record(
                where, data, text.rstrip("\n"), controls_checked=not json_may_hold_controls(line)
            )


def _json_document(path: Path, tick: Progress) -> Iterator[Record]:
    """A JSON array of events, or one event (an object, pretty-printed or not). The items of
    an array that breaks off (truncated, or invalid from some item on) are kept up to there."""
    content, failure = read_all(path)
    tick(len(content))
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        items, where, reason = _salvage_array(content)
        yield from _items(items)
        raise ReadFailure(path, where, failure or reason or f"not valid JSON: {exc}") from None
    checked = not json_may_hold_controls(content)
    if isinstance(document, dict):
        size = len(orjson.dumps(document))
        if size > MAX_EVENT_BYTES:
            problem = f"event is {size} bytes; at most {MAX_EVENT_BYTES} (256 KiB)"
            yield Record("line 1", None, None, problem)
        else:
            yield Record("line 1", document, None, controls_checked=checked)
        return
    yield from _items(document if isinstance(document, list) else [document], checked)


def _items(items: list[Any], checked: bool = False) -> Iterator[Record]:
    for index, item in enumerate(items):
        where = f"item {index}"
        if isinstance(item, dict):
            yield Record(where, item, None, controls_checked=checked)
        else:
            yield Record(where, None, orjson.dumps(item).decode(), "expected a JSON object")


def read_all(path: Path) -> tuple[bytes, str | None]:
    """The whole content, or what could be read of it and why the rest could not."""
    parts: list[bytes] = []
    with open_binary(path) as fh:
        while True:
            try:
                part = fh.read1(1 << 20)  # type: ignore[attr-defined]
            except _READ_ERRORS as exc:
                return b"".join(parts), str(exc)
            if not part:
                return b"".join(parts), None
            parts.append(part)


def _salvage_array(content: bytes) -> tuple[list[Any], str, str | None]:
    """The items of a JSON array up to where it breaks off: (items, where, why)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = content[: exc.start].decode("utf-8")
    decoder = json.JSONDecoder()
    items: list[Any] = []
    pos = len(text) - len(text.lstrip())
    if not text.startswith("[", pos):
        return items, "item 0", None
    pos += 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            return items, f"item {len(items)}", f"not valid JSON: {exc}"
        items.append(item)
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if not text.startswith(",", pos):
            return items, f"item {len(items)}", "the array breaks off here"
        pos += 1


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


def _csv_events(path: Path, tick: Progress) -> Iterator[Record]:
    """CSV rows of chatlens events: the header must name `type` and `ts`, so a file without
    a header is refused (before anything is imported) instead of its first record silently
    becoming the header."""
    with open_binary(path) as binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
        try:
            header = next(csv.reader(text), None)
        except _READ_ERRORS as exc:
            raise ReadFailure(path, "line 1", str(exc)) from None
    if header is not None:
        _check_header(path, header, ("type", "ts"))
    return csv_records(path, tick)


def _csv_event(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row as an event: attrs columns nested, the lenient CSV booleans converted."""
    event = nest_attrs(row)
    for name in _BOOL_FIELDS:
        value = event.get(name)
        if isinstance(value, str):
            event[name] = _CSV_BOOLEANS.get(value.strip().lower(), value)
    return event


def csv_records(
    path: Path,
    tick: Progress,
    shape: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> Iterator[Record]:
    """CSV rows as records; a row with more or fewer cells than the header, with bytes that
    are not UTF-8, or larger than an event may be is rejected alone."""
    with open_binary(path) as binary:
        text = io.TextIOWrapper(
            io.BufferedReader(_CountingReader(binary, tick)),
            encoding="utf-8-sig",
            errors="surrogateescape",
            newline="",
        )
        reader = csv.reader(text)
        try:
            header = next(reader, None)
        except _READ_ERRORS as exc:
            raise ReadFailure(path, "line 1", str(exc)) from None
        if header is None:
            return
        _check_header(path, header, ())
        width = len(header)
        while True:
            try:
                cells = next(reader, None)
            except _READ_ERRORS as exc:
                raise ReadFailure(path, f"line {reader.line_num}", str(exc)) from None
            if cells is None:
                return
            if not cells:
                continue  # a blank line
            where = f"line {reader.line_num}"
            row = dict(zip(header, cells, strict=False))
            if len(cells) != width:
                more = "more" if len(cells) > width else "fewer"
                raw = orjson.dumps(cells).decode() if _utf8(cells) else None
                problem = f"{len(cells)} cells: {more} than the header's {width} columns"
                yield Record(where, None, raw, problem)
                continue
            if not _utf8(cells):
                yield Record(where, None, None, "not valid UTF-8")
                continue
            size = sum(map(len, cells))  # characters; bytes only when they could be too many
            if size * 4 > MAX_EVENT_BYTES:
                size = sum(len(cell.encode("utf-8")) for cell in cells)
            if size > MAX_EVENT_BYTES:
                problem = f"event is {size} bytes; at most {MAX_EVENT_BYTES} (256 KiB)"
                yield Record(where, None, None, problem)
                continue
            yield Record(where, (shape or _csv_event)(row), None)


def _check_header(path: Path, header: list[str], required: tuple[str, ...]) -> None:
    if not _utf8(header):
        raise InputError(f"{path}: the header (line 1) is not valid UTF-8; save the file as UTF-8")
    twice = sorted(name for name, count in Counter(header).items() if count > 1)
    if twice:
        shown = ", ".join(repr(name) for name in twice)
        raise InputError(f"{path}: the header (line 1) names a column twice: {shown}")
    missing = [name for name in required if name not in header]
    if missing:
        shown = ", ".join(repr(name[:40]) for name in header[:4])
        raise InputError(
            f"{path}: line 1 is not a header naming the columns: {', '.join(missing)} "
            f"missing (got {shown}{', ...' if len(header) > 4 else ''}); the first line of a "
            "CSV file names the fields, e.g. type,ts,conversation_id,sender,text"
        )


def _utf8(cells: list[str]) -> bool:
    return not any(_has_surrogate(cell) for cell in cells if cell)


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
    return _parquet_rows(path, parquet, tick)


def _parquet_rows(path: Path, parquet: pq.ParquetFile, tick: Progress) -> Iterator[Record]:
    """Row group by row group, so a corrupt group loses only itself and what follows."""
    number = 0
    for group in range(parquet.num_row_groups):
        batches = parquet.iter_batches(batch_size=10_000, row_groups=[group])
        while True:
            try:
                batch = next(batches, None)
            except Exception as exc:  # pyarrow raises several types for a corrupt row group
                raise ReadFailure(path, f"row {number + 1}", str(exc)) from None
            if batch is None:
                break
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
