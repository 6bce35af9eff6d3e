"""The importer interface: a platform's export in, chatlens events out.

An importer reads the items of a file (a JSON array, one object per line, or an API list
envelope saved from a paginated call), converts each item into chatlens events and yields them
as `Record`s for the normal import pipeline (validation, dedupe, quarantine). An item it cannot
convert is yielded as a record with `errors`, naming the item and the field; the other items
still import.

Event ids are derived from the platform's own ids (`chatwoot:msg:123`), so re-importing an
export adds nothing and an overlapping later export adds only what is new.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import orjson

from chatlens.errors import InputError, ItemError, did_you_mean
from chatlens.ingest.files import (
    Progress,
    ReadFailure,
    Record,
    check_text,
    csv_records,
    numbered_lines,
    open_binary,
    read_all,
    read_head,
)

TEXT_SUFFIXES = (".json", ".jsonl", ".ndjson", ".csv", ".json.gz", ".jsonl.gz", ".csv.gz")


@dataclass(frozen=True)
class Option:
    """A setting an importer accepts (`chatlens import --from X --option KEY=VALUE`)."""

    name: str
    default: str
    help: str


@dataclass
class Item:
    """One platform object as read from a file."""

    where: str  # "item 3", "line 12", "row 7"
    data: dict[str, Any]


class Importer(ABC):
    """Base class: subclasses set `name`, `envelope_keys`, `options` and write `convert`."""

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    # Keys under which an API list envelope holds its items, tried in order; a dotted key
    # walks into nested objects ("data.payload").
    envelope_keys: ClassVar[tuple[str, ...]] = ()
    options: ClassVar[tuple[Option, ...]] = ()

    def __init__(self, settings: dict[str, str] | None = None):
        settings = dict(settings or {})
        known = {o.name for o in self.options}
        unknown = sorted(set(settings) - known)
        if unknown:
            names = ", ".join(sorted(known)) or "none"
            hint = did_you_mean(unknown[0], known) if len(unknown) == 1 else ""
            raise InputError(
                f"importer '{self.name}' has no option {', '.join(unknown)}{hint}; "
                f"its options: {names}"
            )
        self.settings = {o.name: settings.get(o.name, o.default) for o in self.options}

    # -- what subclasses write ------------------------------------------------------------

    @abstractmethod
    def convert(self, item: dict[str, Any]) -> Iterable[dict[str, Any]]:
        """The chatlens events of one item; raise ItemError when the item is unusable."""

    def prepare(self, items: Iterable[dict[str, Any]]) -> None:
        """Learn what a set of items says before any is converted (a first pass over a
        file, or over one conversation's webhook deliveries); most platforms need nothing."""
        del items

    def convert_items(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events of items that belong together (a conversation's webhook deliveries,
        folded), through the same conversion as a file's items; raises ItemError."""
        self.prepare(items)
        return [named_agent(event) for item in items for event in self.convert(item)]

    def ref(self, item: dict[str, Any]) -> str | None:
        """How the item is named in errors, e.g. "conversation 42"."""
        value = item.get("id")
        return f"id {value}" if value is not None else None

    # -- shared machinery -----------------------------------------------------------------

    def records(self, path: Path, progress: Progress | None = None) -> Iterator[Record]:
        """The events of one file as pipeline records; raises InputError (before anything
        is yielded) when the file cannot be read at all."""
        items = self.items(path, progress)
        return self._convert_all(items)

    def scan_items(self, path: Path) -> Iterator[Item | Record]:
        """The items of a file for a first, scanning pass: stops quietly where the file breaks
        off (the converting pass then keeps what comes before and reports where)."""
        try:
            yield from self.items(path)
        except ReadFailure:
            return

    def _convert_all(self, items: Iterator[Item | Record]) -> Iterator[Record]:
        for item in items:
            if isinstance(item, Record):  # unreadable line: passed on to the quarantine
                yield item
                continue
            ref = self.ref(item.data)
            try:
                events = list(self.convert(item.data))
            except ItemError as exc:
                problem = {"field": exc.field, "message": exc.message}
                yield Record(item.where, None, ref=ref, errors=[problem], source=item.data)
                continue
            for event in events:
                yield Record(item.where, named_agent(event), ref=ref, source=None)

    def items(self, path: Path, progress: Progress | None = None) -> Iterator[Item | Record]:
        """The items of one file: JSON array, JSONL (each line an item or an envelope), an
        envelope object, or CSV rows (as dicts of strings)."""
        if not path.exists():
            raise InputError(f"{path}: no such file")
        if path.is_dir():
            raise InputError(f"{path}: is a directory")
        check_text(path)
        tick = progress or (lambda n: None)
        name = path.name.lower().removesuffix(".gz")
        if name.endswith(".csv"):
            return self._csv_items(path, tick)
        head = read_head(path, 4096).lstrip()
        if name.endswith(".json") and head[:1] in (b"[", b"{") and not _one_per_line(path):
            return self._json_items(path, tick)
        return self._jsonl_items(path, tick)

    def _csv_items(self, path: Path, tick: Progress) -> Iterator[Item | Record]:
        for record in csv_records(path, tick, shape=lambda row: row):
            if record.data is None:
                yield record
            else:
                yield Item(record.where, record.data)

    def _json_items(self, path: Path, tick: Progress) -> Iterator[Item | Record]:
        """Read whole (and fail before anything is imported when it is not JSON)."""
        content, failure = read_all(path)
        if failure:
            raise ReadFailure(path, f"byte {len(content)}", failure)
        tick(len(content))
        try:
            document = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON: {exc}") from None
        items = self.unwrap(document)
        if items is None:
            raise InputError(
                f"{path}: expected a JSON array of {self.name} objects, one object per line, "
                f"or an API list envelope ({', '.join(self.envelope_keys) or 'an array'})"
            )
        return _numbered(items, "item")

    def _jsonl_items(self, path: Path, tick: Progress) -> Iterator[Item | Record]:
        with open_binary(path) as fh:
            for number, line in numbered_lines(path, fh):
                tick(len(line))
                if not line.strip():
                    continue
                where = f"line {number}"
                try:
                    document = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    text = line.decode("utf-8", "replace").rstrip("\n")
                    yield Record(where, None, text, f"not valid JSON: {exc}")
                    continue
                items = self.unwrap(document)
                if items is None:
                    text = line.decode("utf-8", "replace").rstrip("\n")
                    yield Record(where, None, text, "expected a JSON object")
                    continue
                for item in items:
                    if isinstance(item, dict):
                        yield Item(where, item)
                    else:
                        yield Record(where, None, orjson.dumps(item).decode(), "not an object")

    def unwrap(self, document: Any) -> list[Any] | None:
        """The items inside a document: the array itself, the list under an envelope key,
        or a lone object as one item. None when the document holds no objects."""
        if isinstance(document, list):
            return document
        if not isinstance(document, dict):
            return None
        for key in self.envelope_keys:
            value: Any = document
            for part in key.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, list):
                return value
        return [document]


def _one_per_line(path: Path) -> bool:
    """A .json file that is really JSONL: its first line is a whole JSON value."""
    head = read_head(path, 1 << 20)
    first, newline, rest = head.partition(b"\n")
    if not newline or not rest.strip():
        return False
    try:
        orjson.loads(first)
    except orjson.JSONDecodeError:
        return False
    return True


def _numbered(items: list[Any], unit: str) -> Iterator[Item | Record]:
    for index, item in enumerate(items):
        where = f"{unit} {index}"
        if isinstance(item, dict):
            yield Item(where, item)
        else:
            yield Record(where, None, orjson.dumps(item).decode(), "expected a JSON object")


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, and the export files inside any directory (sorted by name)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if p.is_file()
                and p.name.lower().endswith(TEXT_SUFFIXES)
                and not p.name.endswith(".rejected.jsonl")
            )
            if not inside:
                raise InputError(f"{path}: holds no .json, .jsonl or .csv files")
            files.extend(inside)
        else:
            files.append(path)
    return files


