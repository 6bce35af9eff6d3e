"""Retention: how long message text, rating comments, page URLs, free-form attrs and events
are kept (workspace settings `retention_*_days`, counted from each event's time).

`expire` blanks what is due and removes events past `retention_events_days`, whole
conversations at a time (a conversation goes once its last event is older). Before message
text goes, the fallback test that reads it is applied and kept on the row (`fallback`), so
every figure that does not read the text itself stays the same (docs/privacy.md).
An expired text or comment is stored as '' (a comment still counts as given), an expired
page URL as '' and expired attrs as {}: `ingest.conflicts` tells an expired copy from
different content by these values.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, fields
from typing import Any

from chatlens.store.db import Store
from chatlens.store.facts import refresh_facts
from chatlens.store.facts_sql import facts_parameters
from chatlens.store.settings import Settings, fallback_phrases, load_settings
from chatlens.store.sql import run

EXPIRED: dict[str, str] = {"text": "", "comment": "", "page_url": "", "attrs": "{}"}
"""The value an expired field is left with."""
SETTING = {
    "text": "retention_text_days",
    "comment": "retention_comment_days",
    "page_url": "retention_page_url_days",
    "attrs": "retention_attrs_days",
}
_STATE = "retention"


@dataclass
class Expired:
    """What one run removed: fields blanked by name, and events and conversations deleted."""

    text: int = 0
    comment: int = 0
    page_url: int = 0
    attrs: int = 0
    events: int = 0
    conversations: int = 0

    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))


def cutoffs(settings: Settings, now: dt.datetime) -> dict[str, dt.datetime]:
    """The time before which each field (and `events`) is due, for the fields with a limit."""
    limits = {name: getattr(settings, key) for name, key in SETTING.items()}
    limits["events"] = settings.retention_events_days
    return {name: now - dt.timedelta(days=days) for name, days in limits.items() if days}


def is_fallback_text(settings: Settings, text: str) -> bool:
    """The facts' fallback-phrase test in Python (for journal rows; see facts_sql)."""
    lowered = text.replace("\u2019", "'").lower()
    return any(phrase in lowered for phrase in fallback_phrases(settings))


def expire_row(
    row: dict[str, Any], ts: dt.datetime, settings: Settings, due: dict[str, dt.datetime]
) -> bool:
    """Blank the fields of one journal row (its time `ts`) that are due; a row whose event
    is due is blanked whole (the store removes it with its conversation once replayed).
    Returns whether the row changed."""
    changed = False
    for name, value in EXPIRED.items():
        cutoff = max(filter(None, [due.get(name), due.get("events")]), default=None)
        if cutoff is None or ts >= cutoff or row.get(name) in (None, value):
            continue
        if name == "text" and row.get("sender") == "bot" and row.get("fallback") is None:
            row["fallback"] = is_fallback_text(settings, row["text"])
        row[name] = value
        changed = True
    return changed


def expire(store: Store, now: dt.datetime | None = None) -> Expired:
    """Apply the workspace's retention settings to its store; facts follow."""
    settings = load_settings(store.con)
    due = cutoffs(settings, now or dt.datetime.now(dt.UTC))
    done = Expired()
    if not due:
        return done
    con = store.con
    run(con, "BEGIN")
    try:
        if "events" in due:
            _delete_events(store, due["events"], done)
        for name, value in EXPIRED.items():
            cutoff = max(filter(None, [due.get(name), due.get("events")]), default=None)
            if cutoff is None:
                continue
            where = f"ts < $cutoff AND {name} IS NOT NULL AND {name} IS DISTINCT FROM $blank"
            if name == "text":
                _freeze_fallback(store, settings, cutoff)
            found = run(con, f"SELECT count(*) FROM events WHERE {where}", _p(cutoff, value))
            setattr(done, name, int(found[0][0]))
            if found[0][0]:
                run(con, f"UPDATE events SET {name} = $blank WHERE {where}", _p(cutoff, value))
        if done.total():
            # the figures' cache knows the data by derived_state: this run is new data
            run(
                con,
                "INSERT OR REPLACE INTO derived_state VALUES (?, ?, ?)",
                [_STATE, str(time.time_ns()), store.max_seq()],
            )
        run(con, "COMMIT")
    except Exception:
        run(con, "ROLLBACK")
        raise
    if done.total():
        refresh_facts(store, full=True)
    return done


def _p(cutoff: dt.datetime, blank: str) -> dict[str, Any]:
    return {"cutoff": cutoff, "blank": blank}


def _freeze_fallback(store: Store, settings: Settings, cutoff: dt.datetime) -> None:
    """Keep the fallback test's answer on bot messages whose text is about to go."""
    match, params = facts_parameters(settings, marker="$", apostrophe="''''")
    bound = {k: v for k, v in params.items() if k.startswith("phrase")}
    run(
        store.con,
        f"UPDATE events SET fallback = coalesce({match}, false) "
        "WHERE type = 'message' AND sender = 'bot' AND fallback IS NULL "
        "AND text IS NOT NULL AND text <> '' AND ts < $cutoff",
        {**bound, "cutoff": cutoff},
    )


def _delete_events(store: Store, cutoff: dt.datetime, done: Expired) -> None:
    """Remove conversations whose last event is before `cutoff`, and events of no
    conversation before it (with the topics of the conversations removed)."""
    con = store.con
    run(
        con,
        "CREATE OR REPLACE TEMP TABLE _gone AS SELECT conversation_id FROM events "
        "WHERE conversation_id IS NOT NULL GROUP BY 1 HAVING max(ts) < $cutoff",
        {"cutoff": cutoff},
    )
    try:
        done.conversations = int(run(con, "SELECT count(*) FROM _gone")[0][0])
        gone = "conversation_id IN (SELECT conversation_id FROM _gone)"
        lone = "conversation_id IS NULL AND ts < $cutoff"
        found = run(
            con, f"SELECT count(*) FROM events WHERE {gone} OR ({lone})", {"cutoff": cutoff}
        )
        done.events = int(found[0][0])
        if done.events:
            run(con, f"DELETE FROM events WHERE {gone} OR ({lone})", {"cutoff": cutoff})
            for table in ("topic_questions", "conversation_topics"):
                run(con, f"DELETE FROM {table} WHERE {gone}")
    finally:
        run(con, "DROP TABLE IF EXISTS _gone")
