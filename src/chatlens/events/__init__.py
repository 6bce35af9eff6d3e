"""The chatlens event model: validation, normalisation and stable ids (docs/events.md)."""

from chatlens.events.parse import COLUMNS, derive_event_id, parse_event, parse_json_record, to_row
from chatlens.events.schema import EVENT_MODELS, EVENT_TYPES, Event

__all__ = [
    "COLUMNS",
    "EVENT_MODELS",
    "EVENT_TYPES",
    "Event",
    "derive_event_id",
    "parse_event",
    "parse_json_record",
    "to_row",
]
