"""The support-operation simulator: API, determinism, formats, invariants and KPI coverage.

Invariants are computed from the written output only (DuckDB over Parquet), the way a
downstream reader would see the data.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import orjson
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq
import pytest

from chatlens.events import EVENT_TYPES, parse_event
from chatlens.simulate import SimConfig, simulate_tables, write_events
from chatlens.simulate import engine as sim_engine
from chatlens.simulate.phrases import TOPICS
from chatlens.simulate.replies import FALLBACKS

END = dt.date(2026, 10, 31)  # the 21 days up to it include the end of daylight saving time
SMALL = SimConfig(conversations=400, days=21, seed=11, end=END)
ZONE = ZoneInfo(SMALL.timezone)
CUTOFF = dt.datetime(2026, 11, 1, tzinfo=ZONE)  # local midnight after END
NOT_TRANSCRIPT = ("rating", "ticket_created", "ticket_resolved", "goal_completed")
FALLBACK_TEXTS = "(" + ", ".join("'" + t.replace("'", "''") + "'" for t in FALLBACKS.values()) + ")"


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("sim")
    paths = {fmt: base / f"events.{fmt}" for fmt in ("jsonl", "parquet", "csv")}
    counts = {write_events(SMALL, p) for p in paths.values()}
    assert len(counts) == 1
    return paths


@pytest.fixture(scope="module")
def db(out: dict[str, Path]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE ev AS SELECT * FROM read_parquet('{out['parquet']}')")
    return con


def rows(db: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return db.execute(sql).fetchall()


def one(db: duckdb.DuckDBPyConnection, sql: str) -> object:
    return db.execute(sql).fetchone()[0]


# -- API and formats -------------------------------------------------------------------


def test_config_is_frozen_with_defaults():
    cfg = SimConfig()
    assert (cfg.agents, cfg.teams, cfg.bots, cfg.timezone) == (25, 3, 2, "Europe/Helsinki")
    assert cfg.end is None and cfg.last_day == dt.datetime.now(dt.UTC).date()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs", [{"conversations": 0}, {"days": 0}, {"timezone": "Mars/Olympus"}, {"teams": 0}]
)
def test_bad_config_is_rejected_with_a_hint(kwargs):
    with pytest.raises(ValueError, match="SimConfig"):
        SimConfig(**kwargs)


def test_unknown_suffix_is_rejected(tmp_path):
    with pytest.raises(ValueError, match=r"\.jsonl, \.parquet or \.csv"):
        write_events(SMALL, tmp_path / "events.xlsx")
    assert not list(tmp_path.iterdir())


def test_same_config_gives_identical_bytes(tmp_path, out):
    for fmt, first in out.items():
        again = tmp_path / f"again.{fmt}"
        write_events(dataclasses.replace(SMALL), again)
        assert again.read_bytes() == first.read_bytes(), fmt


def test_other_seed_gives_other_events(tmp_path, out):
    other = tmp_path / "other.jsonl"
    write_events(dataclasses.replace(SMALL, seed=12), other)
    assert other.read_bytes() != out["jsonl"].read_bytes()


def test_tables_have_the_documented_columns_and_types(out):
    tables = list(simulate_tables(SMALL))
    table = pa.concat_tables(tables)
    assert table.num_rows == pq.read_metadata(out["parquet"]).num_rows
    schema = table.schema
    assert schema.names[:3] == ["event_id", "type", "ts"]
    assert {"reason", "from_agent_id", "attrs.segment", "attrs.country", "attrs.locale"} <= set(
        schema.names
    )
    assert schema.field("ts").type == pa.timestamp("ms", tz="UTC")
    for name in ("fallback", "welcome", "private", "up"):
        assert schema.field(name).type == pa.bool_()
    for name in ("score", "value", "confidence"):
        assert schema.field(name).type == pa.float64()
    assert len(table.column("event_id").unique()) == table.num_rows
    assert pq.read_table(out["parquet"]).equals(table)


def test_jsonl_is_compact_and_omits_nulls(out):
    lines = out["jsonl"].read_bytes().splitlines()
    first = orjson.loads(lines[0])
    assert first["event_id"] == "sim11-0"
    for line in lines[:2000]:
        record = orjson.loads(line)
        assert None not in record.values()
        assert b", " not in line[:20] and b": " not in line[:20]
        ts = record["ts"]
        assert len(ts) == 24 and ts.endswith("Z") and ts[10] == "T" and ts[19] == "."
    started = [orjson.loads(x) for x in lines if b'"conversation_started"' in x]
    assert all(set(r["attrs"]) == {"segment", "country", "locale"} for r in started)


def test_csv_matches_parquet(out):
    table = pq.read_table(out["parquet"])
    text = pcsv.read_csv(
        out["csv"],
        convert_options=pcsv.ConvertOptions(
            column_types={n: pa.string() for n in table.schema.names}, strings_can_be_null=True
        ),
    )
    assert text.num_rows == table.num_rows
    assert text.column("event_id").equals(table.column("event_id"))
    assert (
        text.column("ts")[0].as_py()
        == table.column("ts")[0].as_py().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )
    assert set(text.column("fallback").drop_null().to_pylist()) == {"true", "false"}


def test_every_record_validates(out):
    seen = set()
    for line in out["jsonl"].read_bytes().splitlines():
        event = parse_event(orjson.loads(line))
        seen.add(event.type)
    assert seen == set(EVENT_TYPES)


# -- invariants ------------------------------------------------------------------------


def test_conversations_start_first(db):
    assert (
        one(
            db,
            """
        SELECT count(*) FROM ev e JOIN ev s ON s.conversation_id = e.conversation_id
        WHERE s.type = 'conversation_started' AND e.ts < s.ts""",
        )
        == 0
    )
    assert (
        one(
            db,
            """
        SELECT count(*) FROM (SELECT DISTINCT conversation_id FROM ev
                              WHERE conversation_id IS NOT NULL) c
        WHERE NOT EXISTS (SELECT 1 FROM ev s WHERE s.conversation_id = c.conversation_id
                          AND s.type = 'conversation_started')""",
        )
        == 0
    )


def test_nothing_after_the_end_day(db):
    latest = one(db, "SELECT max(ts) FROM ev")
    assert latest < CUTOFF
    assert latest > CUTOFF - dt.timedelta(hours=6)


def test_stop_at_ends_the_data_at_that_instant():
    stop = dt.datetime(2026, 10, 31, 14, 30, tzinfo=ZONE)  # mid-afternoon of the last day
    cfg = dataclasses.replace(SMALL, stop_at=stop)
    table = pa.concat_tables(list(simulate_tables(cfg)))
    times = table.column("ts").to_pylist()
    assert max(times) < stop
    assert max(times) > stop - dt.timedelta(hours=1)  # a busy afternoon: events up to then
    whole = pa.concat_tables(list(simulate_tables(SMALL))).column("ts").to_pylist()
    assert sorted(t for t in whole if t < stop - dt.timedelta(hours=2))[:50] == sorted(times)[:50]
    with pytest.raises(ValueError, match="stop_at must carry its time zone"):
        SimConfig(stop_at=dt.datetime(2026, 10, 31, 14, 30))


def stints(db: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(conversation, agent, start, stop): from a pickup or transfer to the agent until
    the agent is transferred away or the chat closes (else its last transcript event)."""
    return rows(
        db,
        f"""
        WITH starts AS (
            SELECT conversation_id, agent_id, ts FROM ev
            WHERE type IN ('agent_joined', 'transferred')),
        ends AS (
            SELECT conversation_id, from_agent_id AS agent_id, ts FROM ev
            WHERE type = 'transferred'
            UNION ALL
            SELECT c.conversation_id, s.agent_id, c.ts FROM ev c JOIN starts s
                USING (conversation_id) WHERE c.type = 'conversation_closed'),
        last AS (
            SELECT conversation_id, max(ts) AS ts FROM ev
            WHERE conversation_id IS NOT NULL AND type NOT IN {NOT_TRANSCRIPT} GROUP BY 1)
        SELECT s.conversation_id, s.agent_id, s.ts,
            least(l.ts, coalesce((SELECT min(e.ts) FROM ends e
                WHERE e.conversation_id = s.conversation_id AND e.agent_id = s.agent_id
                AND e.ts >= s.ts), l.ts))
        FROM starts s JOIN last l USING (conversation_id)""",
    )


