"""Retention: texts, comments, page URLs and attrs blanked when due, events removed whole
conversations at a time, in the store and the journal; every figure that does not read the
text is the same after expiry (the reference fixture and a simulated year, every metric)."""

from __future__ import annotations

import datetime as dt

import orjson
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.ingest import import_file
from chatlens.metrics import METRICS
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.retention import expire
from chatlens.store.settings import save_setting

from .conftest import load, report, write_jsonl
from .test_metrics_reference import OVERRIDES, PERIOD, _splittable, load_fixture

ALL = tuple(sorted(METRICS))
EVERYTHING = {  # every kind of data retention can blank, kept for a day
    "retention_text_days": 1,
    "retention_comment_days": 1,
    "retention_page_url_days": 1,
    "retention_attrs_days": 1,
}


def settled(value: object) -> object:
    """`value` with every float to 12 significant digits (lists and dicts walked)."""
    if isinstance(value, float):
        return float(f"{value:.12g}")
    if isinstance(value, list):
        return [settled(v) for v in value]
    if isinstance(value, dict):
        return {k: settled(v) for k, v in value.items()}
    return value


def test_reference_fixture_figures_survive_text_expiry(tmp_path):
    with open_store(tmp_path / "ref.duckdb") as store:
        load_fixture(store, tmp_path)
        no_phrases = {k: v for k, v in OVERRIDES.items() if k != "fallback_phrases"}

        def everything():
            # each report runs on a new engine with caches of its own: computed afresh
            by_agent = [m for m in ALL if _splittable(m, "agent_id")]
            by_channel = [m for m in ALL if _splittable(m, "channel")]
            return {
                "period": report(store, ALL, *PERIOD).rows,
                "days": report(store, ALL, "2026-10-23", "2026-10-28", grain="day").rows,
                "by_agent": report(store, by_agent, *PERIOD, dimensions=["agent_id"]).rows,
                "by_channel": report(store, by_channel, *PERIOD, dimensions=["channel"]).rows,
                "overridden": report(store, ALL, *PERIOD, overrides=OVERRIDES).rows,
                "overridden_kept": report(store, ALL, *PERIOD, overrides=no_phrases).rows,
            }

        before = everything()
        texts = store.con.execute("SELECT count(*) FROM events WHERE text <> ''").fetchone()[0]
        for key, days in EVERYTHING.items():
            save_setting(store.con, key, days)
        done = expire(store, dt.datetime(2026, 12, 31, tzinfo=dt.UTC))
        assert done.text == texts > 100
        assert store.con.execute(
            "SELECT count(*) FROM events WHERE text <> '' OR comment <> '' OR page_url <> ''"
        ).fetchone() == (0,)
        after = everything()
    # fallback phrases given later no longer reach the expired texts: the one query that
    # overrides them is the one that may change; every other figure is the same
    assert set(before) == set(after)
    # (floats to 12 significant digits: DuckDB sums doubles in parallel, in any order)
    changed = [name for name in before if settled(before[name]) != settled(after[name])]
    assert changed in ([], ["overridden"])
    for name in before:
        if name != "overridden":
            assert settled(after[name]) == settled(before[name]), name


def test_a_simulated_year_keeps_every_metric(tmp_path):
    path = tmp_path / "year.jsonl"
    write_events(SimConfig(conversations=1500, days=365, seed=3, end=dt.date(2026, 11, 30)), path)
    with open_store(tmp_path / "year.duckdb") as store:
        assert import_file(store, path).rejected == 0
        refresh_facts(store)

        def figures():
            # each report runs on a new engine with caches of its own: computed afresh
            return [
                report(store, ALL, "2025-12-01", "2026-11-30", grain="month").rows,
                report(store, ALL, "2025-12-01", "2026-11-30", dimensions=["channel"]).rows,
            ]

        before = figures()
        save_setting(store.con, "retention_text_days", 90)
        save_setting(store.con, "retention_comment_days", 90)
        save_setting(store.con, "retention_page_url_days", 30)
        save_setting(store.con, "retention_attrs_days", 180)
        now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        done = expire(store, now)
        assert done.text > 1000 and done.page_url > 100 and done.events == 0
        left = store.con.execute(
            "SELECT count(*) FILTER (WHERE text <> '' AND ts < $t),"
            " count(*) FILTER (WHERE text <> '' AND ts >= $t) FROM events",
            {"t": now - dt.timedelta(days=90)},
        ).fetchone()
        assert left[0] == 0 and left[1] > 0  # old texts gone, the last 90 days kept
        # equal to 12 significant digits: DuckDB sums doubles in parallel, in any order
        assert settled(figures()) == settled(before)
        again = expire(store, now)  # nothing left to do: the second run changes nothing
        assert again.total() == 0


