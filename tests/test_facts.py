"""Conversation facts checked against values worked out by hand on small event lists."""

from __future__ import annotations

from datetime import datetime

import pytest

from chatlens.store.facts import refresh_facts
from chatlens.store.migrations import MIGRATIONS
from chatlens.store.settings import save_setting

from .conftest import facts, load


def at(hms: str, day: int = 2) -> str:
    return f"2026-11-{day:02d}T{hms}Z"


def ts(hms: str, day: int = 2) -> datetime:
    return datetime.fromisoformat(at(hms, day))


def ev(etype: str, when: str, conv: str = "c1", day: int = 2, **fields):
    return {"type": etype, "ts": at(when, day), "conversation_id": conv, **fields}


def say(sender: str, when: str, text: str, conv: str = "c1", day: int = 2, **fields):
    return ev("message", when, conv, day, sender=sender, text=text, **fields)


BOT_THEN_AGENT = [
    ev(
        "conversation_started",
        "10:00:00",
        customer_id="u1",
        channel="Web",
        bot_id="shopbot",
        attrs={"plan": "pro"},
    ),
    say("bot", "10:00:01", "Hi! How can I help?", welcome=True),
    say("customer", "10:00:10", "where is my order"),
    say("bot", "10:00:11", "Sorry, I didn\u2019t understand that."),  # phrase, no flag
    say("customer", "10:00:20", "order 123"),
    say("customer", "10:00:25", "hello??"),
    say("bot", "10:00:26", "Connecting you to a person", fallback=False),
    ev("handoff_requested", "10:00:27", reason="fallback"),
    ev("chat_offered", "10:00:30", agent_id="ann"),
    ev("chat_declined", "10:00:45", agent_id="ann", reason="timeout"),
    ev("agent_joined", "10:00:57", agent_id="bob", team="care"),
    say("agent", "10:01:27", "Let me check", agent_id="bob", canned_response_id="greet"),
    say("agent", "10:01:40", "internal: VIP", agent_id="bob", private=True),
    say("customer", "10:02:00", "thanks"),
    say("agent", "10:02:30", "It ships today", agent_id="bob"),
    ev("tag_added", "10:02:31", tag="shipping", category="orders", priority="high"),
    ev("tag_added", "10:02:32", tag="wrong", category="misc"),
    ev("tag_removed", "10:02:33", tag="wrong"),
    ev("conversation_closed", "10:05:00", resolution="resolved", resolved_by="agent"),
    ev("rating", "10:06:00", kind="csat", score=5, comment="great"),
    ev("rating", "10:06:05", kind="nps", score=9),
]


def test_bot_then_agent_conversation_by_hand(store, tmp_path):
    load(store, BOT_THEN_AGENT, tmp_path)
    f = facts(store)["c1"]
    assert f["started_at"] == ts("10:00:00")
    assert (f["channel"], f["customer_id"], f["bot_id"], f["team"]) == (
        "web",
        "u1",
        "shopbot",
        "care",
    )
    assert f["initiated_by"] == "customer"
    # 4 bot (1 welcome), 4 customer, 2 agent messages; the private note does not count
    assert (f["messages"], f["bot_messages"], f["customer_messages"], f["agent_messages"]) == (
        9,
        3,
        4,
        2,
    )
    assert f["welcome_messages"] == 1 and not f["welcome_only"] and f["engaged"]
    assert f["fallback_messages"] == 1  # found by phrase (curly apostrophe), explicit False kept
    assert f["last_bot_turn_fallback"] is False
    assert f["bot_involved"] and f["has_human_part"] and not f["bot_only"]
    assert f["queue_entry_at"] == ts("10:00:27")
    assert f["picked_up_at"] == ts("10:00:57")
    assert f["wait_seconds"] == 30.0
    assert f["first_response_seconds"] == 60.0
    # runs: 10:00:10 (overtaken by the run at 10:00:20 before any agent reply: not counted),
    # 10:00:20 -> 10:01:27 = 67 s, 10:02:00 -> 10:02:30 = 30 s
    assert f["response_times"] == [67.0, 30.0]
    assert f["bot_response_times"] == [1.0, 1.0]  # 10:00:10->11 and 10:00:25->26
    assert (f["chats_offered"], f["chats_declined"], f["transfers"]) == (1, 1, 0)
    assert f["handle_seconds"] == 243.0  # 10:00:57 -> close 10:05:00
    assert f["agents"] == ["bob"] and f["first_agent_id"] == "bob"  # ann only declined
    assert f["tags"] == ["shipping"] and f["tag_categories"] == ["orders"]
    assert f["top_priority"] == "high"
    assert f["canned_messages"] == 1
    assert f["is_closed"] and f["resolution"] == "resolved" and f["resolved_by"] == "agent"
    assert f["resolution_seconds"] == 300.0
    assert f["duration_seconds"] == 299.0  # first message 10:00:01 -> close 10:05:00
    assert f["csat"] == 5 and f["nps"] == 9 and f["rating_comments"] == 1
    assert not f["missed"] and f["missed_reason"] is None
    assert f["first_contact_resolved"] and f["outcome"] == "resolved"
    assert not f["bot_resolved"]


