"""An access request: everything the store holds about one customer, as one JSON-ready dict.

Held about a customer: every event carrying their id (page views, visits, goals, ...) and
every event of their conversations (their messages and the bot's and agents' answers), all
fields as stored (texts, comments, page URLs, attrs and unknown fields still held); and
what is derived from them: the conversations' facts and agent stints, ratings with their
comments, tags, and the topics their conversations and questions were given."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson

from chatlens.errors import NotFound
from chatlens.privacy.requests import close_request, open_request
from chatlens.privacy.tokens import token, workspace_key
from chatlens.store.db import Store
from chatlens.store.sql import run

_JSON_COLUMNS = ("attrs", "extra")


def _rows(store: Store, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = store.con.execute(sql, params)
    names = [d[0] for d in cursor.description or []]
    return [_plain(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    for name, value in row.items():
        if name in _JSON_COLUMNS and isinstance(value, str):
            row[name] = orjson.loads(value)
        elif isinstance(value, dt.datetime):
            row[name] = value.isoformat().replace("+00:00", "Z")
    return row


def export_customer(store: Store, customer_id: str) -> dict[str, Any]:
    """Everything held about `customer_id`; NotFound when no event carries the id."""
    con = store.con
    run(
        con,
        "CREATE OR REPLACE TEMP TABLE _theirs AS SELECT DISTINCT conversation_id FROM events "
        "WHERE customer_id = $id AND conversation_id IS NOT NULL",
        {"id": customer_id},
    )
    try:
        p = {"id": customer_id}
        mine = "conversation_id IN (SELECT conversation_id FROM _theirs)"
        events = [  # the fields an event has (the store's null columns left out)
            {k: v for k, v in row.items() if v is not None}
            for row in _rows(
                store,
                "SELECT * EXCLUDE (seq, ingested_at) FROM events "
                f"WHERE customer_id = $id OR {mine} ORDER BY ts, seq",
                p,
            )
        ]
        if not events:
            raise NotFound(f"no event of customer {customer_id!r} is held")
        conversations = _rows(
            store, f"SELECT * FROM conversation_facts WHERE {mine} ORDER BY started_at", {}
        )
        stints = _rows(
            store, f"SELECT * FROM agent_stints WHERE {mine} ORDER BY started_at, agent_id", {}
        )
        topics = _rows(
            store,
            f"SELECT conversation_id, topic_id, topic FROM conversation_topics WHERE {mine} "
            "ORDER BY conversation_id",
            {},
        )
        questions = _rows(
            store,
            "SELECT q.event_id, q.conversation_id, q.ts, q.language, q.topic_id, t.name AS topic "
            "FROM topic_questions q LEFT JOIN topics t USING (topic_id) "
            f"WHERE q.{mine} ORDER BY q.ts, q.event_id",
            {},
        )
    finally:
        run(con, "DROP TABLE IF EXISTS _theirs")
    ratings = [
        {k: e.get(k) for k in ("event_id", "conversation_id", "ts", "kind", "score", "comment")}
        for e in events
        if e["type"] == "rating"
    ]
    tags = [
        {k: e.get(k) for k in ("event_id", "conversation_id", "ts", "type", "tag", "category")}
        for e in events
        if e["type"] in ("tag_added", "tag_removed")
    ]
    return {
        "customer_id": customer_id,
        "exported_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
        "events": events,
        "ratings": ratings,
        "tags": tags,
        "conversations": conversations,
        "agent_stints": stints,
        "conversation_topics": topics,
        "topic_questions": questions,
    }


def answer_export(store: Store, customer_id: str, operator: str) -> dict[str, Any]:
    """Answer an access request by `operator` and log it (a customer of whom nothing is held
    is logged as `not_found`, then NotFound is raised)."""
    target = token(workspace_key(store.con), "customer", customer_id)
    request_id = open_request(store.con, operator, "export", "customer", target)
    try:
        held = export_customer(store, customer_id)
    except NotFound:
        close_request(store.con, request_id, "not_found", {})
        raise
    counts = {"events": len(held["events"]), "conversations": len(held["conversations"])}
    close_request(store.con, request_id, "answered", counts)
    return held
