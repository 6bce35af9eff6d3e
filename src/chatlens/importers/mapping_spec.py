"""The mapping language of the `mapping` importer (docs/importers/mapping.md).

A mapping is a small TOML file naming where each chatlens field sits in a CSV row or a JSON
object. It is read and checked whole before any record is converted, so a typo fails at once
with the key named. Each field is a *field spec*:

- `"a.b.0.c"`: a CSV column or a dotted JSON path (a number indexes a list); a path that starts
  with `/` is read from the conversation object rather than the turn (nested exports);
- `{ value = "twitter" }`: a constant;
- `{ present = { client = "customer", agent = "agent" } }`: the first of these keys the record
  has decides the value;
- `{ path = ..., pattern = REGEX, values = {...}, template = "...", format = ... }`: a path
  whose value is matched by a regex (group 1 is kept; no match = no value), translated by a
  table (`"*"` = any other value; otherwise an unlisted value is an error), and/or put into a
  template (`{}` = the value, `{PATH}` = another field of the record); `format` for times;
- `[spec, spec, ...]`: the first that gives a value.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chatlens.errors import InputError, ItemError, did_you_mean

SENDERS = ("customer", "agent", "bot", "system")
ENUMS: dict[str, tuple[str, ...]] = {
    "message.sender": SENDERS,
    "close.sender": SENDERS,
    "conversation.initiated_by": ("customer", "business"),
    "close.resolution": ("resolved", "unresolved", "escalated"),
    "close.resolved_by": ("bot", "agent", "customer"),
}
TIME_FORMATS = ("iso", "unix", "unix_ms", "snowflake")
TIME_FIELDS = ("conversation.started_at", "message.ts", "close.ts")
TWITTER_EPOCH_MS = 1288834974657  # snowflake ids: ms since epoch = (id >> 22) + this

DIMENSIONS = ("channel", "customer_id", "bot_id", "team")
SECTIONS: dict[str, tuple[str, ...]] = {
    "": ("name", "description", "source", "items", "time", "conversation", "message", "close"),
    "time": ("format", "timezone"),
    "conversation": ("id", "turns", "started_at", "initiated_by", *DIMENSIONS, "attrs"),
    "message": ("id", "ts", "sender", "text", "agent_id", *DIMENSIONS, "attrs", "agent_joined"),
    "close": (
        "record",
        "when",
        "id",
        "ts",
        "sender",
        "text",
        "agent_id",
        *DIMENSIONS,
        "attrs",
        "resolution",
        "resolved_by",
        "reason",
    ),
}
SPEC_KEYS = ("path", "value", "present", "pattern", "values", "template", "format")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
MAPPINGS_PACKAGE = "chatlens.importers"


# -- the compiled mapping -----------------------------------------------------------------


@dataclass(frozen=True)
class FieldPath:
    """A dotted path into a record; `root`: read from the conversation object."""

    text: str
    parts: tuple[str, ...]
    root: bool


@dataclass(frozen=True)
class Spec:
    """One way of getting a value (see the module docstring)."""

    path: FieldPath | None = None
    const: Any = None
    present: tuple[tuple[FieldPath, str], ...] = ()
    pattern: re.Pattern[str] | None = None
    values: dict[str, Any] | None = None
    template: str | None = None
    format: str | None = None


@dataclass(frozen=True)
class FieldSpec:
    """A mapped field: its key in the mapping ("message.ts") and its alternatives."""

    key: str
    specs: tuple[Spec, ...]


@dataclass
class Section:
    """The field specs of one section ([conversation], [message] or [close])."""

    fields: dict[str, FieldSpec] = field(default_factory=dict)
    attrs: dict[str, FieldSpec] = field(default_factory=dict)

    def get(self, name: str) -> FieldSpec | None:
        return self.fields.get(name)


@dataclass
class Mapping:
    name: str
    source: str  # the prefix of every event id
    description: str
    file: str
    items: FieldPath | None  # where an envelope document holds its items
    time_format: str
    timezone: ZoneInfo
    turns: FieldPath | None  # nested: the list of turns inside a conversation object
    conversation: Section
    message: Section
    close: Section | None
    close_record: FieldPath | None  # nested: the closing record inside a conversation object
    agent_joined: bool

    @property
    def nested(self) -> bool:
        return self.turns is not None


def parse_path(text: str) -> FieldPath:
    text = text.strip()
    return FieldPath(text, tuple(text.lstrip("/").split(".")), text.startswith("/"))


# -- loading and checking -------------------------------------------------------------------


def shipped_mappings() -> list[str]:
    """Names of the mappings shipped with chatlens (importers/mappings/*.toml)."""
    folder = resources.files(MAPPINGS_PACKAGE).joinpath("mappings")
    return sorted(p.name[: -len(".toml")] for p in folder.iterdir() if p.name.endswith(".toml"))


def load_mapping(ref: str) -> Mapping:
    """The mapping in file `ref`, or the shipped mapping named `ref`; InputError naming the
    key when it is not valid."""
    path = Path(ref).expanduser()
    if path.is_file():
        content, where = path.read_bytes(), str(path)
    elif ref in shipped_mappings():
        resource = resources.files(MAPPINGS_PACKAGE).joinpath("mappings", f"{ref}.toml")
        content, where = resource.read_bytes(), ref
    else:
        raise InputError(
            f"mapping '{ref}': no such file, nor a shipped mapping "
            f"(shipped: {', '.join(shipped_mappings())}){did_you_mean(ref, shipped_mappings())}"
        )
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"mapping {where}: not valid TOML: {exc}") from None
    return _Reader(where).mapping(data)


class _Reader:
    """Turns the TOML document into a Mapping, failing with the key named."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, key: str, message: str) -> InputError:
        return InputError(f"mapping {self.where}: key '{key}': {message}")

    def mapping(self, data: dict[str, Any]) -> Mapping:
        self.known(data, "")
        source = data.get("source")
        if not isinstance(source, str) or not source.strip():
            raise self.fail("source", "required: a short name that prefixes every event id")
        time = self.table(data, "time")
        self.known(time, "time")
        time_format = time.get("format", "iso")
        self.check_format(time_format, "time.format")
        zone_name = time.get("timezone", "UTC")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise self.fail("time.timezone", f"unknown time zone {zone_name!r}") from None
        conv = self.table(data, "conversation", required=True)
        message = self.table(data, "message", required=True)
        close = self.table(data, "close") if "close" in data else None
        for name, table in (("conversation", conv), ("message", message), ("close", close)):
            if table is not None:
                self.known(table, name)
        conversation = self.section(conv, "conversation", skip=("turns",))
        msg = self.section(message, "message", skip=("agent_joined",))
        for key in ("conversation.id", "message.ts", "message.sender"):
            section = conversation if key.startswith("conversation") else msg
            if section.get(key.partition(".")[2]) is None:
                raise self.fail(key, "required")
        joined = message.get("agent_joined", False)
        if not isinstance(joined, bool):
            raise self.fail("message.agent_joined", "expected true or false")
        turns = self.path(conv["turns"], "conversation.turns") if "turns" in conv else None
        closing = None
        record = None
        if close is not None:
            closing = self.section(close, "close", skip=("record",))
            if "record" in close:
                if turns is None:
                    raise self.fail(
                        "close.record",
                        "a closing record inside a conversation object needs "
                        "conversation.turns (a nested export)",
                    )
                record = self.path(close["record"], "close.record")
            if record is None and closing.get("when") is None:
                raise self.fail("close", "needs 'record' (nested exports) or 'when'")
        if (
            turns is None
            and conversation.get("initiated_by")
            and not conversation.get("started_at")
        ):
            raise self.fail(
                "conversation.initiated_by",
                "is carried by conversation_started, which a flat mapping emits only "
                "with conversation.started_at",
            )
        items = self.path(data["items"], "items") if "items" in data else None
        name = data.get("name", Path(self.where).stem)
        description = data.get("description", "")
        if not isinstance(name, str) or not isinstance(description, str):
            raise self.fail("name" if not isinstance(name, str) else "description", "a string")
        return Mapping(
            name=name,
            source=source.strip(),
            description=description,
            file=self.where,
            items=items,
            time_format=time_format,
            timezone=zone,
            turns=turns,
            conversation=conversation,
            message=msg,
            close=closing,
            close_record=record,
            agent_joined=joined,
        )

    def known(self, table: dict[str, Any], name: str) -> None:
        allowed = SECTIONS[name]
        for key in table:
            if key not in allowed:
                full = f"{name}.{key}" if name else key
                hint = did_you_mean(key, allowed)
                raise self.fail(full, f"unknown; expected one of: {', '.join(allowed)}{hint}")

    def table(self, data: dict[str, Any], key: str, required: bool = False) -> dict[str, Any]:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(key, f"required: a [{key}] table")
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a [{key}] table")
        return value

    def section(self, table: dict[str, Any], name: str, skip: tuple[str, ...]) -> Section:
        section = Section()
        for key, value in table.items():
            if key in skip:
                continue
            full = f"{name}.{key}"
            if key == "attrs":
                if not isinstance(value, dict):
                    raise self.fail(full, "expected a table of attribute name = field spec")
                for attr, spec in value.items():
                    section.attrs[attr] = self.field(spec, f"{full}.{attr}")
            else:
                section.fields[key] = self.field(value, full)
        return section

    def field(self, value: Any, key: str) -> FieldSpec:
        alternatives = value if isinstance(value, list) else [value]
        if not alternatives:
            raise self.fail(key, "an empty list of alternatives")
        return FieldSpec(key, tuple(self.spec(v, key) for v in alternatives))

    def spec(self, value: Any, key: str) -> Spec:
        if isinstance(value, str):
            return Spec(path=self.path(value, key))
        if not isinstance(value, dict):
            raise self.fail(key, "expected a path string, a table or a list of them")
        for name in value:
            if name not in SPEC_KEYS:
                hint = did_you_mean(name, SPEC_KEYS)
                raise self.fail(
                    f"{key}.{name}", f"unknown; expected one of: {', '.join(SPEC_KEYS)}{hint}"
                )
        kinds = [k for k in ("path", "value", "present") if k in value]
        if len(kinds) != 1:
            raise self.fail(key, "give exactly one of 'path', 'value' or 'present'")
        enum = ENUMS.get(key)
        path = self.path(value["path"], f"{key}.path") if "path" in value else None
        const = value.get("value")
        if "value" in value:
            if isinstance(const, dict | list):
                raise self.fail(f"{key}.value", "expected a single value")
            self.check_enum(const, enum, f"{key}.value")
        present: list[tuple[FieldPath, str]] = []
        if "present" in value:
            table = value["present"]
            if not isinstance(table, dict) or not table:
                raise self.fail(f"{key}.present", "expected a table of key = value")
            for name, out in table.items():
                self.check_enum(out, enum, f"{key}.present.{name}")
                present.append((self.path(name, f"{key}.present"), str(out)))
        pattern = None
        if "pattern" in value:
            if not isinstance(value["pattern"], str):
                raise self.fail(f"{key}.pattern", "expected a regular expression string")
            try:
                pattern = re.compile(value["pattern"])
            except re.error as exc:
                raise self.fail(
                    f"{key}.pattern", f"not a valid regular expression: {exc}"
                ) from None
        values = None
        if "values" in value:
            table = value["values"]
            if not isinstance(table, dict) or not table:
                raise self.fail(f"{key}.values", "expected a table of found value = chatlens value")
            for name, out in table.items():
                if isinstance(out, dict | list):
                    raise self.fail(f"{key}.values.{name}", "expected a single value")
                self.check_enum(out, enum, f"{key}.values.{name}")
            values = {str(k): v for k, v in table.items()}
        template = value.get("template")
        if template is not None:
            if not isinstance(template, str) or template.count("{") != template.count("}"):
                raise self.fail(f"{key}.template", "expected a string with {} placeholders")
            for placeholder in PLACEHOLDER.findall(template):
                if placeholder:
                    self.path(placeholder, f"{key}.template")
        fmt = value.get("format")
        if fmt is not None:
            if key not in TIME_FIELDS:
                raise self.fail(f"{key}.format", f"only for times ({', '.join(TIME_FIELDS)})")
            self.check_format(fmt, f"{key}.format")
        return Spec(
            path=path,
            const=const,
            present=tuple(present),
            pattern=pattern,
            values=values,
            template=template,
            format=fmt,
        )

    def path(self, value: Any, key: str) -> FieldPath:
        if not isinstance(value, str) or not value.strip().lstrip("/"):
            raise self.fail(key, "expected a column name or dotted path")
        path = parse_path(value)
        if any(not p for p in path.parts):
            raise self.fail(key, f"{value!r} has an empty part")
        return path

    def check_enum(self, value: Any, enum: tuple[str, ...] | None, key: str) -> None:
        if enum and value not in enum:
            hint = did_you_mean(value, enum)
            raise self.fail(key, f"{value!r} is not one of: {', '.join(enum)}{hint}")

    def check_format(self, fmt: Any, key: str) -> None:
        if not isinstance(fmt, str) or (fmt not in TIME_FORMATS and "%" not in fmt):
            raise self.fail(
                key, f"{fmt!r}: expected {', '.join(TIME_FORMATS)} or a strftime pattern (%Y-...)"
            )


# -- reading values from records ------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a record's fields are read from: the record (a row or a turn), the conversation
    object (the row itself in flat exports), and how the record is named in errors."""

    record: dict[str, Any]
    conversation: dict[str, Any]
    prefix: str = ""  # "dialogContent[2]." for a turn

    def label(self, path: FieldPath) -> str:
        return path.text.lstrip("/") if path.root else f"{self.prefix}{path.text}"


def lookup(scope: Scope, path: FieldPath) -> Any:
    """The value at `path`, or None. A key holding dots (a CSV column "attrs.plan") is tried
    whole first."""
    value: Any = scope.conversation if path.root else scope.record
    whole = ".".join(path.parts)
    if isinstance(value, dict) and whole in value:
        return value[whole]
    for part in path.parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit():
            index = int(part)
            value = value[index] if -len(value) <= index < len(value) else None
        else:
            return None
    return value


def is_empty(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or value == {}
        or (isinstance(value, str) and not value.strip())
    )


def as_text(value: Any) -> str:
    """A found scalar as the string tables and templates compare: true/false, 12, 1.5."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Found:
    value: Any
    label: str  # the record's field it came from, for errors
    spec: Spec


def resolve(fs: FieldSpec | None, scope: Scope) -> Found | None:
    """The first alternative of a field spec that gives a value, or None."""
    if fs is None:
        return None
    for spec in fs.specs:
        found = _one(spec, fs.key, scope)
        if found is not None:
            return found
    return None


def _one(spec: Spec, key: str, scope: Scope) -> Found | None:
    if spec.const is not None:
        return Found(spec.const, key, spec)
    if spec.present:
        for path, out in spec.present:
            if not is_empty(lookup(scope, path)):
                return Found(out, scope.label(path), spec)
        return None
    assert spec.path is not None
    label = scope.label(spec.path)
    value = lookup(scope, spec.path)
    if is_empty(value):
        return None
    modified = spec.pattern is not None or spec.values is not None or spec.template is not None
    if modified and isinstance(value, dict | list):
        raise ItemError(label, f"expected a single value, found a {type(value).__name__}")
    if spec.pattern is not None:
        match = spec.pattern.search(as_text(value))
        if match is None:
            return None
        value = match.group(1) if spec.pattern.groups else match.group(0)
        if is_empty(value):
            return None
    if spec.values is not None:
        text = as_text(value)
        table = spec.values
        if text in table:
            value = table[text]
        else:
            lowered = {k.lower(): v for k, v in table.items()}
            if text.lower() in lowered:
                value = lowered[text.lower()]
            elif "*" in table:
                value = table["*"]
            else:
                listed = ", ".join(k for k in table if k != "*")
                raise ItemError(label, f"{text!r} is not one of the mapped values: {listed}")
    if spec.template is not None:
        value = _fill(spec.template, as_text(value), scope)
        if value is None:
            return None
    return Found(value, label, spec)


def _fill(template: str, value: str, scope: Scope) -> str | None:
    missing = False

    def one(match: re.Match[str]) -> str:
        nonlocal missing
        name = match.group(1)
        if not name:
            return value
        found = lookup(scope, parse_path(name))
        if is_empty(found) or isinstance(found, dict | list):
            missing = True
            return ""
        return as_text(found)

    filled = PLACEHOLDER.sub(one, template)
    return None if missing else filled


# -- times --------------------------------------------------------------------------------


NOT_A_TIME = {
    "iso": "not an ISO 8601 time",
    "unix": "not a Unix time in seconds",
    "unix_ms": "not a Unix time in milliseconds",
    "snowflake": "not a snowflake id",
}


def to_timestamp(value: Any, fmt: str, zone: ZoneInfo, label: str) -> str:
    """A found time as an RFC 3339 UTC timestamp (ms precision); ItemError naming `label`."""
    if isinstance(value, bool | dict | list):
        raise ItemError(label, f"not a time: {value!r}")
    try:
        if fmt in ("unix", "unix_ms", "snowflake"):
            moment = _from_number(value, fmt, label)
        elif fmt == "iso":
            text = as_text(value)
            if " " in text and "T" not in text:
                text = text.replace(" ", "T", 1)
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        else:
            moment = dt.datetime.strptime(as_text(value), fmt)
    except ValueError:
        raise ItemError(
            label,
            f"{NOT_A_TIME.get(fmt, 'does not match the format ' + repr(fmt))}: "
            f"{as_text(value)[:40]!r}",
        ) from None
    except (OverflowError, OSError):
        raise ItemError(label, f"out of range: {as_text(value)[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    utc = moment.astimezone(dt.UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _from_number(value: Any, fmt: str, label: str) -> dt.datetime:
    text = as_text(value)
    if fmt == "snowflake":
        if not text.isdigit():
            raise ValueError(text)
        ms = (int(text) >> 22) + TWITTER_EPOCH_MS
        return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    number = float(text)  # ValueError: reported by the caller
    seconds = number / 1000 if fmt == "unix_ms" else number
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