def agents_speak_in_their_stints(db: duckdb.DuckDBPyConnection) -> int:
    """Assert every agent message lies in a stint of that agent; return how many there are."""
    by_key = defaultdict(list)
    for conv, agent, start, stop in stints(db):
        by_key[conv, agent].append((start, stop))
    messages = rows(db, "SELECT conversation_id, agent_id, ts FROM ev WHERE sender = 'agent'")
    for conv, agent, ts in messages:
        assert any(a <= ts <= b for a, b in by_key[conv, agent]), (conv, agent, ts)
    return len(messages)


def peak_concurrency(db: duckdb.DuckDBPyConnection) -> int:
    moments = []
    for _, agent, start, stop in stints(db):
        moments += [(agent, start, 1), (agent, stop, -1)]
    moments.sort(key=lambda m: (m[0], m[1], m[2]))  # a slot freed at t is free at t
    load, peak = defaultdict(int), 0
    for agent, _, step in moments:
        load[agent] += step
        peak = max(peak, load[agent])
    return peak


def test_agents_speak_only_inside_their_stints(db):
    assert agents_speak_in_their_stints(db) > 300


def test_agent_concurrency_never_exceeds_the_limit(db):
    assert 1 <= peak_concurrency(db) <= SMALL.concurrency


def test_declines_follow_an_offer_to_the_same_agent(db):
    assert one(db, "SELECT count(*) FROM ev WHERE type = 'chat_declined'") >= 3
    assert (
        one(
            db,
            """
        SELECT count(*) FROM ev d WHERE d.type = 'chat_declined' AND NOT EXISTS (
            SELECT 1 FROM ev o WHERE o.type = 'chat_offered' AND o.agent_id = d.agent_id
            AND o.conversation_id = d.conversation_id AND o.ts <= d.ts)""",
        )
        == 0
    )
    # ... and another agent then takes the chat
    assert (
        one(
            db,
            """
        SELECT count(*) FROM ev d WHERE d.type = 'chat_declined' AND EXISTS (
            SELECT 1 FROM ev j WHERE j.type = 'agent_joined' AND j.agent_id <> d.agent_id
            AND j.conversation_id = d.conversation_id AND j.ts > d.ts)""",
        )
        >= 3
    )