# -- helpers for converters -------------------------------------------------------------------


UNNAMED_AGENT = "unnamed-agent"
"""The `agent_id` of an agent message whose platform does not say which agent wrote it (a
team's reply, a senderless message taken as an agent's, a human's line in a Rasa tracker):
docs/events.md requires every agent message to name its agent."""


def named_agent(event: dict[str, Any]) -> dict[str, Any]:
    """The event, with UNNAMED_AGENT as the agent of an agent message that names none."""
    unnamed = event.get("agent_id") in (None, "")
    if event.get("type") == "message" and event.get("sender") == "agent" and unnamed:
        return {**event, "agent_id": UNNAMED_AGENT}
    return event


def event_id(*parts: object) -> str:
    """A stable event id from the platform's ids; hashed when it would pass 128 chars."""
    text = ":".join(str(p) for p in parts)
    if len(text) <= 128:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{text[:90]}:{digest}"


def require(item: dict[str, Any], key: str, where: str | None = None) -> Any:
    """item[key], or an ItemError naming the field when it is missing or empty."""
    value = item.get(key)
    if value is None or value == "":
        raise ItemError(where or key, "missing")
    return value


def epoch_seconds(value: Any, field: str) -> str:
    """A Unix time in seconds (int, float or numeric string) as an RFC 3339 UTC timestamp."""
    if isinstance(value, bool) or value is None:
        raise ItemError(field, "missing" if value is None else f"not a Unix time: {value!r}")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ItemError(field, f"not a Unix time in seconds: {value!r}") from None
    try:
        moment = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise ItemError(field, f"out of range: {value!r}") from None
    return moment.isoformat().replace("+00:00", "Z")


def iso_time(value: Any, field: str) -> str:
    """An ISO 8601 timestamp as given by a platform; naive ones are taken as UTC."""
    if not isinstance(value, str) or not value:
        raise ItemError(field, "missing" if not value else f"not a timestamp: {value!r}")
    text = value.strip().replace(" ", "T", 1)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ItemError(field, f"not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.isoformat()


def seconds_after(ts: str, seconds: float) -> str:
    """The RFC 3339 timestamp `seconds` after `ts` (used to order derived events)."""
    moment = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return (moment + dt.timedelta(seconds=seconds)).isoformat()
