"""Issue 14's rules on small hand-built events, every expected value worked out by hand:
per-agent credit (docs/facts.md "Crediting agents"), attrs merged key by key, the boundaries of
every window (at, just inside and just outside the limit), goals of any name and the
workspace's conversion goals, and response-time runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from chatlens.store.settings import save_setting

from .conftest import facts, load, report, value

T0 = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def ev(conv: str, seconds: float, etype: str, **fields):
    return {"type": etype, "ts": at(seconds), "conversation_id": conv, **fields}


def say(conv: str, seconds: float, sender: str, **fields):
    return ev(conv, seconds, "message", sender=sender, text=f"{sender} says", **fields)


def by_agent(store, metrics, **kw) -> dict[str, dict]:
    rows = report(store, metrics, dimensions=["agent_id"], **kw).rows
    return {row["agent_id"]: row for row in rows}


# -- per-agent credit -----------------------------------------------------------------------

# c1: no bot, so the queue starts at 0. carl is offered it and declines; ann picks it up at
# 30 s and answers at 50 s; an NPS answer at 70 s (ann's stint); ann transfers to bob at
# 120 s; bob answers at 165 s; closed resolved at 300 s; CSAT 2 at 360 s (after the
# transfer: bob's); the customer buys for 50 at 1800 s (credited to c1, closed by bob).
# c2: offered to ann, who lets it time out; the customer leaves at 300 s: missed (timeout).
# c3: nobody is offered it; the customer leaves at 180 s: missed by the team, no agent.
CREDIT = [
    ev("c1", 0, "conversation_started", customer_id="u1"),
    say("c1", 2, "customer"),
    ev("c1", 5, "chat_offered", agent_id="carl"),
    ev("c1", 15, "chat_declined", agent_id="carl", reason="declined"),
    ev("c1", 20, "chat_offered", agent_id="ann"),
    ev("c1", 30, "agent_joined", agent_id="ann"),
    say("c1", 50, "agent", agent_id="ann"),
    ev("c1", 70, "rating", kind="nps", score=9),
    ev("c1", 120, "transferred", agent_id="bob", from_agent_id="ann"),
    say("c1", 165, "agent", agent_id="bob"),
    ev("c1", 300, "conversation_closed", resolution="resolved", resolved_by="agent"),
    ev("c1", 360, "rating", kind="csat", score=2),
    {
        "type": "goal_completed",
        "ts": at(1800),
        "customer_id": "u1",
        "goal": "purchase",
        "value": 50,
    },
    ev("c2", 3600, "conversation_started", customer_id="u2"),
    say("c2", 3601, "customer"),
    ev("c2", 3610, "chat_offered", agent_id="ann"),
    ev("c2", 3640, "chat_declined", agent_id="ann", reason="timeout"),
    ev("c2", 3900, "conversation_closed", resolution="unresolved", resolved_by="customer"),
    ev("c3", 7200, "conversation_started", customer_id="u3"),
    say("c3", 7201, "customer"),
    ev("c3", 7380, "conversation_closed", resolution="unresolved", resolved_by="customer"),
]

PER_AGENT = [
    "first_response_time",
    "frt_within_sla",
    "wait_time",
    "handle_time",
    "csat",
    "nps",
    "negative_feedback",
    "missed_chats",
    "missed_rate",
    "missed_chats_declined",
    "missed_chats_timeout",
    "transfer_rate",
    "fcr_rate",
    "conversions",
    "conversion_rate",
    "revenue",
]


def test_facts_name_the_credited_agents(store, tmp_path):
    load(store, CREDIT, tmp_path)
    f = facts(store)
    c1 = f["c1"]
    assert c1["agents"] == ["ann", "bob"]
    assert c1["pickup_agent_id"] == "ann"  # the agent_joined at pickup
    assert c1["first_response_agent_id"] == "ann"  # wrote first, at 50 s
    assert c1["closing_agent_id"] == "bob"  # the last stint
    assert c1["nps_agent_id"] == "ann"  # at 70 s, ann's stint (bob's begins at 120 s)
    assert c1["csat_agent_id"] == "bob"  # at 360 s, after the transfer
    assert c1["offered_to"] == ["ann", "carl"]
    assert c1["declined_by"] == ["carl"]
    assert c1["timed_out_by"] == []
    assert f["c2"]["declined_by"] == ["ann"] and f["c2"]["timed_out_by"] == ["ann"]
    assert f["c3"]["offered_to"] == [] and f["c3"]["declined_by"] == []
    stints = store.con.execute(
        "SELECT agent_id, epoch(started_at) - epoch(TIMESTAMPTZ '2026-11-02 10:00:00+00'),"
        " seconds, first_stint,"
        " epoch(first_message_at) - epoch(TIMESTAMPTZ '2026-11-02 10:00:00+00')"
        " FROM agent_stints ORDER BY started_at"
    ).fetchall()
    # ann 30 -> 120 (the transfer), bob 120 -> 300 (the close); first messages at 50, 165
    assert stints == [("ann", 30.0, 90.0, True, 50.0), ("bob", 120.0, 180.0, False, 165.0)]


def test_each_figure_goes_to_the_agent_the_spec_credits(store, tmp_path):
    load(store, CREDIT, tmp_path)
    # the chat-level figures: FRT 50 s (queue 0 -> ann at 50), wait 30 s; missed c2, c3
    whole = report(store, PER_AGENT).rows[0]
    assert whole["first_response_time"] == 50
    assert whole["wait_time"] == 30
    assert whole["missed_chats"] == 2
    assert whole["missed_rate"] == 2 / 3
    assert whole["handle_time"] == 270  # c1: 90 + 180

    rows = by_agent(store, PER_AGENT)
    ann, bob, carl = rows["ann"], rows["bob"], rows["carl"]
    # FRT per stint: ann from queue entry (her stint is the first) 0 -> 50; bob from his
    # stint's start 120 -> 165 = 45 s, not the chat's 50 s
    assert ann["first_response_time"] == 50
    assert bob["first_response_time"] == 45
    assert ann["frt_within_sla"] == 1 and bob["frt_within_sla"] == 1
    # wait: the agent who picked it up
    assert ann["wait_time"] == 30 and bob["wait_time"] is None
    # handle time: each agent's own stint
    assert ann["handle_time"] == 90 and bob["handle_time"] == 180
    # ratings: the agent of the last stint begun before the rating
    assert ann["nps"] == 100 and bob["nps"] is None  # one promoter
    assert bob["csat"] == 2 and ann["csat"] is None
    assert bob["negative_feedback"] == 1 and ann["negative_feedback"] == 0
    # missed per agent: the chats the agent declined or let time out. carl declined c1
    # (answered later by ann: still his declined offer); ann let c2 time out; bob none.
    # The rate is over the chats the agent handled or was offered: ann c1 + c2, carl c1.
    assert carl["missed_chats"] == 1 and carl["missed_chats_declined"] == 1
    assert carl["missed_rate"] == 1
    assert ann["missed_chats"] == 1 and ann["missed_chats_timeout"] == 1
    assert ann["missed_chats_declined"] == 0
    assert ann["missed_rate"] == 1 / 2
    assert bob["missed_chats"] == 0 and bob["missed_rate"] == 0
    # c3 was offered to nobody: missed by the team, by no agent (2 chats missed in all,
    # 1 by carl and 1 by ann, counted per agent: c1's decline was not a missed chat)
    assert set(rows) == {"ann", "bob", "carl"}
    # FCR, transfers, conversions: the agent who closed (bob, the last stint)
    assert bob["transfer_rate"] == 1 and ann["transfer_rate"] is None
    assert bob["fcr_rate"] == 0 and ann["fcr_rate"] is None  # transferred: not FCR
    assert bob["conversions"] == 1 and ann["conversions"] == 0
    assert bob["conversion_rate"] == 1 and ann["conversion_rate"] is None
    assert bob["revenue"] == 50 and ann["revenue"] is None


def test_a_filter_on_agent_credits_like_a_split(store, tmp_path):
    load(store, CREDIT, tmp_path)
    bob = report(store, PER_AGENT, filters={"agent_id": ("bob",)}).rows[0]
    assert bob["first_response_time"] == 45
    assert bob["csat"] == 2 and bob["nps"] is None
    assert bob["wait_time"] is None
    assert bob["missed_chats"] == 0
    ann = report(store, PER_AGENT, filters={"agent_id": ("ann",)}).rows[0]
    assert ann["first_response_time"] == 50 and ann["wait_time"] == 30
    assert ann["missed_chats"] == 1 and ann["missed_rate"] == 1 / 2


# -- attrs --------------------------------------------------------------------------------


def test_attrs_merge_key_by_key(store, tmp_path):
    events = [
        ev("c1", 0, "conversation_started", attrs={"plan": "pro"}),
        # plan is already set (keeps "pro"); country is new: added
        say("c1", 5, "customer", attrs={"plan": "free", "country": "FI"}),
        # a key set to null is not set: locale comes from the next event
        say("c1", 6, "customer", attrs={"locale": None}),
        say("c1", 7, "customer", attrs={"locale": "fi", "country": "SE"}),
        # no attrs on conversation_started: the first later value of each key
        ev("c2", 100, "conversation_started"),
        say("c2", 105, "customer", attrs={"segment": "vip"}),
        say("c2", 106, "customer", attrs={"segment": "smb", "n": 3}),
    ]
    load(store, events, tmp_path)
    f = facts(store)
    assert json.loads(f["c1"]["attrs"]) == {"plan": "pro", "country": "FI", "locale": "fi"}
    assert json.loads(f["c2"]["attrs"]) == {"segment": "vip", "n": 3}
    rows = report(store, "conversations", dimensions=["attrs.country"]).rows
    assert {r["attrs.country"]: r["conversations"] for r in rows} == {"FI": 1, None: 1}


def test_attrs_from_an_event_before_the_start_do_not_beat_the_start(store, tmp_path):
    events = [
        say("c1", 0, "customer", attrs={"plan": "free"}),
        ev("c1", 1, "conversation_started", attrs={"plan": "pro"}),
    ]
    load(store, events, tmp_path)
    assert json.loads(facts(store)["c1"]["attrs"]) == {"plan": "pro"}


# -- boundaries: within N includes N ----------------------------------------------------------


def left_after(conv: str, start: float, seconds: float, customer: str) -> list[dict]:
    """A chat with no bot (queue entry at its start) that nobody answers; the customer
    leaves `seconds` after queue entry."""
    return [
        ev(conv, start, "conversation_started", customer_id=customer),
        say(conv, start + 1, "customer"),
        ev(conv, start + seconds, "conversation_closed", resolved_by="customer"),
    ]


def test_missed_chat_grace_at_inside_and_outside_the_limit(store, tmp_path):
    events = [
        *left_after("inside", 0, 59, "u1"),
        *left_after("at", 1000, 60, "u2"),  # exactly the grace period: not missed
        *left_after("outside", 2000, 61, "u3"),
    ]
    load(store, events, tmp_path)
    f = facts(store)
    assert [f[c]["missed"] for c in ("inside", "at", "outside")] == [False, False, True]
    assert value(store, "missed_chats") == 1
    save_setting(store.con, "missed_chat_grace_seconds", 61)
    load(store, [], tmp_path, name="none.jsonl")  # refresh: the setting rebuilds the facts
    assert value(store, "missed_chats") == 0
    # a run's override uses the same rule
    assert value(store, "missed_chats", overrides={"missed_chat_grace_seconds": 60.5}) == 1


def answered_after(conv: str, start: float, seconds: float) -> list[dict]:
    return [
        ev(conv, start, "conversation_started"),
        say(conv, start + 1, "customer"),
        say(conv, start + seconds, "agent", agent_id="ann"),
    ]


def test_first_response_sla_at_inside_and_outside(store, tmp_path):
    events = [
        *answered_after("inside", 0, 59),
        *answered_after("at", 1000, 60),  # exactly the SLA: meets it
        *answered_after("outside", 2000, 61),
    ]
    load(store, events, tmp_path)
    assert value(store, "frt_within_sla") == 2 / 3
    assert value(store, "first_response_time") == 60  # (59 + 60 + 61) / 3
    # by agent: ann never joined (no stint), so her rows are the chats' first responses
    ann = by_agent(store, ["frt_within_sla", "first_response_time"])["ann"]
    assert ann == {**ann, "frt_within_sla": 2 / 3, "first_response_time": 60}


DAY = 86400.0


def test_fcr_follow_up_window_runs_from_the_close(store, tmp_path):
    """Each first chat lasts 2 h (start 0, close at 7200 s); the customer comes back 7
    days after the close exactly, 1 s before, and 1 s after. Measured from the start, the
    return at exactly 7 days after the close would be 2 h outside the window."""

    def first_and_return(customer: str, offset: float, back_after_close: float):
        first = f"{customer}-first"
        return [
            ev(first, offset, "conversation_started", customer_id=customer),
            say(first, offset + 1, "customer"),
            say(first, offset + 30, "agent", agent_id="ann"),
            ev(first, offset + 7200, "conversation_closed", resolution="resolved"),
            ev(
                f"{customer}-back",
                offset + 7200 + back_after_close,
                "conversation_started",
                customer_id=customer,
            ),
        ]

    events = [
        *first_and_return("inside", 0, 7 * DAY - 1),
        *first_and_return("at", 100, 7 * DAY),
        *first_and_return("outside", 200, 7 * DAY + 1),
    ]
    load(store, events, tmp_path)
    f = facts(store)
    got = {c: f[f"{c}-first"]["followup_contact"] for c in ("inside", "at", "outside")}
    assert got == {"inside": True, "at": True, "outside": False}
    assert {c: f[f"{c}-back"]["is_followup"] for c in ("inside", "at", "outside")} == got
    resolved = {c: f[f"{c}-first"]["first_contact_resolved"] for c in got}
    assert resolved == {"inside": False, "at": False, "outside": True}


def test_attribution_window_runs_back_from_the_completion(store, tmp_path):
    """Each chat lasts 1 h; the purchase comes 7 days after the chat's start exactly, 1 s
    before, and 1 s after. Measured from the chat's end, 1 s after would be credited."""

    def chat_then_buy(customer: str, offset: float, after_start: float):
        conv = f"{customer}-chat"
        return [
            ev(conv, offset, "conversation_started", customer_id=customer),
            say(conv, offset + 1, "customer"),
            ev(conv, offset + 3600, "conversation_closed", resolution="resolved"),
            {
                "type": "goal_completed",
                "ts": at(offset + after_start),
                "customer_id": customer,
                "goal": "purchase",
                "value": 10,
            },
        ]

    events = [
        *chat_then_buy("inside", 0, 7 * DAY - 1),
        *chat_then_buy("at", 100, 7 * DAY),
        *chat_then_buy("outside", 200, 7 * DAY + 1),
    ]
    load(store, events, tmp_path)
    f = facts(store)
    got = {c: f[f"{c}-chat"]["conversions"] for c in ("inside", "at", "outside")}
    assert got == {"inside": 1, "at": 1, "outside": 0}
    assert value(store, "conversion_rate") == 2 / 3


