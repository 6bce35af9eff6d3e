"""Any CSV/JSON export, described by a small TOML mapping file (docs/importers/mapping.md).

Two shapes:
- flat (no `conversation.turns`): each CSV row / JSON object is one message (or a closing
  record); nothing is grouped;
- nested (`conversation.turns` names the list of turns in a conversation object): each item is
  a whole conversation.

Derived events follow one rule: their id comes from the conversation id (and the agent id) only,
so every export derives the same id; their time comes only from data that is the same in every
export, so an event once stored never has to move:
- `conversation_started`: at `conversation.started_at` when mapped; in a nested export, else at
  the earliest record of the conversation object (which holds the whole conversation). A flat
  export without `started_at` derives none: the store takes the conversation's start from its
  earliest event, recomputed on every import, so a later export that adds earlier rows moves
  the start as it should.
- `agent_joined` (`message.agent_joined = true`): at each agent's first message in the
  conversation. Nested: from the whole conversation object. Flat: the earliest of this file's
  rows, emitted after the file's last row; a later file's earlier rows cannot move it (the id is
  already stored), so import flat exports oldest first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from chatlens.errors import InputError, ItemError
from chatlens.importers.base import Importer, Item, Option, event_id
from chatlens.importers.mapping_spec import (
    DIMENSIONS,
    FieldSpec,
    Found,
    Mapping,
    Scope,
    Section,
    as_text,
    load_mapping,
    lookup,
    resolve,
    shipped_mappings,
    to_timestamp,
)
from chatlens.ingest.files import Progress, Record

# Order of events with the same time: the start, an agent's join, the message, the close.
RANK = {"conversation_started": 0, "agent_joined": 1, "message": 2, "conversation_closed": 3}
FALSE = ("false", "0", "no", "n", "f", "off")


@dataclass
class _FileState:
    """What a flat import remembers across the rows of one file."""

    where: str = ""
    started: set[str] = field(default_factory=set)
    # (conversation, agent) -> (ts, where, ref, event) of the agent's earliest message
    joins: dict[tuple[str, str], tuple[str, str, str | None, dict[str, Any]]] = field(
        default_factory=dict
    )


class MappingImporter(Importer):
    name = "mapping"
    summary = "any CSV/JSON export, described by a small TOML mapping file"
    options: ClassVar = (
        Option(
            "mapping",
            "",
            "TOML mapping file, or the name of a shipped mapping (one-row-per-message, "
            "ibm-twitter-care)",
        ),
    )

    def __init__(self, settings: dict[str, str] | None = None):
        super().__init__(settings)
        ref = self.settings["mapping"].strip()
        if not ref:
            raise InputError(
                "importer 'mapping' needs --option mapping=FILE (a TOML mapping file) or a "
                f"shipped mapping's name: {', '.join(shipped_mappings())}"
            )
        self.mapping: Mapping = load_mapping(ref)
        self._file = _FileState()

    # -- reading ----------------------------------------------------------------------------

    def unwrap(self, document: Any) -> list[Any] | None:
        if self.mapping.items is not None and isinstance(document, dict):
            found = lookup(Scope(document, document), self.mapping.items)
            if isinstance(found, list):
                return found
        return super().unwrap(document)

    def records(self, path: Path, progress: Progress | None = None) -> Iterator[Record]:
        items = self.items(path, progress)  # fails here, before anything is imported
        if self.mapping.nested:
            return self._convert_all(items)
        return self._flat(items)

    def _flat(self, items: Iterator[Item | Record]) -> Iterator[Record]:
        state = self._file = _FileState()

        def noted() -> Iterator[Item | Record]:
            for item in items:
                state.where = item.where
                yield item

        yield from self._convert_all(noted())
        for _ts, where, ref, event in state.joins.values():
            yield Record(where, event, ref=ref, source=None)

    def ref(self, item: dict[str, Any]) -> str | None:
        """How an item is named in errors: conversation 42 (nested); conversation 42,
        message 7 (flat, when message ids are mapped)."""
        scope = Scope(item, item)
        parts = []
        fields = [("conversation", self.mapping.conversation.get("id"))]
        if not self.mapping.nested:
            fields.append(("message", self.mapping.message.get("id")))
        for name, fs in fields:
            try:
                found = resolve(fs, scope)
            except ItemError:
                found = None
            if found is not None and not isinstance(found.value, dict | list):
                parts.append(f"{name} {as_text(found.value)}")
        return ", ".join(parts) or None

    # -- converting -------------------------------------------------------------------------

    def convert(self, item: dict[str, Any]) -> Iterable[dict[str, Any]]:
        if self.mapping.nested:
            return self._conversation(item)
        return self._row(item)

    def _conversation(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """A nested export's conversation object: its turns, closing record and derived
        events."""
        m = self.mapping
        assert m.turns is not None
        whole = Scope(item, item)
        cid, base = self._conversation_fields(whole)
        turns = lookup(whole, m.turns)
        if turns is None:
            turns = []
        if not isinstance(turns, list):
            raise ItemError(m.turns.text, "expected a list of turns")
        events: list[dict[str, Any]] = []
        for n, turn in enumerate(turns):
            where = f"{m.turns.text}[{n}]"
            if not isinstance(turn, dict):
                raise ItemError(where, "expected an object")
            events += self._record(Scope(turn, item, f"{where}."), cid, base)
        if m.close_record is not None and m.close is not None:
            closing = lookup(whole, m.close_record)
            many = closing if isinstance(closing, list) else [] if closing is None else [closing]
            for n, record in enumerate(many):
                where = m.close_record.text + (f"[{n}]" if isinstance(closing, list) else "")
                if not isinstance(record, dict):
                    raise ItemError(where, "expected an object")
                scope = Scope(record, item, f"{where}.")
                events += self._record(scope, cid, base, closing=True)
        start = self._started_at(whole)
        if start is None:
            if not events:
                raise ItemError(m.turns.text, "no turns, and no conversation.started_at mapped")
            start = min(e["ts"] for e in events)
        events.append(self._start_event(cid, start, base, whole))
        if m.agent_joined:
            events += self._joins(cid, events).values()
        events.sort(key=lambda e: (e["ts"], RANK.get(e["type"], 2)))
        return events

    def _row(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """A flat export's row: a message and/or a close; the start when mapped."""
        scope = Scope(item, item)
        cid, base = self._conversation_fields(scope)
        events = self._record(scope, cid, base)
        state = self._file
        start = None
        if cid not in state.started:
            start = self._started_at(scope)
            if start is not None:
                events.insert(0, self._start_event(cid, start, base, scope))
        # remembered only once the whole row converted
        if start is not None:
            state.started.add(cid)
        if self.mapping.agent_joined:
            for (conv, agent), joined in self._joins(cid, events).items():
                known = state.joins.get((conv, agent))
                if known is None or joined["ts"] < known[0]:
                    ref = self.ref(item)
                    state.joins[(conv, agent)] = (joined["ts"], state.where, ref, joined)
        return events

    def _conversation_fields(self, scope: Scope) -> tuple[str, dict[str, Any]]:
        """The conversation id and the dimensions every event of the conversation carries."""
        section = self.mapping.conversation
        found = resolve(section.get("id"), scope)
        if found is None:
            raise _missing(section.get("id"), scope)
        cid = _id(found)
        base: dict[str, Any] = {"conversation_id": cid}
        base.update(_dimensions(section, scope))
        return cid, base

    def _started_at(self, scope: Scope) -> str | None:
        return self._time(self.mapping.conversation.get("started_at"), scope, required=False)

    def _start_event(self, cid: str, ts: str, base: dict[str, Any], scope: Scope) -> dict[str, Any]:
        event = {
            "event_id": event_id(self.mapping.source, cid, "started"),
            "type": "conversation_started",
            "ts": ts,
            **base,
        }
        initiated = resolve(self.mapping.conversation.get("initiated_by"), scope)
        if initiated is not None:
            event["initiated_by"] = _enum(initiated, ("customer", "business"), "initiated_by")
        return event

    def _record(
        self, scope: Scope, cid: str, base: dict[str, Any], closing: bool = False
    ) -> list[dict[str, Any]]:
        """The events of one record (a row, a turn or a closing record): a message, unless it
        is a closing record without text, and a close when it is a closing record."""
        m = self.mapping
        close = m.close
        fields = _Fields(m.message, close if closing else None)
        if not closing and close is not None and close.get("when") is not None:
            when = resolve(close.get("when"), scope)
            if when is not None and as_text(when.value).lower() not in FALSE:
                closing = True
                fields = _Fields(m.message, close)
        ts = self._time(fields.get("ts"), scope, required=True)
        assert ts is not None
        text = resolve(fields.get("text"), scope)
        if text is not None and isinstance(text.value, dict | list):
            raise ItemError(text.label, "expected text, found an object or a list")
        own = resolve(fields.get("id"), scope)
        events: list[dict[str, Any]] = []
        own_dims = _dimensions(fields, scope)  # the record's own values win
        dims = {**base, **own_dims}
        if "attrs" in base and "attrs" in own_dims:
            dims["attrs"] = {**base["attrs"], **own_dims["attrs"]}
        sender = None
        if not closing or text is not None:
            found = resolve(fields.get("sender"), scope)
            if found is None:
                raise _missing(fields.get("sender"), scope)
            sender = _enum(found, ("customer", "agent", "bot", "system"), "sender")
        key = _id(own) if own is not None else _content_key(ts, sender, text)
        if sender is not None:
            message: dict[str, Any] = {
                "event_id": event_id(m.source, cid, "msg", key),
                "type": "message",
                "ts": ts,
                **dims,
                "sender": sender,
            }
            if text is not None:
                value = text.value
                message["text"] = value if isinstance(value, str) else as_text(value)
            if sender == "agent":
                agent = resolve(fields.get("agent_id"), scope)
                if agent is not None:
                    message["agent_id"] = _id(agent)
            events.append(message)
        if closing and close is not None:
            event: dict[str, Any] = {
                "event_id": event_id(m.source, cid, "close", key),
                "type": "conversation_closed",
                "ts": ts,
                **dims,
            }
            for name, allowed in (
                ("resolution", ("resolved", "unresolved", "escalated")),
                ("resolved_by", ("bot", "agent", "customer")),
            ):
                found = resolve(close.get(name), scope)
                if found is not None:
                    event[name] = _enum(found, allowed, name)
            reason = resolve(close.get("reason"), scope)
            if reason is not None:
                event["reason"] = as_text(reason.value)
            events.append(event)
        return events

    def _joins(
        self, cid: str, events: list[dict[str, Any]]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        """An `agent_joined` at each agent's first message among `events`."""
        joins: dict[tuple[str, str], dict[str, Any]] = {}
        for e in sorted(events, key=lambda e: e["ts"]):
            agent = e.get("agent_id")
            if e["type"] != "message" or e.get("sender") != "agent" or agent is None:
                continue
            if (cid, agent) in joins:
                continue
            joined = {k: v for k, v in e.items() if k not in ("text", "sender")}
            joined.update(
                event_id=event_id(self.mapping.source, cid, "joined", agent), type="agent_joined"
            )
            joins[(cid, agent)] = joined
        return joins

    def _time(self, fs: FieldSpec | None, scope: Scope, required: bool) -> str | None:
        found = resolve(fs, scope)
        if found is None:
            if required:
                raise _missing(fs, scope)
            return None
        fmt = found.spec.format or self.mapping.time_format
        return to_timestamp(found.value, fmt, self.mapping.timezone, found.label)


class _Fields:
    """A closing record's fields: those of [close], else those of [message]."""

    def __init__(self, message: Section, close: Section | None):
        self.message, self.close = message, close
        self.attrs = close.attrs if close and close.attrs else message.attrs

    def get(self, name: str) -> FieldSpec | None:
        if self.close is not None and self.close.get(name) is not None:
            return self.close.get(name)
        return self.message.get(name)


def _dimensions(section: Section | _Fields, scope: Scope) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in DIMENSIONS:
        found = resolve(section.get(name), scope)
        if found is not None:
            out[name] = _id(found)
    attrs: dict[str, Any] = {}
    for name, fs in section.attrs.items():
        found = resolve(fs, scope)
        if found is None:
            continue
        if isinstance(found.value, dict | list):
            raise ItemError(found.label, "expected a single value for an attribute")
        attrs[name] = found.value
    if attrs:
        out["attrs"] = attrs
    return out


def _id(found: Found) -> str:
    if isinstance(found.value, dict | list):
        raise ItemError(found.label, "expected a single value, found an object or a list")
    return as_text(found.value)


def _enum(found: Found, allowed: tuple[str, ...], name: str) -> str:
    value = as_text(found.value)
    if value not in allowed:
        raise ItemError(
            found.label,
            f"{value[:40]!r} is not a {name} ({', '.join(allowed)}); map it with values",
        )
    return value


def _missing(fs: FieldSpec | None, scope: Scope) -> ItemError:
    """A required field found nowhere, named by its (first) path in the record and by its
    key in the mapping."""
    assert fs is not None  # required keys are checked when the mapping is loaded
    label = fs.key
    for spec in fs.specs:
        if spec.path is not None:
            label = scope.label(spec.path)
            break
        if spec.present:
            label = " | ".join(scope.label(p) for p, _ in spec.present)
            break
    return ItemError(label, f"missing ({fs.key})")


def _content_key(ts: str, sender: str | None, text: Found | None) -> str:
    """An id for a record without one of its own: a hash of what it says, when and by whom
    (never the row's position, which shifts between exports)."""
    said = "" if text is None else as_text(text.value)
    digest = hashlib.sha256(f"{ts}\x1f{sender}\x1f{said}".encode()).hexdigest()
    return digest[:24]
