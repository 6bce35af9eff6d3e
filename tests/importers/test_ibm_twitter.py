"""The shipped `ibm-twitter-care` mapping on the real sample of 150 Twitter customer-care
conversations (tests/data/ibm-twitter-care, Apache-2.0: LICENSE there). Expected values are
computed here from the raw JSON with plain Python, not through chatlens."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import statistics
from collections import defaultdict
from pathlib import Path

import pytest

from chatlens.importers.mapping import MappingImporter
from chatlens.ingest import import_file
from chatlens.store.facts import refresh_facts
from tests.conftest import facts, report

SAMPLE = Path(__file__).parents[1] / "data" / "ibm-twitter-care" / "conversations.json"
START, END = "2018-01-01", "2020-05-01"  # the sample runs from May 2018 to April 2020


def snowflake(tweet_id: str) -> dt.datetime:
    """A tweet id's time: ms since epoch = (id >> 22) + 1288834974657 (Twitter's epoch)."""
    return dt.datetime.fromtimestamp(((int(tweet_id) >> 22) + 1288834974657) / 1000, dt.UTC)


def parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def raw() -> list[dict]:
    return json.loads(SAMPLE.read_text())


@pytest.fixture
def imported(store, tmp_path):
    path = Path(shutil.copy(SAMPLE, tmp_path / "conversations.json"))
    importer = MappingImporter({"mapping": "ibm-twitter-care"})
    summary = import_file(store, path, records=importer.records(path))
    refresh_facts(store)
    return store, path, importer, summary


def test_counts(imported, raw):
    store, path, importer, summary = imported
    turns = sum(len(c["dialogContent"]) for c in raw)
    assert len(raw) == 150 and turns == 190
    # per conversation: its start, every turn, the agentURL reply and its close; plus one
    # agent_joined per signing agent
    agents = {(c["dialogHeader"]["sessionID"], a) for c in raw for a in agent_ids(c)}
    assert summary.rejected == 0
    assert summary.imported == 150 + turns + 150 + 150 + len(agents)
    r = report(store, ["conversations", "messages", "human_conversations"], START, END).rows[0]
    assert (r["conversations"], r["messages"]) == (150, turns + 150)  # 340 messages
    assert r["human_conversations"] == 150  # no bot: every conversation waits for a human
    again = import_file(store, path, records=importer.records(path))
    assert (again.imported, again.duplicates) == (0, summary.imported)


def test_first_response_time_per_company(imported, raw):
    """FRT = the conversation's start -> the company's first reply: an agent turn, or else the
    agentURL reply, whose time is its tweet id's."""
    store = imported[0]
    per_company: dict[str, list[float]] = defaultdict(list)
    for c in raw:
        start = parse(c["dialogHeader"]["conversationDateTime"])
        replies = [parse(t["datetime"]) for t in c["dialogContent"] if "agent" in t]
        replies.append(snowflake(c["agentURL"]["tweet_ID"]))
        per_company[c["dialogHeader"]["company"]].append((min(replies) - start).total_seconds())
    rows = report(
        store,
        ["conversations", "first_response_time", "first_response_time_median"],
        START,
        END,
        dimensions=["team"],
    ).rows
    got = {row["team"]: row for row in rows}
    assert set(got) == set(per_company)  # 21 companies
    for company, frts in per_company.items():
        assert got[company]["conversations"] == len(frts)
        assert got[company]["first_response_time"] == pytest.approx(statistics.mean(frts))
        assert got[company]["first_response_time_median"] == pytest.approx(statistics.median(frts))
    # a few, readable: RockstarSupport answers in a couple of minutes (median), Google in days
    assert len(per_company["RockstarSupport"]) == 26
    assert statistics.median(per_company["RockstarSupport"]) == pytest.approx(134.6445, abs=1e-3)
    assert statistics.median(per_company["Google"]) > 2 * 86400


MARKS = "^*/~-"