def test_message_bins_are_whole_counts(store, tmp_path):
    """1-2 is [1, 3): a chat of exactly 3 messages is in 3-5, not 1-2."""
    events = [
        ev("two", 0, "conversation_started"),
        say("two", 1, "customer"),
        say("two", 2, "customer"),
        ev("three", 10, "conversation_started"),
        say("three", 11, "customer"),
        say("three", 12, "customer"),
        say("three", 13, "customer"),
    ]
    load(store, events, tmp_path)
    row = report(store, ["messages_1_2_share", "messages_3_5_share"]).rows[0]
    assert row == {**row, "messages_1_2_share": 0.5, "messages_3_5_share": 0.5}


# -- goals ---------------------------------------------------------------------------------


def goals_fixture() -> list[dict]:
    """Four chats of four customers; goals: u1 checkout + add_to_cart, u2 add_to_cart,
    u3 demo_booked, u4 none."""
    events = []
    for n, goals in enumerate((["checkout", "add_to_cart"], ["add_to_cart"], ["demo_booked"], [])):
        customer, conv = f"u{n + 1}", f"c{n + 1}"
        events += [
            ev(conv, n * 1000, "conversation_started", customer_id=customer),
            say(conv, n * 1000 + 1, "customer"),
        ]
        events += [
            {
                "type": "goal_completed",
                "ts": at(n * 1000 + 60 + k),
                "customer_id": customer,
                "goal": goal,
            }
            for k, goal in enumerate(goals)
        ]
    return events