def test_bot_only_conversations(store, tmp_path):
    events = [
        ev("conversation_started", "09:00:00", "b1", customer_id="u2", bot_id="shopbot"),
        say("bot", "09:00:01", "Welcome!", "b1", welcome=True),
        say("customer", "09:00:05", "opening hours?", "b1"),
        say("bot", "09:00:06", "We are open 9-17.", "b1"),
        # ended by itself, last bot turn fine: resolved by the bot
        ev("conversation_started", "09:10:00", "b2", customer_id="u3", bot_id="shopbot"),
        say("bot", "09:10:01", "Welcome!", "b2", welcome=True),
        # welcome only, never engaged
        ev("conversation_started", "09:20:00", "b3", customer_id="u4", bot_id="shopbot"),
        say("bot", "09:20:01", "Welcome!", "b3", welcome=True),
        say("customer", "09:20:09", "asdf", "b3"),
        say("bot", "09:20:10", "Maaf, saya tidak mengerti.", "b3"),
        # last bot turn is a fallback: not resolved
        ev("conversation_started", "09:30:00", "b4", customer_id="u5", bot_id="shopbot"),
        say("customer", "09:30:02", "refund", "b4"),
        say("bot", "09:30:03", "Here is how refunds work", "b4"),
        ev("conversation_closed", "09:31:00", "b4", resolution="resolved", resolved_by="bot"),
        ev("rating", "09:32:00", "b4", kind="thumbs", score="down"),
    ]
    load(store, events, tmp_path)
    f = facts(store)
    assert [f[c]["bot_only"] for c in ("b1", "b2", "b3", "b4")] == [True] * 4
    assert [f[c]["bot_resolved"] for c in ("b1", "b2", "b3", "b4")] == [True, True, False, True]
    assert [f[c]["engaged"] for c in ("b1", "b2", "b3", "b4")] == [True, False, True, True]
    assert f["b2"]["welcome_only"] and not f["b1"]["welcome_only"]
    assert f["b3"]["fallback_messages"] == 1 and f["b3"]["last_bot_turn_fallback"]
    assert f["b4"]["thumbs"] == 0 and f["b4"]["rated_negative"]
    assert [f[c]["outcome"] for c in ("b1", "b2", "b3", "b4")] == [
        "resolved",
        "resolved",
        "open",
        "resolved",
    ]
    assert all(f[c]["queue_entry_at"] is None and not f[c]["missed"] for c in f)