def signature(text: str) -> str | None:
    """The agent's sign-off, read here by hand: the last word, after one of ^ * / ~ - that
    starts a word or follows . , ! ? (a space may follow the mark); letters only, starting
    with a capital. "... ^JS", "... *SR", "... /EX", "... -Richard", "community.~ Olivia"."""
    words = text.split()
    if not words:
        return None
    last = words[-1]
    if len(words) >= 2 and words[-2][-1] in MARKS:  # "~ Olivia"
        before, name = words[-2][:-1], last
    else:
        cut = max(last.rfind(mark) for mark in MARKS)
        if cut < 0:
            return None
        before, name = last[:cut], last[cut + 1 :]
    if name.isalpha() and name[0].isupper() and (not before or before[-1] in ".,!?"):
        return name
    return None


def agent_ids(conversation: dict) -> list[str]:
    """The agents of a conversation in order of their first reply: Company/initials, or the
    company's handle for an unsigned reply."""
    company = conversation["dialogHeader"]["company"]
    texts = [t["message"] for t in conversation["dialogContent"] if "agent" in t]
    texts.append(conversation["agentURL"]["url_utterance"])
    out: list[str] = []
    for text in texts:
        name = signature(text)
        agent = f"{company}/{name}" if name else company
        if agent not in out:
            out.append(agent)
    return out


def test_agents_teams_and_closes(imported, raw):
    store = imported[0]
    f = facts(store)
    assert len(f) == 150
    for c in raw:
        row = f[c["dialogHeader"]["sessionID"]]
        assert row["agents"] == agent_ids(c), c["dialogHeader"]["sessionID"]
        assert (row["team"], row["channel"]) == (c["dialogHeader"]["company"], "twitter")
        # closed resolved by the agent at the agentURL tweet's time
        assert (row["resolution"], row["resolved_by"]) == ("resolved", "agent")
        assert row["closed_at"] == snowflake(c["agentURL"]["tweet_ID"])
        first_customer = next(t for t in c["dialogContent"] if "agent" not in t)
        assert row["customer_id"] == (first_customer.get("client") or first_customer["client1"])
    # the longest thread: three AdobeCare agents sign in turn
    adobe = next(c for c in raw if len(c["dialogContent"]) == 11)
    assert f[adobe["dialogHeader"]["sessionID"]]["agents"] == [
        "AdobeCare/SJ",
        "AdobeCare/Shivangi",
        "AdobeCare/NKush",
    ]
    # the same initials at two companies stay two agents
    agents = {a for row in f.values() for a in row["agents"]}
    assert {"ChaseSupport/AF", "MojangSupport/AF"} <= agents
    # every agent joined at their first reply, so per-agent reports have their chats
    rows = report(store, "human_conversations", START, END, dimensions=["agent_id"]).rows
    per_agent = {row["agent_id"]: row["human_conversations"] for row in rows}
    expected: dict[str, int] = defaultdict(int)
    for c in raw:
        for agent in agent_ids(c):
            expected[agent] += 1
    assert per_agent == expected
    assert per_agent["RockstarSupport/SR"] == 12


def test_a_malformed_conversation_is_named_and_the_others_import(store, tmp_path, raw):
    """As JSONL this time; a bad turn rejects its conversation, naming the turn's field."""
    bad_time, no_id, good = (json.loads(json.dumps(c)) for c in raw[:3])
    bad_time["dialogContent"][0]["datetime"] = "soon"
    del no_id["dialogHeader"]["sessionID"]
    path = tmp_path / "three.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in (bad_time, no_id, good)))
    importer = MappingImporter({"mapping": "ibm-twitter-care"})
    summary = import_file(store, path, records=importer.records(path))
    session = bad_time["dialogHeader"]["sessionID"]
    assert summary.first_errors == [
        f"line 1 (conversation {session}): field 'dialogContent[0].datetime': "
        "not an ISO 8601 time: 'soon'",
        "line 2: field 'dialogHeader.sessionID': missing (conversation.id)",
    ]
    # the good one: start, its turns, the agentURL reply, the close, its agents' joins
    assert summary.rejected == 2
    assert summary.imported == 1 + len(good["dialogContent"]) + 2 + len(agent_ids(good))