def test_goal_completion_rate_for_every_goal_name(store, tmp_path):
    load(store, goals_fixture(), tmp_path)
    assert value(store, "goal_completion_rate") == 3 / 4  # c1, c2, c3 of 4
    rows = report(store, ["goal_completion_rate", "goal_conversations"], dimensions=["goal"]).rows
    by_goal = {r["goal"]: r["goal_completion_rate"] for r in rows}
    # each goal over all 4 conversations of the period
    assert by_goal == {"add_to_cart": 2 / 4, "checkout": 1 / 4, "demo_booked": 1 / 4}
    assert {r["goal"]: r["goal_conversations"] for r in rows} == {
        "add_to_cart": 2,
        "checkout": 1,
        "demo_booked": 1,
    }


def test_conversion_goals_are_the_workspace_s(store, tmp_path):
    load(store, goals_fixture(), tmp_path)
    # the defaults (purchase, signup, lead) name none of these goals
    assert value(store, "conversion_rate") == 0
    save_setting(store.con, "conversion_goals", ["checkout", "demo_booked"])
    load(store, [], tmp_path, name="none.jsonl")
    assert value(store, "conversion_rate") == 2 / 4  # c1 (checkout), c3 (demo_booked)
    assert value(store, "conversions") == 2
    # applied when the report is computed: a run's override too
    got = value(store, "conversions", overrides={"conversion_goals": ["add_to_cart"]})
    assert got == 2  # c1's and c2's add_to_cart


