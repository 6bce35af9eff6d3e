"""Versioned schema migrations of the store. Append new steps; never edit an applied one."""

from __future__ import annotations

import duckdb

from chatlens.events import COLUMNS
from chatlens.store.sql import run

_SQL_TYPES = {
    "str": "VARCHAR",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "ts": "TIMESTAMPTZ",
    "json": "JSON",
}


def _events_table() -> str:
    cols = [
        f"{name} {_SQL_TYPES[kind]}{' NOT NULL' if name in ('event_id', 'type', 'ts') else ''}"
        for name, kind in COLUMNS.items()
    ]
    cols += [
        "extra JSON",  # fields no event type defines, kept so nothing sent is lost
        "seq BIGINT NOT NULL DEFAULT nextval('event_seq')",  # arrival order
        "ingested_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp",
    ]
    return "CREATE SEQUENCE event_seq;\nCREATE TABLE events (\n  " + ",\n  ".join(cols) + "\n);"


MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "events table", _events_table()),
    (2, "settings table", "CREATE TABLE settings (key VARCHAR PRIMARY KEY, value JSON NOT NULL);"),
    (
        3,
        "derived-state bookkeeping",
        "CREATE TABLE derived_state (name VARCHAR PRIMARY KEY, version VARCHAR, upto_seq BIGINT);",
    ),
    (
        4,
        "topics",
        # chatlens.topics: the fitted model (one row), the topics, every question with its
        # topic, and each conversation's topic (the report dimension `topic`). No primary
        # keys on the big tables: incremental assignment deletes and re-inserts rows.
        """
        CREATE TABLE topic_model (
          id INTEGER PRIMARY KEY, built_at TIMESTAMPTZ NOT NULL, questions BIGINT NOT NULL,
          model BLOB NOT NULL);
        CREATE TABLE topics (
          topic_id INTEGER PRIMARY KEY, name VARCHAR NOT NULL, language VARCHAR,
          terms VARCHAR[], representative_event_id VARCHAR);
        CREATE TABLE topic_questions (
          event_id VARCHAR NOT NULL, conversation_id VARCHAR NOT NULL, ts TIMESTAMPTZ,
          language VARCHAR, is_first BOOLEAN, before_fallback BOOLEAN, before_handoff BOOLEAN,
          topic_id INTEGER, similarity REAL);
        CREATE TABLE conversation_topics (
          conversation_id VARCHAR NOT NULL, topic_id INTEGER NOT NULL, topic VARCHAR NOT NULL);
        """,
    ),
    (
        5,
        "privacy requests and erasure jobs",
        # chatlens.privacy: the workspace's token key (erased ids become HMAC tokens under
        # it), the log of access and erasure requests (the target only as its token), and
        # each erasure's progress (the subject is kept only while the job runs)
        """
        CREATE TABLE privacy_key (id INTEGER PRIMARY KEY, key BLOB NOT NULL);
        CREATE SEQUENCE privacy_request_seq;
        CREATE TABLE privacy_requests (
          request_id BIGINT PRIMARY KEY DEFAULT nextval('privacy_request_seq'),
          asked_at TIMESTAMPTZ NOT NULL, operator VARCHAR NOT NULL, kind VARCHAR NOT NULL,
          target_kind VARCHAR NOT NULL, target VARCHAR NOT NULL, result VARCHAR NOT NULL,
          detail JSON, finished_at TIMESTAMPTZ);
        CREATE TABLE privacy_jobs (
          request_id BIGINT PRIMARY KEY, target_kind VARCHAR NOT NULL, subject VARCHAR,
          token VARCHAR NOT NULL, step VARCHAR NOT NULL, conversations VARCHAR[],
          lake VARCHAR, counts JSON);
        """,
    ),
]


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration not yet applied; returns the schema version."""
    run(
        con,
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name VARCHAR, applied_at TIMESTAMPTZ DEFAULT current_timestamp)",
    )
    current: int = run(con, "SELECT coalesce(max(version), 0) FROM schema_migrations")[0][0]
    for version, name, sql in MIGRATIONS:
        if version <= current:
            continue
        run(con, "BEGIN")
        try:
            run(con, sql)
            run(con, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            run(con, "COMMIT")
        except Exception:
            run(con, "ROLLBACK")
            raise
        current = version
    return current