def human_chats(db: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(conversation, queue entry, end, agent messages) of chats with a human part."""
    return rows(
        db,
        f"""
        SELECT s.conversation_id,
            coalesce((SELECT min(h.ts) FROM ev h WHERE h.conversation_id = s.conversation_id
                      AND h.type = 'handoff_requested'), s.ts),
            (SELECT max(e.ts) FROM ev e WHERE e.conversation_id = s.conversation_id
             AND e.type NOT IN {NOT_TRANSCRIPT}),
            (SELECT count(*) FROM ev m WHERE m.conversation_id = s.conversation_id
             AND m.type = 'message' AND m.sender = 'agent')
        FROM ev s WHERE s.type = 'conversation_started' AND (s.bot_id IS NULL OR EXISTS (
            SELECT 1 FROM ev h WHERE h.conversation_id = s.conversation_id
            AND h.type = 'handoff_requested'))""",
    )


def test_abandons_come_after_queue_entry(db):
    unanswered = [(entry, end) for _, entry, end, agent_msgs in human_chats(db) if not agent_msgs]
    assert all(end >= entry for entry, end in unanswered)
    waited = [(end - entry).total_seconds() for entry, end in unanswered]
    assert sum(w > 60 for w in waited) >= 5  # missed chats
    assert sum(w <= 60 for w in waited) >= 2  # left within the grace period


def test_ratings_follow_a_close_and_reopens_a_close(db):
    for kind in ("rating", "conversation_reopened"):
        assert (
            one(
                db,
                f"""
            SELECT count(*) FROM ev r WHERE r.type = '{kind}' AND NOT EXISTS (
                SELECT 1 FROM ev c WHERE c.type = 'conversation_closed'
                AND c.conversation_id = r.conversation_id AND c.ts <= r.ts)""",
            )
            == 0
        )
    # reopened chats are closed again later
    assert (
        one(
            db,
            """
        SELECT count(*) FROM ev r WHERE r.type = 'conversation_reopened' AND EXISTS (
            SELECT 1 FROM ev c WHERE c.type = 'conversation_closed'
            AND c.conversation_id = r.conversation_id AND c.ts > r.ts)""",
        )
        >= 2
    )


def test_reply_times_are_plausible(db):
    gaps = rows(
        db,
        """
        WITH m AS (SELECT conversation_id, ts, sender, welcome,
                          lag(sender) OVER w AS prev_sender, lag(ts) OVER w AS prev_ts
                   FROM ev WHERE type = 'message' AND NOT coalesce(private, false)
                   AND sender <> 'system'
                   WINDOW w AS (PARTITION BY conversation_id ORDER BY ts, event_id))
        SELECT sender, epoch(ts - prev_ts) FROM m WHERE prev_sender = 'customer'
        AND sender IN ('bot', 'agent')""",
    )
    bot = [g for s, g in gaps if s == "bot"]
    agent = [g for s, g in gaps if s == "agent"]
    assert bot and min(bot) >= 0.29 and max(bot) <= 3.01
    assert agent and min(agent) >= 4 and sorted(agent)[len(agent) // 2] > 20


# -- content and KPI coverage ----------------------------------------------------------


def test_languages_intents_and_fallback_phrases(db):
    locales = {r[0] for r in rows(db, 'SELECT DISTINCT "attrs.locale" FROM ev')}
    assert {"en", "fi", "sv", "fr", "id"} <= locales
    assert (
        one(
            db,
            """SELECT count(*) FROM ev WHERE type = 'message'
                      AND sender = 'customer' AND intent IS NULL""",
        )
        == 0
    )
    intents = {r[0] for r in rows(db, "SELECT DISTINCT intent FROM ev WHERE sender = 'customer'")}
    assert intents <= {*TOPICS, "greeting"} and len(intents) >= 18
    texts = {r[0] for r in rows(db, "SELECT DISTINCT text FROM ev WHERE sender = 'customer'")}
    assert len(texts) > 200
    assert {"hi", "moi", "hej", "bonjour", "halo"} & texts
    fallback = dict(
        rows(
            db,
            f"""
        SELECT coalesce(fallback::VARCHAR, 'absent'), count(*) FROM ev
        WHERE sender = 'bot' AND text IN {FALLBACK_TEXTS} GROUP BY 1""",
        )
    )
    assert fallback["true"] > 0 and fallback["absent"] > 0 and "false" not in fallback
    assert (
        one(
            db,
            f"""SELECT count(DISTINCT text) FROM ev WHERE sender = 'bot'
                       AND text IN {FALLBACK_TEXTS}""",
        )
        == 5
    )
    assert (
        one(
            db,
            """SELECT count(*) FROM ev WHERE sender = 'bot' AND fallback IS NOT TRUE
                      AND NOT coalesce(welcome, false) AND confidence IS NULL""",
        )
        > 0
    )
    assert one(db, "SELECT min(confidence) >= 0 AND max(confidence) <= 1 FROM ev")


def test_kpi_inputs_are_all_present(db):
    def count(where: str) -> int:
        return int(one(db, f"SELECT count(*) FROM ev WHERE {where}"))  # type: ignore[arg-type]

    checks = {
        "proactive": "type = 'conversation_started' AND initiated_by = 'business'",
        "email, live chat only": "channel = 'email' AND bot_id IS NULL",
        "welcome": "welcome",
        "canned": "canned_response_id IS NOT NULL",
        "private notes": "private",
        "system messages": "sender = 'system'",
        "handoff fallback": "type = 'handoff_requested' AND reason = 'fallback'",
        "handoff on request": "type = 'handoff_requested' AND reason = 'customer_request'",
        "decline": "reason = 'declined'",
        "timeout": "reason = 'timeout'",
        "transfers": "type = 'transferred' AND from_agent_id IS NOT NULL AND team IS NOT NULL",
        "urgent tags": "type = 'tag_added' AND priority = 'urgent'",
        "tag removed": "type = 'tag_removed'",
        "escalated": "resolution = 'escalated'",
        "unresolved": "resolution = 'unresolved'",
        "resolved by bot": "resolved_by = 'bot'",
        "resolved by customer": "resolved_by = 'customer'",
        "comments": "type = 'rating' AND comment IS NOT NULL",
        "purchases": "goal = 'purchase' AND value > 0 AND currency = 'EUR'",
        "chat-born tickets": "type = 'ticket_created' AND conversation_id IS NOT NULL",
        "other tickets": "type = 'ticket_created' AND conversation_id IS NULL",
        "downtime": "type = 'health_check' AND NOT up",
        "bot checks": "type = 'health_check' AND component = 'bot'",
        "knowledge": "type = 'knowledge_item_added' AND bot_id IS NOT NULL",
    }
    missing = [name for name, where in checks.items() if count(where) == 0]
    assert not missing
    assert {r[0] for r in rows(db, "SELECT DISTINCT kind FROM ev WHERE type = 'rating'")} == {
        "csat",
        "nps",
        "ces",
        "thumbs",
        "uss",
    }
    assert {r[0] for r in rows(db, "SELECT DISTINCT score FROM ev WHERE kind = 'thumbs'")} == {0, 1}
    statuses = rows(db, "SELECT DISTINCT status FROM ev WHERE type = 'agent_status'")
    assert {r[0] for r in statuses} == {"online", "away", "offline"}
    assert {r[0] for r in rows(db, "SELECT DISTINCT goal FROM ev WHERE goal IS NOT NULL")} == {
        "purchase",
        "signup",
        "lead",
        "add_to_cart",
    }
    channels = {r[0] for r in rows(db, "SELECT DISTINCT channel FROM ev WHERE channel IS NOT NULL")}
    assert channels == {"web", "messenger", "whatsapp", "email", "instagram"}
    assert count("type = 'conversation_started' AND page_url IS NOT NULL") > 100
    assert {r[0] for r in rows(db, "SELECT DISTINCT team FROM ev WHERE team IS NOT NULL")} == {
        "billing",
        "tech",
        "sales",
    }
    assert {r[0] for r in rows(db, "SELECT DISTINCT bot_id FROM ev WHERE bot_id IS NOT NULL")} == {
        "shopbot",
        "helpbot",
    }


def test_time_shapes_of_ratings_goals_and_tickets(db):
    late_ratings = one(
        db,
        """
        SELECT count(*) FROM ev r WHERE r.type = 'rating' AND r.ts > (
            SELECT min(c.ts) FROM ev c WHERE c.type = 'conversation_closed'
            AND c.conversation_id = r.conversation_id) + INTERVAL 1 HOUR""",
    )
    assert late_ratings > 5
    goals = dict(
        rows(
            db,
            """
        WITH g AS (SELECT customer_id, ts FROM ev WHERE type = 'goal_completed'),
        last AS (SELECT g.customer_id, g.ts, max(s.ts) AS chat FROM g LEFT JOIN ev s
                 ON s.customer_id = g.customer_id AND s.type = 'conversation_started'
                 AND s.ts <= g.ts GROUP BY ALL)
        SELECT CASE WHEN chat IS NULL THEN 'no chat'
                    WHEN ts - chat <= INTERVAL 7 DAY THEN 'within 7 days' ELSE 'later' END,
               count(*) FROM last GROUP BY 1""",
        )
    )
    assert goals.keys() == {"no chat", "within 7 days", "later"}
    backlog = one(
        db,
        """SELECT count(*) FROM ev t WHERE t.type = 'ticket_created' AND NOT EXISTS (
        SELECT 1 FROM ev r WHERE r.type = 'ticket_resolved' AND r.ticket_id = t.ticket_id)""",
    )
    assert backlog > 0


def test_customers_return_and_visitors_mostly_do_not_chat(db):
    per_customer = rows(
        db,
        """SELECT customer_id, count(*) FROM ev
                               WHERE type = 'conversation_started' GROUP BY 1""",
    )
    returning = sum(1 for _, n in per_customer if n > 1)
    assert returning / len(per_customer) > 0.1
    follow_ups = one(
        db,
        """
        SELECT count(*) FROM ev a JOIN ev b ON a.customer_id = b.customer_id
        WHERE a.type = 'conversation_started' AND b.type = 'conversation_started'
        AND b.ts > a.ts AND b.ts <= a.ts + INTERVAL 7 DAY""",
    )
    assert follow_ups > 20
    rate = one(
        db,
        """
        SELECT count(DISTINCT v.customer_id) FILTER (WHERE EXISTS (
            SELECT 1 FROM ev s WHERE s.type = 'conversation_started'
            AND s.customer_id = v.customer_id)) / count(DISTINCT v.customer_id)
        FROM ev v WHERE v.type = 'visit_started'""",
    )
    assert 0.1 < rate < 0.5  # visitor_chat_rate
    sessions = one(
        db,
        """SELECT count(*) FROM ev WHERE type IN ('visit_started', 'page_view')
                          AND (session_id IS NULL OR page_url IS NULL OR customer_id IS NULL)""",
    )
    assert sessions == 0


def test_seasonality_campaign_and_daylight_saving(db):
    starts = [r[0] for r in rows(db, "SELECT ts FROM ev WHERE type = 'conversation_started'")]
    local = [ts.astimezone(ZONE) for ts in starts]
    night = sum(1 for t in local if t.hour < 6)
    assert night < 0.08 * len(local)
    per_day = defaultdict(int)
    for t in local:
        per_day[t.date()] += 1
    counts = sorted(per_day.values())
    assert counts[-1] >= 1.8 * counts[len(counts) // 2]  # the campaign spike
    # Shifts start at local wall-clock hours on both sides of the DST change (Oct 25).
    first_online = rows(
        db,
        """SELECT agent_id, min(ts) FROM ev WHERE type = 'agent_status'
        AND status = 'online' GROUP BY agent_id, CAST(timezone('Europe/Helsinki', ts) AS DATE)""",
    )
    assert len(first_online) > 100
    for _, ts in first_online:
        t = ts.astimezone(ZONE)
        minute = t.hour * 60 + t.minute
        assert min(abs(minute - h * 60) for h in (7, 9, 12, 15)) <= 11, t


def test_several_chunks_keep_the_invariants(tmp_path, monkeypatch, db):
    monkeypatch.setattr(sim_engine, "CHUNK_CONVERSATIONS", 70)
    path = tmp_path / "chunked.parquet"
    n = write_events(SMALL, path)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE ev AS SELECT * FROM read_parquet('{path}')")
    assert one(con, "SELECT count(DISTINCT event_id) FROM ev") == n
    assert one(con, "SELECT count(*) FROM ev WHERE type = 'conversation_started'") == 400
    assert one(db, "SELECT count(*) FROM ev WHERE type = 'conversation_started'") == 400
    checks = "SELECT count(*) FROM ev WHERE type = 'health_check'"
    assert one(con, checks) == one(db, checks) == 2 * 4 * (21 * 24 + 1)  # DST: one 25-hour day
    assert agents_speak_in_their_stints(con) > 300
    assert peak_concurrency(con) <= SMALL.concurrency
    test_conversations_start_first(con)


@pytest.mark.slow
def test_larger_run_keeps_the_invariants(tmp_path):
    cfg = SimConfig(conversations=20_000, days=60, seed=5, end=END, agents=12, teams=2, bots=1)
    path = tmp_path / "large.parquet"
    write_events(cfg, path)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE ev AS SELECT * FROM read_parquet('{path}')")
    assert one(con, "SELECT count(*) FROM ev WHERE type = 'conversation_started'") == 20_000
    assert agents_speak_in_their_stints(con) > 10_000
    test_conversations_start_first(con)
    assert peak_concurrency(con) == cfg.concurrency  # busy hours fill every slot
    # a busy operation: some chats wait minutes for an agent
    waits = rows(
        con,
        """SELECT epoch(j.ts - h.ts) FROM ev h JOIN ev j USING (conversation_id)
                         WHERE h.type = 'handoff_requested' AND j.type = 'agent_joined'""",
    )
    assert max(w for (w,) in waits) > 300


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bots": 0},
        {"bots": 4, "teams": 5, "agents": 7},
        {"teams": 1, "agents": 1, "concurrency": 1},
        {"timezone": "America/New_York", "end": dt.date(2026, 3, 10)},  # DST starts Mar 8
        {"timezone": "Asia/Kolkata", "days": 1, "conversations": 1},
    ],
)
def test_other_shapes_of_operation(tmp_path, kwargs):
    cfg = SimConfig(**{"conversations": 150, "days": 5, "seed": 4, "end": END, **kwargs})
    path = tmp_path / "events.parquet"
    n = write_events(cfg, path)
    table = pq.read_table(path)
    assert table.num_rows == n
    for record in table.to_pylist():
        attrs = {k[6:]: record.pop(k) for k in list(record) if k.startswith("attrs.")}
        record = {k: v for k, v in record.items() if v is not None}
        if any(v is not None for v in attrs.values()):
            record["attrs"] = attrs
        parse_event(record)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE ev AS SELECT * FROM read_parquet('{path}')")
    started = "SELECT count(*) FROM ev WHERE type = 'conversation_started'"
    assert one(con, started) == cfg.conversations
    test_conversations_start_first(con)
    agents_speak_in_their_stints(con)
    assert peak_concurrency(con) <= cfg.concurrency
    bots = {r[0] for r in rows(con, "SELECT DISTINCT bot_id FROM ev WHERE bot_id IS NOT NULL")}
    assert bots <= set(cfg.bot_names)
    if cfg.bots == 0:
        assert not bots
