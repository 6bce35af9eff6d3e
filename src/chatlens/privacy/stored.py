"""An erasure applied to the store: the events (SQL doing what chatlens.privacy.scrub does
to a row) and the topics' names and terms. Facts and stints are rebuilt from the events
afterwards (chatlens.privacy.erasure)."""

from __future__ import annotations

import re
from typing import Any

import orjson

from chatlens.privacy.scrub import Target
from chatlens.store.db import Store
from chatlens.store.facts_sql import facts_parameters
from chatlens.store.settings import load_settings
from chatlens.store.sql import run

ERASED = "[erased]"
"""What a personal string found in a topic's name or terms becomes."""
_TEXTS = "text IS NOT NULL AND text <> ''"
_OTHERS = (
    "(comment IS NOT NULL AND comment <> '') OR (page_url IS NOT NULL AND page_url <> '') "
    "OR (attrs IS NOT NULL AND attrs::VARCHAR <> '{}') OR extra IS NOT NULL"
)
_BLANK = (
    "comment = CASE WHEN comment IS NULL THEN NULL ELSE '' END, "
    "page_url = CASE WHEN page_url IS NULL THEN NULL ELSE '' END, "
    "attrs = CASE WHEN attrs IS NULL THEN NULL ELSE '{}' END, extra = NULL"
)


def conversations_of(store: Store, customer: str, token: str) -> set[str]:
    """The conversations of a customer (erased already or not) in the store."""
    found = run(
        store.con,
        "SELECT DISTINCT conversation_id FROM events WHERE customer_id IN ($s, $t) "
        "AND conversation_id IS NOT NULL",
        {"s": customer, "t": token},
    )
    return {row[0] for row in found}


PERSONAL_KEYS = ("name", "mail", "phone")
"""attrs (and unknown fields) whose key holds one of these name the person: their values are
taken out of topic names and terms."""


def personal_strings(store: Store, target: Target) -> set[str]:
    """The id, and the values of the subject's attrs and unknown fields whose key says they
    name the person (name, email, phone...): what topic names and terms must not keep."""
    column = "customer_id" if target.kind == "customer" else "agent_id"
    found = run(
        store.con,
        f"SELECT attrs::VARCHAR, extra::VARCHAR FROM events WHERE {column} = $s "
        "AND (attrs IS NOT NULL OR extra IS NOT NULL)",
        {"s": target.subject},
    )
    strings = {target.subject}
    for row in found:
        for document in row:
            if document:
                strings.update(_personal(orjson.loads(document)))
    return {s for s in strings if len(s.strip()) >= 3}


def _personal(value: Any, personal: bool = False) -> list[str]:
    if isinstance(value, str):
        return [value] if personal else []
    if isinstance(value, dict):
        return [
            s
            for k, v in value.items()
            for s in _personal(v, personal or any(p in str(k).lower() for p in PERSONAL_KEYS))
        ]
    if isinstance(value, list):
        return [s for v in value for s in _personal(v, personal)]
    return []


def erase_events(store: Store, target: Target) -> int:
    """Apply the erasure to the events (inside the caller's transaction); returns how many
    events changed."""
    if target.kind == "customer":
        return _customer(store, target)
    return _agent(store, target)


def _customer(store: Store, target: Target) -> int:
    con = store.con
    s, t = {"s": target.subject}, {"t": target.token}
    run(
        con,
        "CREATE OR REPLACE TEMP TABLE _erased_conversations AS "
        "SELECT unnest($c::VARCHAR[]) AS conversation_id",
        {"c": sorted(target.conversations)},
    )
    theirs = "conversation_id IN (SELECT conversation_id FROM _erased_conversations)"
    _freeze_fallback(store, theirs)
    changed = run(
        con,
        f"SELECT count(*) FROM events WHERE customer_id = $s OR ({theirs} AND "
        f"({_TEXTS} OR {_OTHERS}))",
        s,
    )[0][0]
    sessions = run(
        con,
        "SELECT DISTINCT session_id FROM events WHERE customer_id = $s AND session_id IS NOT NULL",
        s,
    )
    for (session,) in sessions:
        run(
            con,
            "UPDATE events SET session_id = $new WHERE session_id = $old AND customer_id = $s",
            {**s, "old": session, "new": target.session_token(session)},
        )
    run(
        con,
        f"UPDATE events SET text = CASE WHEN text IS NULL THEN NULL ELSE '' END, {_BLANK} "
        f"WHERE (customer_id = $s OR {theirs}) AND ({_TEXTS} OR {_OTHERS})",
        s,
    )
    run(con, "UPDATE events SET customer_id = $t WHERE customer_id = $s", {**s, **t})
    run(con, "DROP TABLE _erased_conversations")
    return int(changed)


def _agent(store: Store, target: Target) -> int:
    con = store.con
    p = {"s": target.subject, "t": target.token}
    changed = run(
        con,
        "SELECT count(*) FROM events WHERE agent_id = $s OR from_agent_id = $s",
        {"s": target.subject},
    )[0][0]
    run(
        con,
        "UPDATE events SET text = '' "
        f"WHERE agent_id = $s AND type = 'message' AND sender = 'agent' AND {_TEXTS}",
        {"s": target.subject},
    )
    run(
        con,
        "UPDATE events SET attrs = CASE WHEN attrs IS NULL THEN NULL ELSE '{}' END, "
        "extra = NULL WHERE agent_id = $s AND (attrs IS NOT NULL OR extra IS NOT NULL)",
        {"s": target.subject},
    )
    run(con, "UPDATE events SET agent_id = $t WHERE agent_id = $s", p)
    run(con, "UPDATE events SET from_agent_id = $t WHERE from_agent_id = $s", p)
    return int(changed)


def _freeze_fallback(store: Store, where: str) -> None:
    """Keep the fallback test's answer on the bot messages whose text is about to go."""
    match, params = facts_parameters(load_settings(store.con), marker="$", apostrophe="''''")
    bound = {k: v for k, v in params.items() if k.startswith("phrase")}
    run(
        store.con,
        f"UPDATE events SET fallback = coalesce({match or 'false'}, false) "
        "WHERE type = 'message' AND sender = 'bot' AND fallback IS NULL "
        f"AND {_TEXTS} AND {where}",
        bound,
    )


def scrub_topics(store: Store, strings: set[str]) -> int:
    """Replace the personal strings found in topic names and terms (any case) by
    `[erased]`, in `topics` and in the conversations' `topic` dimension; returns the topics
    changed."""
    if not strings:
        return 0
    pattern = re.compile(
        "|".join(re.escape(s) for s in sorted(strings, key=len, reverse=True)), re.I
    )
    changed = 0
    for topic_id, name, terms in run(store.con, "SELECT topic_id, name, terms FROM topics"):
        new_name = pattern.sub(ERASED, name)
        new_terms = [pattern.sub(ERASED, t) for t in terms] if terms is not None else None
        if new_name == name and new_terms == terms:
            continue
        changed += 1
        run(
            store.con,
            "UPDATE topics SET name = $name, terms = $terms WHERE topic_id = $id",
            {"name": new_name, "terms": new_terms, "id": topic_id},
        )
        run(
            store.con,
            "UPDATE conversation_topics SET topic = $name WHERE topic_id = $id",
            {"name": new_name, "id": topic_id},
        )
    return changed