def test_missed_chats_and_the_grace_period(store, tmp_path):
    events = [
        # live chat only (no bot): waits from its start; customer leaves after 40 s
        ev("conversation_started", "11:00:00", "m1", customer_id="u1", channel="email"),
        say("customer", "11:00:05", "anyone?", "m1"),
        ev(
            "conversation_closed", "11:00:40", "m1", resolution="unresolved", resolved_by="customer"
        ),
        # leaves after 5 minutes, two agents declined
        ev("conversation_started", "11:10:00", "m2", customer_id="u2"),
        say("customer", "11:10:05", "hello", "m2"),
        ev("chat_offered", "11:10:06", "m2", agent_id="ann"),
        ev("chat_declined", "11:10:30", "m2", agent_id="ann", reason="declined"),
        say("customer", "11:15:00", "bye", "m2"),
        # bot hands over, nobody comes, no close: ends at its last event (3 min later)
        ev("conversation_started", "11:20:00", "m3", customer_id="u3", bot_id="helpbot"),
        say("bot", "11:20:01", "Hi", "m3", welcome=True),
        ev("handoff_requested", "11:20:10", "m3"),
        say("customer", "11:23:10", "hello?", "m3"),
    ]
    load(store, events, tmp_path)
    f = facts(store)
    assert [f[c]["has_human_part"] for c in ("m1", "m2", "m3")] == [True, True, True]
    assert f["m1"]["queue_entry_at"] == ts("11:00:00")
    assert f["m1"]["unanswered"] and f["m1"]["left_within_grace"] and not f["m1"]["missed"]
    assert f["m2"]["missed"] and f["m2"]["missed_reason"] == "declined"
    assert f["m3"]["missed"] and f["m3"]["missed_reason"] == "customer_left"
    assert f["m3"]["queue_entry_at"] == ts("11:20:10")
    assert f["m3"]["ended_at"] == ts("11:23:10")
    assert [f[c]["outcome"] for c in ("m1", "m2", "m3")] == ["unresolved", "missed", "missed"]
    assert all(f[c]["wait_seconds"] is None for c in ("m2", "m3"))

    # a longer grace applies to history: m2 (300 s) and m3 (180 s) are no longer missed
    save_setting(store.con, "missed_chat_grace_seconds", 400)
    assert refresh_facts(store).full
    f = facts(store)
    assert [f[c]["missed"] for c in ("m1", "m2", "m3")] == [False, False, False]


def test_transfer_reopen_and_fcr(store, tmp_path):
    events = [
        ev("conversation_started", "12:00:00", "t1", customer_id="u1", channel="web"),
        ev("agent_joined", "12:00:20", "t1", agent_id="ann", team="sales"),
        say("agent", "12:00:50", "Hi, Ann here", "t1", agent_id="ann"),
        ev("transferred", "12:02:00", "t1", agent_id="bob", from_agent_id="ann", team="billing"),
        say("agent", "12:03:00", "Bob from billing", "t1", agent_id="bob"),
        ev("conversation_closed", "12:10:00", "t1", resolution="resolved", resolved_by="agent"),
        # reopened a week later, closed again
        ev("conversation_reopened", "09:00:00", "t1", day=9),
        say("customer", "09:00:10", "it broke again", "t1", day=9),
        ev(
            "conversation_closed",
            "09:30:00",
            "t1",
            day=9,
            resolution="resolved",
            resolved_by="agent",
        ),
    ]
    load(store, events, tmp_path)
    f = facts(store)["t1"]
    assert f["transfers"] == 1 and f["agents"] == ["ann", "bob"]
    assert f["team"] == "sales"  # the first team named wins
    # ann 12:00:20 -> transfer 12:02:00 = 100 s; bob 12:02:00 -> close 12:10:00 = 480 s
    assert f["handle_seconds"] == 580.0
    assert f["reopens"] == 1 and f["closes"] == 2 and f["is_closed"]
    assert f["closed_at"] == ts("09:30:00", day=9)
    assert f["resolution_seconds"] == 7 * 86400 - 3 * 3600 + 30 * 60  # start -> final close
    assert not f["first_contact_resolved"]
    assert f["first_response_seconds"] == 50.0


def test_late_rating_and_reopen_update_incrementally(store, tmp_path):
    first = [
        ev("conversation_started", "13:00:00", "r1", customer_id="u1"),
        ev("agent_joined", "13:00:10", "r1", agent_id="ann"),
        say("agent", "13:00:20", "hello", "r1", agent_id="ann"),
        ev("conversation_closed", "13:05:00", "r1", resolution="resolved", resolved_by="agent"),
    ]
    load(store, first, tmp_path, "a.jsonl")
    f = facts(store)["r1"]
    assert f["csat"] is None and f["is_closed"] and f["first_contact_resolved"]

    late = [ev("rating", "08:00:00", "r1", day=3, kind="csat", score=2)]
    result = load(store, late, tmp_path, "b.jsonl")
    assert result.imported == 1
    f = facts(store)["r1"]
    assert f["csat"] == 2 and f["rated_negative"]

    reopened = [ev("conversation_reopened", "08:00:00", "r1", day=9)]
    load(store, reopened, tmp_path, "c.jsonl")
    f = facts(store)["r1"]
    assert not f["is_closed"] and f["reopens"] == 1 and f["resolution"] is None
    assert f["ended_at"] == ts("08:00:00", day=9) and f["outcome"] == "open"


