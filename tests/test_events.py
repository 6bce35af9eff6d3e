"""Every validation rule of the event model (docs/events.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatlens.errors import EventError
from chatlens.events import EVENT_TYPES, parse_event, parse_json_record, to_row

T = "2026-11-02T10:00:00Z"


def errors_of(record: dict) -> dict[str, str]:
    with pytest.raises(EventError) as info:
        parse_event(record)
    return {e.field: e.message for e in info.value.errors}


def msg(**kw):
    return {"type": "message", "ts": T, "conversation_id": "c1", "sender": "customer", **kw}


def test_timestamps_normalised_to_utc():
    a = parse_event(msg(ts="2026-11-02T12:00:00+02:00"))
    b = parse_event(msg(ts=1793613600000))
    c = parse_event(msg(ts="1793613600000"))
    expected = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    assert a.ts == b.ts == c.ts == expected


def test_same_content_same_derived_id_whatever_the_time_notation():
    a = parse_event(msg(ts="2026-11-02T12:00:00+02:00", text="hi"))
    b = parse_event(msg(ts=1793613600000, text="hi"))
    c = parse_event(msg(ts=1793613600000, text="hello"))
    assert a.event_id == b.event_id
    assert a.event_id != c.event_id
    assert a.event_id.startswith("h-") and len(a.event_id) == 42


def test_explicit_event_id_is_kept():
    assert parse_event(msg(event_id="abc")).event_id == "abc"


def test_timestamp_without_offset_rejected_with_example():
    problems = errors_of(msg(ts="2026-11-02T10:00:00"))
    assert "not an RFC 3339 timestamp with offset" in problems["ts"]
    assert "2026-11-01T08:15:00Z" in problems["ts"]


def test_epoch_seconds_are_named_as_such():
    assert "looks like epoch seconds" in errors_of(msg(ts=1793613600))["ts"]


def test_future_more_than_24h_rejected_but_23h_accepted():
    soon = datetime.now(UTC) + timedelta(hours=23)
    later = datetime.now(UTC) + timedelta(hours=25)
    assert parse_event(msg(ts=soon.isoformat())).ts == soon.replace(microsecond=soon.microsecond)
    assert "more than 24 h in the future" in errors_of(msg(ts=later.isoformat()))["ts"]


def test_missing_and_unknown_type():
    assert errors_of({"ts": T})["type"].startswith("is required; expected one of:")
    problem = errors_of({"type": "chat_started", "ts": T})["type"]
    assert "unknown event type 'chat_started'" in problem
    assert all(name in problem for name in EVENT_TYPES)


def test_required_fields_named():
    problems = errors_of({"type": "message", "ts": T})
    # field errors come first; the cross-field rule (conversation_id) is checked after them
    assert problems == {"sender": "is required"}
    assert errors_of({"type": "agent_joined", "ts": T, "conversation_id": "c"}) == {
        "agent_id": "is required"
    }
    assert errors_of({"type": "rating", "ts": T, "kind": "csat", "score": 3}) == {
        "conversation_id": "is required for rating events"
    }


def test_enums_say_what_is_expected():
    problem = errors_of(msg(sender="robot"))["sender"]
    assert problem == "Input should be 'customer', 'bot', 'agent' or 'system' (got 'robot')"
    closed = {"type": "conversation_closed", "ts": T, "conversation_id": "c", "resolution": "done"}
    assert "'resolved', 'unresolved' or 'escalated'" in errors_of(closed)["resolution"]


def test_wrong_types():
    assert "valid boolean" in errors_of(msg(fallback="perhaps"))["fallback"]
    assert (
        "valid number"
        in errors_of(
            {"type": "rating", "ts": T, "conversation_id": "c", "kind": "csat", "score": "good"}
        )["score"]
    )


@pytest.mark.parametrize(
    ("kind", "good", "bad"),
    [
        ("csat", 5, 6),
        ("csat", 1, 0),
        ("nps", 0, 11),
        ("ces", 7, 8),
        ("uss", 100, 101),
        ("csat", 4, 4.5),
        ("thumbs", "down", 2),
    ],
)
def test_rating_ranges(kind, good, bad):
    base = {"type": "rating", "ts": T, "conversation_id": "c", "kind": kind}
    parse_event({**base, "score": good})
    assert "out of range" in errors_of({**base, "score": bad})["score"]


def test_thumbs_words_stored_as_1_and_0():
    base = {"type": "rating", "ts": T, "conversation_id": "c", "kind": "thumbs"}
    assert parse_event({**base, "score": "up"}).score == 1
    assert parse_event({**base, "score": "down"}).score == 0
    assert parse_event({**base, "score": 0}).score == 0


def test_uss_accepts_fractions():
    base = {"type": "rating", "ts": T, "conversation_id": "c", "kind": "uss"}
    assert parse_event({**base, "score": 84.5}).score == 84.5


def test_text_limit_64_kib_and_text_never_echoed():
    parse_event(msg(text="x" * 65536))
    problems = errors_of(msg(text="secret " * 10000))
    assert problems["text"] == "text is longer than 65536 bytes (64 KiB)"
    assert "secret" not in str(problems)


def test_event_limit_256_kib():
    big = msg(attrs={f"k{i}": "v" * 1000 for i in range(300)})
    import orjson

    with pytest.raises(EventError) as info:
        parse_json_record(orjson.dumps(big))
    assert "at most 262144 (256 KiB)" in str(info.value)


def test_not_an_object():
    with pytest.raises(EventError, match="expected a JSON object, got an array"):
        parse_event([1, 2])
    with pytest.raises(EventError, match="not valid JSON"):
        parse_json_record(b"{nope")


def test_channel_lowercased_and_unknown_fields_kept():
    event = parse_event(msg(channel=" WhatsApp ", mood="happy"))
    row = to_row(event)
    assert row["channel"] == "whatsapp"
    assert row["extra"] == '{"mood":"happy"}'


def test_events_without_conversation():
    parse_event(
        {
            "type": "goal_completed",
            "ts": T,
            "customer_id": "u",
            "goal": "purchase",
            "value": 10,
            "currency": "EUR",
        }
    )
    parse_event({"type": "agent_status", "ts": T, "agent_id": "a", "status": "away"})
    parse_event({"type": "health_check", "ts": T, "component": "bot", "up": False})
    assert errors_of({"type": "goal_completed", "ts": T, "goal": "lead"}) == {
        "customer_id": "is required"
    }
    assert (
        "'online', 'away' or 'offline'"
        in errors_of({"type": "agent_status", "ts": T, "agent_id": "a", "status": "busy"})["status"]
    )


def test_transfer_needs_a_target():
    assert errors_of({"type": "transferred", "ts": T, "conversation_id": "c"}) == {
        "agent_id": "a transfer needs agent_id (the new agent) or team"
    }


def test_agent_message_needs_agent_id():
    assert errors_of(msg(sender="agent", text="hi")) == {
        "agent_id": "is required for a message with sender agent"
    }
    assert parse_event(msg(sender="agent", text="hi", agent_id="ann")).agent_id == "ann"
    # the rule is for agent messages only
    assert parse_event(msg(sender="customer", text="hi")).agent_id is None


def test_every_error_listed_at_once():
    problems = errors_of(
        {
            "type": "message",
            "ts": "yesterday",
            "conversation_id": "c",
            "sender": "bot",
            "confidence": 3,
        }
    )
    assert set(problems) == {"ts", "confidence"}


def test_numeric_strings_accepted_but_boolean_words_are_not():
    """Numbers may come quoted; booleans are strict (the CSV reader converts its own cells)."""
    event = parse_event(msg(sender="bot", fallback=True, confidence="0.5"))
    assert event.fallback is True and event.confidence == 0.5
    assert "valid boolean" in errors_of(msg(sender="bot", fallback="true"))["fallback"]


CONTROL = "only tab, line feed and carriage return are accepted"


@pytest.mark.parametrize(
    ("record", "field", "code", "position"),
    [
        (msg(text="ab\x00c"), "text", "0000", 3),
        (msg(conversation_id="c\x1b1"), "conversation_id", "001B", 2),
        (msg(text="\x1fhello"), "text", "001F", 1),  # not stripped away as whitespace
        (msg(attrs={"plan": "pro\x07"}), "attrs.plan", "0007", 4),
        (msg(attrs={"pl\x0ban": "pro"}), "attrs (a key)", "000B", 3),
        ({**msg(), "note": {"items": ["ok", "x\x08"]}}, "note.items.1", "0008", 2),
        (msg(intent="order\ufffe"), "intent", "FFFE", 6),
    ],
)
def test_control_characters_rejected_naming_field_and_position(record, field, code, position):
    problems = errors_of(record)
    assert problems == {
        field: f"holds control character U+{code} at character {position}; {CONTROL}"
    }


def test_tab_newline_and_carriage_return_are_kept():
    event = parse_event(msg(text="line one\r\nline\ttwo"))
    assert event.text == "line one\r\nline\ttwo"


def test_timestamps_before_2000_rejected():
    assert errors_of(msg(ts="0001-01-01T00:00:00Z")) == {
        "ts": "0001-01-01T00:00:00+00:00 is before 2000-01-01; "
        "check the unit or the source's placeholder dates"
    }
    assert "is before 2000-01-01" in errors_of(msg(ts=946684799999))["ts"]
    assert parse_event(msg(ts="2000-01-01T00:00:00Z")).ts == datetime(2000, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", ["yes", "true", 1, 0, "1"])
def test_booleans_are_strict_in_json(value):
    assert errors_of(msg(sender="bot", fallback=value)) == {
        "fallback": f"Input should be a valid boolean (got {value!r})"
    }
    health = {"type": "health_check", "ts": T, "component": "bot", "up": value}
    assert errors_of(health) == {"up": f"Input should be a valid boolean (got {value!r})"}


def test_json_booleans_accepted():
    assert parse_event(msg(sender="bot", fallback=False, welcome=True)).welcome is True


REJECTED = [c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + [0xFFFE, 0xFFFF]


@pytest.mark.parametrize("code", REJECTED, ids=[f"U+{c:04X}" for c in REJECTED])
def test_every_control_character_rejected_in_values_and_keys(code):
    char = chr(code)
    assert f"U+{code:04X} at character 3" in errors_of(msg(text=f"ab{char}"))["text"]
    nested = {**msg(), "meta": {"ok": [1, {f"k{char}": True}]}}
    assert f"U+{code:04X} at character 2" in errors_of(nested)["meta.ok.1 (a key)"]


def test_backslashes_that_only_look_like_escapes_are_accepted():
    text = r"C:\bin\files \u0000 \f"
    assert parse_event(msg(text=text)).text == text