def _at(day: int, hour: int = 8) -> str:
    return dt.datetime(2026, 11, day, hour, tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")


def test_events_go_whole_conversations_at_a_time(tmp_path):
    events = [
        # c-old: all of it before the cutoff (1 Nov 00:00 + 10 days = 11 Nov)
        {"type": "conversation_started", "ts": _at(1), "conversation_id": "c-old"},
        {"type": "message", "ts": _at(1), "conversation_id": "c-old", "sender": "customer",
         "text": "old"},
        # c-span: starts before the cutoff, ends after it: kept whole
        {"type": "conversation_started", "ts": _at(9), "conversation_id": "c-span"},
        {"type": "message", "ts": _at(9, 9), "conversation_id": "c-span", "sender": "customer",
         "text": "span"},
        {"type": "conversation_closed", "ts": _at(12), "conversation_id": "c-span"},
        # c-new: after the cutoff
        {"type": "conversation_started", "ts": _at(15), "conversation_id": "c-new"},
        {"type": "message", "ts": _at(15, 9), "conversation_id": "c-new", "sender": "customer",
         "text": "new"},
        # page views of no conversation: one before, one after the cutoff
        {"type": "page_view", "ts": _at(2), "customer_id": "v1", "page_url": "https://a/x"},
        {"type": "page_view", "ts": _at(16), "customer_id": "v1", "page_url": "https://a/y"},
    ]  # fmt: skip
    with open_store(tmp_path / "s.duckdb") as store:
        load(store, events, tmp_path)
        save_setting(store.con, "retention_events_days", 10)
        done = expire(store, dt.datetime(2026, 11, 21, tzinfo=dt.UTC))
        assert (done.events, done.conversations, done.text) == (3, 1, 1)
        kept = store.con.execute(
            "SELECT coalesce(conversation_id, page_url), text FROM events ORDER BY ts"
        ).fetchall()
        facts = store.con.execute(
            "SELECT conversation_id FROM conversation_facts ORDER BY 1"
        ).fetchall()
    # the text of the kept conversation's events before the cutoff goes all the same
    assert kept == [
        ("c-span", None),
        ("c-span", ""),
        ("c-span", None),
        ("c-new", None),
        ("c-new", "new"),
        ("https://a/y", None),
    ]
    assert facts == [("c-new",), ("c-span",)]


def test_expired_copies_sent_again_are_duplicates_not_conflicts(tmp_path):
    events = [
        {"type": "conversation_started", "ts": _at(1), "conversation_id": "c1",
         "page_url": "https://shop/x", "attrs": {"plan": "pro"}},
        {"type": "message", "ts": _at(1), "conversation_id": "c1", "sender": "bot",
         "text": "Sorry, I didn't understand."},
        {"type": "rating", "ts": _at(1), "conversation_id": "c1", "kind": "csat", "score": 1,
         "comment": "useless"},
    ]  # fmt: skip
    path = write_jsonl(tmp_path / "in.jsonl", events)
    with open_store(tmp_path / "s.duckdb") as store:
        import_file(store, path)
        for key, days in EVERYTHING.items():
            save_setting(store.con, key, days)
        done = expire(store, dt.datetime(2026, 11, 30, tzinfo=dt.UTC))
        assert (done.text, done.comment, done.page_url, done.attrs) == (1, 1, 1, 1)
        stored = store.con.execute(
            "SELECT type, text, fallback, comment, page_url, attrs::VARCHAR FROM events "
            "ORDER BY type"
        ).fetchall()
        again = import_file(store, path)
        facts = store.con.execute(
            "SELECT fallback_messages, rating_comments FROM conversation_facts"
        ).fetchall()
    assert stored == [
        ("conversation_started", None, None, None, "", "{}"),
        ("message", "", True, None, None, None),  # the fallback test kept before the text went
        ("rating", None, None, "", None, None),  # a comment still counts as given
    ]
    assert (again.duplicates, again.conflicts) == (3, 0)
    assert facts == [(1, 1)]


def test_cli_expires_the_store_and_its_journal(tmp_path):
    db = tmp_path / "w.duckdb"
    with open_store(db) as store:
        save_setting(store.con, "retention_text_days", 30)
    old = {"event_id": "j1", "type": "message", "ts": "2026-10-01T08:00:00+00:00",
           "conversation_id": "c9", "sender": "bot", "text": "Je n'ai pas compris"}  # fmt: skip
    new = {**old, "event_id": "j2", "ts": "2026-11-25T08:00:00+00:00", "text": "Bonjour"}
    journal = db.with_suffix(".journal")
    segment = journal.with_name(journal.name + ".3")
    segment.write_bytes(orjson.dumps([old, new]) + b"\n")
    journal.write_bytes(orjson.dumps([new]) + b"\n" + b'[{"event_id": "torn", "te')
    result = CliRunner().invoke(
        app, ["privacy", "expire", "--db", str(db), "--now", "2026-11-30T00:00:00Z"]
    )
    assert result.exit_code == 0, result.output
    assert "1 journalled rows blanked" in result.output
    kept = [orjson.loads(line) for line in segment.read_bytes().splitlines()]
    assert kept == [[{**old, "text": "", "fallback": True}, new]]
    assert journal.read_bytes() == orjson.dumps([new]) + b"\n"  # the torn line dropped
    nothing = CliRunner().invoke(app, ["privacy", "expire", "--db", str(tmp_path / "n.duckdb")])
    assert "No retention is set" in nothing.output
    bad = CliRunner().invoke(app, ["privacy", "expire", "--db", str(db), "--now", "2026-11-30"])
    assert bad.exit_code == 2 and "give a UTC offset" in bad.output