def test_follow_up_and_goal_attribution_cross_conversations(store, tmp_path):
    base = [
        ev("conversation_started", "10:00:00", "f1", customer_id="u1"),
        ev("agent_joined", "10:00:10", "f1", agent_id="ann"),
        say("agent", "10:00:20", "hi", "f1", agent_id="ann"),
        ev("conversation_closed", "10:10:00", "f1", resolution="resolved", resolved_by="agent"),
    ]
    load(store, base, tmp_path, "a.jsonl")
    assert facts(store)["f1"]["first_contact_resolved"]

    # the same customer is back 3 days later, and buys 2 days after that; the second chat
    # (not f1) gets the purchase. A purchase 9 days after the second chat is not credited.
    later = [
        ev("conversation_started", "10:00:00", "f2", day=5, customer_id="u1"),
        {
            "type": "goal_completed",
            "ts": at("10:00:00", 7),
            "customer_id": "u1",
            "goal": "purchase",
            "value": 80,
            "currency": "EUR",
        },
        {"type": "goal_completed", "ts": at("10:00:00", 7), "customer_id": "u1", "goal": "lead"},
        {
            "type": "goal_completed",
            "ts": at("10:00:01", 14),
            "customer_id": "u1",
            "goal": "purchase",
            "value": 999,
        },
    ]
    load(store, later, tmp_path, "b.jsonl")
    f = facts(store)
    assert f["f1"]["followup_contact"] and not f["f1"]["first_contact_resolved"]
    assert not f["f2"]["followup_contact"]
    assert (f["f1"]["conversions"], f["f1"]["revenue"]) == (0, None)
    assert (f["f2"]["conversions"], f["f2"]["leads"], f["f2"]["revenue"]) == (2, 1, 80.0)
    assert f["f2"]["goals"] == ["lead", "purchase"]
    assert f["f2"]["first_conversion_at"] == ts("10:00:00", 7)

    # a follow-up window of 2 days makes f1 a first-contact resolution again
    save_setting(store.con, "fcr_followup_days", 2)
    refresh_facts(store)
    assert facts(store)["f1"]["first_contact_resolved"]


def test_out_of_order_events_give_the_same_facts(store, tmp_path):
    load(store, list(reversed(BOT_THEN_AGENT)), tmp_path)
    backwards = facts(store)["c1"]
    refresh_facts(store, full=True)
    assert facts(store)["c1"] == backwards
    assert backwards["response_times"] == [67.0, 30.0]
    assert backwards["started_at"] == ts("10:00:00")


def test_dimensions_from_later_events_fill_in(store, tmp_path):
    events = [
        ev("conversation_started", "10:00:00", "d1", initiated_by="business", page_url="/pricing"),
        say("customer", "10:00:30", "hi", "d1", customer_id="u7", channel="WhatsApp"),
        ev("agent_joined", "10:01:00", "d1", agent_id="ann", team="sales", channel="web"),
    ]
    load(store, events, tmp_path)
    f = facts(store)["d1"]
    assert (f["customer_id"], f["channel"], f["team"]) == ("u7", "whatsapp", "sales")
    assert (f["initiated_by"], f["page_url"]) == ("business", "/pricing")


@pytest.mark.parametrize("phrase", ["", "no entiendo"])
def test_extra_fallback_phrases_apply_to_history(store, tmp_path, phrase):
    events = [
        ev("conversation_started", "10:00:00", "p1"),
        say("bot", "10:00:01", "Lo siento, no entiendo.", "p1"),
    ]
    load(store, events, tmp_path)
    if phrase:
        save_setting(store.con, "fallback_phrases", [phrase])
        refresh_facts(store)
    assert facts(store)["p1"]["fallback_messages"] == (1 if phrase else 0)


def test_no_events_no_facts(store):
    assert refresh_facts(store).conversations == 0
    assert facts(store) == {}
    # the store opened and migrated: every step applied once, in order
    applied = store.con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert [v for (v,) in applied] == [v for v, _, _ in MIGRATIONS]
