"""Turning untrusted records into validated events and store rows."""

from __future__ import annotations

import hashlib
import types
import typing
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import ValidationError

from chatlens.errors import EventError, FieldError, did_you_mean
from chatlens.events.schema import (
    CONTROLS_CHECKED,
    EVENT_MODELS,
    EVENT_TYPES,
    MAX_EVENT_BYTES,
    Event,
)

ColumnKind = Literal["str", "float", "bool", "ts", "json"]
_CHECKED = {CONTROLS_CHECKED: True}


def _kind(annotation: Any) -> ColumnKind:
    """The storage kind of a pydantic field annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        return _kind(args[0])
    if origin is typing.Annotated:
        return _kind(args[0])
    if annotation is bool:
        return "bool"
    if annotation is float:
        return "float"
    if annotation is datetime:
        return "ts"
    if origin is dict or origin in (typing.Union, types.UnionType):
        return "json"
    return "str"


def _columns() -> dict[str, ColumnKind]:
    columns: dict[str, ColumnKind] = {}
    for model in EVENT_MODELS.values():
        for name, info in model.model_fields.items():
            kind = _kind(info.annotation)
            if columns.setdefault(name, kind) != kind:
                raise TypeError(f"field {name} has two storage kinds: {columns[name]}, {kind}")
    return columns


COLUMNS: dict[str, ColumnKind] = _columns()
"""Every typed field of every event type, in a stable order; the store's columns."""


def _describe(value: Any, field: str) -> str:
    if field in ("text", "comment"):
        return ""  # chat text is personal data: never echoed back
    shown = repr(value)
    return f" (got {shown[:60]}{'...' if len(shown) > 60 else ''})"


def _field_errors(exc: ValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(event)"
        msg = err["msg"]
        cause = err.get("ctx", {}).get("error")
        if err["type"] == "value_error":
            msg = str(cause)  # our own messages already say what was given and expected
            loc = getattr(cause, "field", loc)
        elif err["type"] == "missing":
            msg = "is required"
        elif "input" in err:
            msg += _describe(err["input"], loc)
        out.append(FieldError(loc, msg))
    return out


def parse_event(record: Any, controls_checked: bool = False) -> Event:
    """Validate one untrusted record (a dict) and return its event model.

    Raises EventError naming every bad field. The event gets a derived `event_id` when it
    has none. `controls_checked`: the reader showed the record's source text holds no
    control character (json_may_hold_controls), so its strings need no scan.
    """
    if not isinstance(record, dict):
        raise EventError(
            [FieldError("(event)", f"expected a JSON object, got {_json_type(record)}")]
        )
    kind = record.get("type")
    model = EVENT_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        named = str(kind)[:60]
        hint = did_you_mean(named, EVENT_TYPES)
        what = "is required" if kind is None else f"unknown event type {named!r}{hint}"
        raise EventError([FieldError("type", f"{what}; expected one of: {', '.join(EVENT_TYPES)}")])
    try:
        context = _CHECKED if controls_checked else None
        event = model.model_validate(record, context=context)
    except ValidationError as exc:
        raise EventError(_field_errors(exc)) from None
    if event.event_id is None:
        event = event.model_copy(update={"event_id": derive_event_id(event)})
    return event


def parse_json_record(raw: bytes | str) -> Event:
    """Validate one JSON document (a line of JSONL, an API array item serialised)."""
    size = len(raw.encode("utf-8") if isinstance(raw, str) else raw)
    if size > MAX_EVENT_BYTES:
        raise EventError(
            [FieldError("(event)", f"event is {size} bytes; at most {MAX_EVENT_BYTES} (256 KiB)")]
        )
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise EventError([FieldError("(event)", f"not valid JSON: {exc}")]) from None
    return parse_event(record)


def derive_event_id(event: Event) -> str:
    """A stable id from the event's normalised content (same event, same id)."""
    content = event.model_dump(mode="json", exclude_none=True, exclude={"event_id"})
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return "h-" + digest[:40]


def to_row(event: Event) -> dict[str, Any]:
    """The store row of an event: its typed fields, attrs and unknown fields as JSON.

    Columns the event's type does not have are absent (they are stored as null).
    """
    row = dict(event.__dict__)  # the declared fields; a C-level copy, fast on the hot path
    if row.get("attrs") is not None:
        row["attrs"] = orjson.dumps(row["attrs"]).decode()
    extra = event.__pydantic_extra__
    if extra:
        row["extra"] = orjson.dumps(extra).decode()
    return row


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), "null" if value is None else type(value).__name__)
