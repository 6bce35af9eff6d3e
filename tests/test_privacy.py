"""A person's rights on a real store through the CLI: the access export checked field by
field, an erasure that leaves no byte of the customer's id, name or email anywhere in the
data folder (store, journal, lake) while every figure stays, idempotence, the same token for
the same person across runs, an agent's erasure, and the request log."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from typer.testing import CliRunner

from chatlens import privacy
from chatlens.cli import app
from chatlens.events import parse_event, to_row
from chatlens.metrics import METRICS
from chatlens.server.runtime.journal import read_rows
from chatlens.store import open_store
from chatlens.store.db import ROW_SCHEMA

from .conftest import load, report
from .privacy_data import (
    AINO,
    AINO_EMAIL,
    AINO_NAME,
    AINO_SESSION,
    BO,
    BO_EMAIL,
    BO_NAME,
    SECRETS,
    aino_events,
    bo_events,
    hits,
    late_aino_events,
    write_journal,
)
from .test_metrics_reference import OVERRIDES, PERIOD, _splittable, load_fixture
from .test_retention import settled

ALL = tuple(sorted(METRICS))
runner = CliRunner()


def seeded(folder: Path, journal: bool = True) -> Path:
    """Aino's and Bo's events in a store (checkpointed: the texts are in the file), Aino's
    late events in its journal; the import file itself removed (it is the user's)."""
    path = folder / "chatlens.duckdb"
    with open_store(path) as store:
        assert load(store, aino_events() + bo_events(), folder).rejected == 0
        store.con.execute("CHECKPOINT")
    (folder / "in.jsonl").unlink()
    if journal:
        write_journal(path, late_aino_events())
    return path


def cli(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


def rows(path: Path, sql: str) -> list[dict[str, Any]]:
    with open_store(path, read_only=True) as store:
        cursor = store.con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def events(path: Path) -> dict[str, dict[str, Any]]:
    return {r["event_id"]: r for r in rows(path, "SELECT * EXCLUDE (ingested_at) FROM events")}


def test_the_export_holds_everything_about_the_customer(tmp_path):
    path = seeded(tmp_path, journal=False)
    out = tmp_path / "aino.json"
    result = cli("privacy", "export", "--customer", AINO, "--db", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"Wrote 15 events of 2 conversations to {out}"
    held = orjson.loads(out.read_bytes())
    assert held["customer_id"] == AINO
    # her events and every event of her conversations, in time order; Bo's none
    assert [e["event_id"] for e in held["events"]] == [f"a{n}" for n in range(1, 16)]
    first, started, said = held["events"][:3]
    assert first == {
        "event_id": "a1",
        "type": "page_view",
        "ts": "2026-11-03T09:00:00Z",
        "customer_id": AINO,
        "session_id": AINO_SESSION,
        "page_url": f"https://shop.example.fi/account?email={AINO_EMAIL}",
    }
    assert started["attrs"] == {"name": AINO_NAME, "email": AINO_EMAIL, "plan": "gold"}
    assert said["text"] == f"Hei, olen {AINO_NAME}, sähköpostini on {AINO_EMAIL}"
    by_id = {e["event_id"]: e for e in held["events"]}
    assert by_id["a7"]["text"] == f"Hei {AINO_NAME}, autan mielelläni"  # the agent's answer
    assert by_id["a10"]["extra"] == {"favourite_colour": "sininen"}  # unknown fields too
    assert by_id["a15"]["value"] == 59.9 and by_id["a15"]["goal"] == "purchase"
    assert held["ratings"] == [
        {
            "event_id": "a10",
            "conversation_id": "fi-100",
            "ts": "2026-11-03T09:09:00Z",
            "kind": "csat",
            "score": 4.0,
            "comment": f"Kiitos! t. {AINO_NAME}",
        }
    ]
    assert held["tags"] == [
        {
            "event_id": "a8",
            "conversation_id": "fi-100",
            "ts": "2026-11-03T09:07:00Z",
            "type": "tag_added",
            "tag": "refund",
            "category": None,
        }
    ]
    facts = {c["conversation_id"]: c for c in held["conversations"]}
    assert sorted(facts) == ["fi-100", "fi-101"]
    assert facts["fi-100"]["customer_id"] == AINO
    assert facts["fi-100"]["messages"] == 3 and facts["fi-101"]["messages"] == 2
    assert facts["fi-100"]["csat"] == 4.0 and facts["fi-100"]["tags"] == ["refund"]
    assert facts["fi-100"]["page_url"] == "https://shop.example.fi/orders/4411"
    assert [(s["conversation_id"], s["agent_id"]) for s in held["agent_stints"]] == [
        ("fi-100", "ann")
    ]
    assert held["conversation_topics"] == [] and held["topic_questions"] == []
    # the request is logged with the target as its token, never the id
    log = orjson.loads(cli("privacy", "requests", "--db", str(path), "--json").output)
    assert [(r["kind"], r["target_kind"], r["result"], r["detail"]) for r in log] == [
        ("export", "customer", "answered", {"events": 15, "conversations": 2})
    ]
    assert log[0]["operator"].startswith("cli") and log[0]["target"].startswith("erased-")
    assert AINO not in orjson.dumps(log).decode()


def test_an_unknown_customer_is_refused_and_logged(tmp_path):
    path = seeded(tmp_path, journal=False)
    result = cli("privacy", "export", "--customer", "nobody-42", "--db", str(path))
    assert result.exit_code == 2
    assert "no event of customer 'nobody-42' is held" in result.output
    log = orjson.loads(cli("privacy", "requests", "--db", str(path), "--json").output)
    assert [(r["kind"], r["result"]) for r in log] == [("export", "not_found")]


def test_an_erased_customer_is_found_nowhere_in_the_data_folder(tmp_path):
    path = seeded(tmp_path)
    before = hits(tmp_path)
    # the search sees them where they are: in the store file and in the journal
    assert {n: sorted(set(f)) for n, f in before.items()} == {
        AINO: ["chatlens.duckdb", "chatlens.journal"],
        AINO_NAME: ["chatlens.duckdb", "chatlens.journal"],
        AINO_EMAIL: ["chatlens.duckdb", "chatlens.journal"],
        AINO_SESSION: ["chatlens.duckdb"],
    }
    result = cli("privacy", "erase", "--customer", AINO, "--db", str(path))
    assert result.exit_code == 0, result.output
    token = result.output.split(" as ")[1].split()[0]
    assert result.output.startswith(f"Erased customer as {token} (request 1): 10 events, ")
    assert "2 journalled rows, 0 topics." in result.output
    assert hits(tmp_path) == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chatlens.duckdb", "chatlens.journal"]
    # nothing of Bo is lost
    assert set(hits(tmp_path, (BO, BO_NAME, BO_EMAIL))) == {BO, BO_NAME, BO_EMAIL}

    stored = events(path)
    assert {e["customer_id"] for k, e in stored.items() if k.startswith("a")} == {token, None}
    assert stored["a1"]["session_id"].startswith("erased-")
    assert stored["a1"]["session_id"] != token
    for key in ("a3", "a4", "a7", "a12", "a13"):  # every text of her conversations
        assert stored[key]["text"] == "", key
    assert stored["a4"]["fallback"] is True  # the fallback test's answer is kept
    assert stored["a13"]["fallback"] is False
    assert stored["a10"]["comment"] == "" and stored["a10"]["score"] == 4.0
    assert stored["a10"]["extra"] is None
    assert stored["a2"]["attrs"] == "{}" and stored["a2"]["page_url"] == ""
    assert stored["a15"]["value"] == 59.9
    assert stored["b2"]["text"] == f"Hej, jag heter {BO_NAME}"
    facts = {r["conversation_id"]: r for r in rows(path, "SELECT * FROM conversation_facts")}
    assert facts["fi-100"]["customer_id"] == token and facts["fi-100"]["attrs"] is None
    assert facts["fi-100"]["fallback_messages"] == 1 and facts["fi-100"]["csat"] == 4.0
    assert facts["sv-200"]["customer_id"] == BO
    journalled = read_rows(path.with_suffix(".journal"))
    assert [(r["customer_id"], r.get("text")) for r in journalled] == [(token, None), (token, "")]

    log = orjson.loads(cli("privacy", "requests", "--db", str(path), "--json").output)
    assert [(r["kind"], r["target"], r["result"]) for r in log] == [("erase", token, "erased")]
    assert log[0]["detail"] == {"journal_rows": 2, "events": 10, "topics": 0}


def test_erasing_twice_changes_nothing_more_and_keeps_the_token(tmp_path):
    path = seeded(tmp_path)
    tables = (
        "SELECT * EXCLUDE (ingested_at) FROM events ORDER BY seq",
        "SELECT * FROM conversation_facts ORDER BY conversation_id",
        "SELECT * FROM agent_stints ORDER BY conversation_id, started_at",
    )
    first = privacy.erase(path, "customer", AINO, "test")
    after_first = [rows(path, sql) for sql in tables]
    journal = path.with_suffix(".journal").read_bytes()
    again = privacy.erase(path, "customer", AINO, "test")
    assert again.token == first.token
    assert again.counts == {"journal_rows": 0, "events": 0, "topics": 0}
    assert [rows(path, sql) for sql in tables] == after_first
    assert path.with_suffix(".journal").read_bytes() == journal

    # a late event of hers arrives with her id: erased again, it joins the same token
    with open_store(path) as store:
        late = {"event_id": "a30", "type": "goal_completed", "ts": "2026-11-05T10:00:00Z"}
        late |= {"customer_id": AINO, "goal": "signup", "attrs": {"email": AINO_EMAIL}}
        load(store, [late], tmp_path, "late.jsonl")
    (tmp_path / "late.jsonl").unlink()
    third = privacy.erase(path, "customer", AINO, "test")
    assert third.token == first.token and third.counts["events"] == 1
    assert events(path)["a30"]["customer_id"] == first.token
    assert hits(tmp_path) == {}


def _figures(path: Path) -> dict[str, Any]:
    """Every catalogue metric over the reference fixture's period, by day, by agent and by
    channel, and under overrides (each report on a new engine: computed afresh)."""
    no_phrases = {k: v for k, v in OVERRIDES.items() if k != "fallback_phrases"}
    with open_store(path) as store:
        by_agent = [m for m in ALL if _splittable(m, "agent_id")]
        by_channel = [m for m in ALL if _splittable(m, "channel")]
        figures = settled(
            {
                "period": report(store, ALL, *PERIOD).rows,
                "days": report(store, ALL, "2026-10-23", "2026-10-28", grain="day").rows,
                "by_agent": report(store, by_agent, *PERIOD, dimensions=["agent_id"]).rows,
                "by_channel": report(store, by_channel, *PERIOD, dimensions=["channel"]).rows,
                "overridden_kept": report(store, ALL, *PERIOD, overrides=no_phrases).rows,
            }
        )
    assert isinstance(figures, dict)
    return figures


def test_every_figure_is_the_same_after_erasing_a_customer(tmp_path):
    path = tmp_path / "ref.duckdb"
    with open_store(path) as store:
        load_fixture(store, tmp_path)
    before = _figures(path)
    # u01: three conversations (returning customer, follow-ups); u19: a conversation, a
    # visit and three goals (conversions attributed across events of the customer)
    first = privacy.erase(path, "customer", "u01", "test")
    second = privacy.erase(path, "customer", "u19", "test")
    assert first.counts["events"] == 11 and second.counts["events"] == 8
    assert _figures(path) == before
    found = rows(path, "SELECT count(*) AS n FROM events WHERE customer_id IN ('u01', 'u19')")
    assert found == [{"n": 0}]
    # only a report overriding the fallback phrases reads the erased texts: it may differ


def test_every_figure_is_the_same_after_erasing_an_agent(tmp_path):
    path = tmp_path / "ref.duckdb"
    with open_store(path) as store:
        load_fixture(store, tmp_path)
    before = _figures(path)
    done = privacy.erase(path, "agent", "carl", "test")
    assert done.counts["events"] == 6
    after = _figures(path)
    assert {k: v for k, v in after.items() if k != "by_agent"} == {
        k: v for k, v in before.items() if k != "by_agent"
    }
    # split by agent, carl's row is the token's row, with the same figures
    renamed = [
        {**r, "agent_id": done.token if r["agent_id"] == "carl" else r["agent_id"]}
        for r in before["by_agent"]
    ]
    key = lambda r: str(r["agent_id"])  # noqa: E731
    assert sorted(after["by_agent"], key=key) == sorted(renamed, key=key)
    with open_store(path, read_only=True) as store:
        assert store.con.execute(
            "SELECT count(*) FROM events WHERE 'carl' IN (agent_id, from_agent_id)"
        ).fetchone() == (0,)
        assert store.con.execute(
            "SELECT count(*) FROM agent_stints WHERE agent_id = 'carl'"
        ).fetchone() == (0,)


def test_an_erased_agent_keeps_no_text_of_theirs(tmp_path):
    path = seeded(tmp_path, journal=False)
    done = privacy.erase(path, "agent", "ann", "test")
    stored = events(path)
    assert stored["a6"]["agent_id"] == stored["a7"]["agent_id"] == done.token
    assert stored["a7"]["text"] == ""  # her own message
    assert stored["a3"]["text"].startswith("Hei, olen")  # the customer's stays
    assert stored["b4"]["agent_id"] == "bob" and stored["b4"]["text"].startswith("Hej Bo")
    facts = {r["conversation_id"]: r for r in rows(path, "SELECT * FROM conversation_facts")}
    assert facts["fi-100"]["agents"] == [done.token]
    assert facts["fi-100"]["pickup_agent_id"] == done.token


def test_topic_names_lose_the_persons_name_and_email(tmp_path):
    path = seeded(tmp_path, journal=False)
    with open_store(path) as store:
        store.con.execute(
            "INSERT INTO topics VALUES (1, 'aino virtanen / refund', 'fi', "
            "['aino virtanen', 'refund'], 'a3'), (2, 'gold plan / delivery', 'fi', "
            "['gold plan', 'delivery'], 'b2')"
        )
        store.con.execute(
            "INSERT INTO conversation_topics VALUES ('fi-100', 1, 'aino virtanen / refund'), "
            "('sv-200', 2, 'gold plan / delivery')"
        )
    done = privacy.erase(path, "customer", AINO, "test")
    assert done.counts["topics"] == 1
    # her attrs' name and email are personal; her plan ("gold") is not
    assert rows(path, "SELECT topic_id, name, terms FROM topics ORDER BY 1") == [
        {"topic_id": 1, "name": "[erased] / refund", "terms": ["[erased]", "refund"]},
        {"topic_id": 2, "name": "gold plan / delivery", "terms": ["gold plan", "delivery"]},
    ]
    assert rows(path, "SELECT conversation_id, topic FROM conversation_topics ORDER BY 1") == [
        {"conversation_id": "fi-100", "topic": "[erased] / refund"},
        {"conversation_id": "sv-200", "topic": "gold plan / delivery"},
    ]


def _lake_file(folder: Path, day: str, events: list[dict[str, Any]], name: str) -> Path:
    """A lake events file written by the layout (ROOT/events/date=DAY/part-....parquet)."""
    target = folder / "events" / f"date={day}" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist([to_row(parse_event(e)) for e in events], schema=ROW_SCHEMA)
    pq.write_table(table, target)
    return target


def test_the_lake_is_erased_too(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    path = seeded(data, journal=False)
    lake = tmp_path / "lake"
    mixed = _lake_file(lake, "2026-11-03", aino_events() + bo_events(), "part-001-aa.parquet")
    only_bo = _lake_file(lake, "2026-11-03", bo_events(), "part-002-bb.parquet")
    untouched = only_bo.read_bytes()
    assert set(hits(lake)) == set(SECRETS)

    result = cli("privacy", "erase", "--customer", AINO, "--db", str(path), "--lake", str(lake))
    assert result.exit_code == 0, result.output
    assert result.output.rstrip().endswith("10 lake rows.")
    assert hits(lake) == {} and hits(data) == {}
    files = sorted(p.name for p in (lake / "events" / "date=2026-11-03").iterdir())
    assert len(files) == 2 and "part-002-bb.parquet" in files and mixed.name not in files
    assert only_bo.read_bytes() == untouched  # a file without her rows is left alone
    rewritten = pq.read_table(mixed.parent / next(f for f in files if f != only_bo.name))
    got = {r["event_id"]: r for r in rewritten.to_pylist()}
    assert len(got) == 21  # every row kept
    assert got["a3"]["text"] == "" and got["a3"]["customer_id"].startswith("erased-")
    assert got["b2"]["text"] == f"Hej, jag heter {BO_NAME}"
    assert rewritten.schema == ROW_SCHEMA


def test_the_workspace_option_finds_the_store(tmp_path):
    path = seeded(tmp_path, journal=False)
    made = cli("workspaces", "create", "acme", "--db", str(path))
    assert made.exit_code == 0, made.output
    acme = tmp_path / "chatlens.acme.duckdb"
    shutil.copy(path, acme)
    result = cli("privacy", "erase", "--agent", "bob", "-w", "acme", "--db", str(path))
    assert result.exit_code == 0, result.output
    assert events(acme)["b4"]["agent_id"].startswith("erased-")
    assert events(path)["b4"]["agent_id"] == "bob"  # the default workspace's store untouched
    missing = cli("privacy", "requests", "-w", "nope", "--db", str(path))
    assert missing.exit_code == 2 and "no workspace 'nope'" in missing.output


def test_erase_needs_exactly_one_target(tmp_path):
    path = seeded(tmp_path, journal=False)
    both = cli("privacy", "erase", "--customer", AINO, "--agent", "ann", "--db", str(path))
    assert both.exit_code == 2 and "give --customer ID or --agent ID" in both.output
    with open_store(path) as store:
        assert privacy.list_requests(store.con) == []
