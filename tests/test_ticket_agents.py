"""Ticket metrics split and filtered by the agent and team named on the ticket events
(tickets of tests/agent_report_events.py: T1 ann 2 -> 3 Nov, T2 bob 4 -> 10 Nov, T3 created by
ann on 10 Nov and resolved by bob on 12 Nov)."""

from __future__ import annotations

from chatlens.metrics import METRICS
from tests.agent_report_events import events

from .conftest import load, report

TICKETS = ("tickets_created", "tickets_resolved", "ticket_resolution_time", "ticket_backlog")
DAY = 86400


def test_ticket_metrics_by_agent_by_hand(store, tmp_path):
    load(store, events(), tmp_path)
    rows = report(
        store, TICKETS, "2026-11-02", "2026-11-15", grain="week", dimensions=("agent_id",)
    ).rows
    got = {(r["bucket"][:10], r["agent_id"]): {m: r[m] for m in TICKETS} for r in rows}
    assert got == {
        # week 1: ann created and resolved T1 (1 day); bob created T2, open at the week's end
        ("2026-11-02", "ann"): {
            "tickets_created": 1,
            "tickets_resolved": 1,
            "ticket_resolution_time": DAY,
            "ticket_backlog": 0,
        },
        ("2026-11-02", "bob"): {
            "tickets_created": 1,
            "tickets_resolved": 0,
            "ticket_resolution_time": None,
            "ticket_backlog": 1,
        },
        # week 2: ann created T3; bob resolved T2 (6 days) and T3 (2 days): credit to who
        # resolved, the creation to who created
        ("2026-11-09", "ann"): {
            "tickets_created": 1,
            "tickets_resolved": 0,
            "ticket_resolution_time": None,
            "ticket_backlog": 0,
        },
        ("2026-11-09", "bob"): {
            "tickets_created": 0,
            "tickets_resolved": 2,
            "ticket_resolution_time": (6 * DAY + 2 * DAY) / 2,
            "ticket_backlog": 0,
        },
    }


def test_ticket_metrics_filtered_by_team(store, tmp_path):
    load(store, events(), tmp_path)
    for team, want in (("sales", (2, 1)), ("support", (1, 2))):  # (created, resolved)
        (row,) = report(store, TICKETS, "2026-11-02", "2026-11-15", filters={"team": (team,)}).rows
        assert (row["tickets_created"], row["tickets_resolved"]) == want, team


def test_agent_and_team_apply_to_every_ticket_metric():
    for mid in TICKETS:
        assert METRICS[mid].applies_to("agent_id") and METRICS[mid].applies_to("team"), mid
