"""Catalogue entries that are lists rather than numbers: docs/metrics.md names them with an id,
but what they give is rows (questions, incidents), so they are read from their own surfaces
instead of `chatlens report`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListEntry:
    id: str
    label: str
    section: str
    description: str
    surfaces: tuple[str, ...]


LISTS: dict[str, ListEntry] = {
    entry.id: entry
    for entry in [
        ListEntry(
            "top_unanswered",
            "What the bot should learn next",
            "Chatbot",
            "The customer messages that preceded fallbacks and handoffs, grouped by topic and "
            "ranked by fallback + handoff volume, with example questions.",
            (
                "chatlens topics export learn-next --format csv|rasa",
                "GET /api/v1/topics/learn-next",
                "dashboard: FAQ page, 'What the bot should learn next'",
            ),
        ),
        ListEntry(
            "downtime_incidents",
            "Downtime incidents",
            "Chatbot",
            "Each run of down health checks of a component, from the first down check to the "
            "next check that answers up (the incidents behind `availability`).",
            ("dashboard: Chatbot page, 'Availability and downtime'",),
        ),
    ]
}