# -- response time runs --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        # a run of two customer messages: from the first of them
        ([(0, "customer"), (10, "customer"), (40, "agent")], [40]),
        # a bot message in between does not end the wait
        ([(0, "customer"), (5, "bot"), (30, "agent")], [30]),
        # a run followed by another customer run (after the bot) before any agent message:
        # the later run carries the wait
        ([(0, "customer"), (5, "bot"), (20, "customer"), (50, "agent")], [30]),
        # two answered runs
        ([(0, "customer"), (15, "agent"), (60, "customer"), (100, "agent")], [15, 40]),
    ],
)
def test_response_time_runs(store, tmp_path, turns, expected):
    events = [ev("c1", -1, "conversation_started")]
    events += [
        say("c1", t, who, **({"agent_id": "ann"} if who == "agent" else {})) for t, who in turns
    ]
    load(store, events, tmp_path)
    assert facts(store)["c1"]["response_times"] == expected


# -- agent messages name their agent ---------------------------------------------------------


def test_an_importer_names_an_agent_its_platform_does_not(store, tmp_path):
    """A Chatwoot message with no sender, read as an agent's (`senderless=agent`), becomes
    an agent message of `unnamed-agent`: valid, imported, nothing rejected."""
    from chatlens.importers.chatwoot import ChatwootImporter
    from chatlens.ingest import import_file

    messages = [
        {
            "id": 1,
            "conversation_id": 9,
            "created_at": 1793700000,
            "content": "hi",
            "message_type": 0,
            "sender_type": "Contact",
            "sender_id": 88,
        },
        {
            "id": 2,
            "conversation_id": 9,
            "created_at": 1793700030,
            "content": "hello",
            "message_type": 1,
        },
    ]
    path = tmp_path / "messages.json"
    path.write_text(json.dumps(messages))
    importer = ChatwootImporter({"senderless": "agent"})
    summary = import_file(store, path, records=importer.records(path))
    assert summary.rejected == 0
    rows = store.con.execute(
        "SELECT sender, agent_id FROM events WHERE type = 'message' ORDER BY ts"
    ).fetchall()
    assert rows == [("customer", None), ("agent", "unnamed-agent")]


def test_the_first_stint_runs_from_queue_entry(store, tmp_path):
    """ann answers at 10 s and only then joins (at 20 s): her first stint's response is
    counted from queue entry (0 s), so 10 s, as the chat's FRT."""
    events = [
        ev("c1", 0, "conversation_started"),
        say("c1", 1, "customer"),
        say("c1", 10, "agent", agent_id="ann"),
        ev("c1", 20, "agent_joined", agent_id="ann"),
        ev("c1", 100, "conversation_closed", resolution="resolved"),
    ]
    load(store, events, tmp_path)
    assert value(store, "first_response_time") == 10
    assert by_agent(store, ["first_response_time"])["ann"]["first_response_time"] == 10
