"""The permission matrix, tested once, at the Reader: every Reader method for every kind of
seat (admin, manager, read key, an agent under each `agent_access`, an ingest key), on a
workspace small enough to count by hand.

The workspace (November 2026, zone UTC; teams `sales` and `support`; agents ann and bob):

    c-ann  08:00  ann (sales)      first reply 30 s   CSAT 5 "great help"
    c-bob  09:00  bob (support)    first reply 90 s   CSAT 2 "too slow"
    c-bot  10:00  the bot (sales)  no agent           CSAT 4 "fine"
    c-now  ten minutes ago, a bot chat still open (the live view; outside November)
    the bot's health checks: up 2 Nov 08:00, down 11:00, up 11:30 (30 minutes down)

Routes x credentials (which routes a seat may call at all) stay in
tests/server/test_matrix.py; this file checks what each seat reads once in.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chatlens.app import service
from chatlens.app.audit import AuditTrail
from chatlens.app.db import open_app_db
from chatlens.metrics import Engine, Query
from chatlens.reading import Forbidden, NotFound, Reader
from chatlens.reports.drill import Drill
from chatlens.server.auth import Principal
from chatlens.store import Store
from tests.builders import DAY, chat, iso
from tests.conftest import load

HOUR = dt.timedelta(hours=1)
NOVEMBER = ("2026-11-01", "2026-11-30")
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def rated(cid: str, after: dt.datetime, score: int, comment: str) -> dict:
    return {"type": "rating", "conversation_id": cid, "ts": iso(after), "kind": "csat",
            "score": score, "comment": comment}  # fmt: skip


def health(at: dt.datetime, up: bool) -> dict:
    return {"type": "health_check", "ts": iso(at), "component": "bot", "up": up}


EVENTS = [
    *chat("c-ann", DAY, agent="ann", reply_after=30, close_after=300, team="sales"),
    rated("c-ann", DAY + dt.timedelta(seconds=400), 5, "great help"),
    *chat("c-bob", DAY + HOUR, agent="bob", reply_after=90, close_after=600, team="support"),
    rated("c-bob", DAY + HOUR + dt.timedelta(seconds=700), 2, "too slow"),
    *chat("c-bot", DAY + 2 * HOUR, bot=True, close_after=60, team="sales"),
    rated("c-bot", DAY + 2 * HOUR + dt.timedelta(seconds=100), 4, "fine"),
    *chat("c-now", NOW - dt.timedelta(minutes=10), bot=True),
    health(DAY, True),
    health(DAY + 3 * HOUR, False),
    health(DAY + 3.5 * HOUR, True),
]


class OneStore:
    """What a Reader reads from (the server's `runtime.Workspace`, here over one store):
    an engine per call, each on its own cursor."""

    def __init__(self, store: Store):
        self.store = store
        self.trail = audit_trail(Path(str(store.path)).parent)

    @contextmanager
    def engine(self) -> Iterator[Engine]:
        cursor = self.store.con.cursor()
        try:
            yield Engine(Store(cursor, self.store.path))
        finally:
            cursor.close()


def audit_trail(folder: Path) -> AuditTrail:
    """The audit trail the Readers record in: an app state of workspace acme in `folder`."""
    sessions = open_app_db(f"sqlite:///{folder / 'app.sqlite'}")
    with sessions() as db:
        service.create_workspace(db, "acme", folder / "chatlens.duckdb")
    return AuditTrail(sessions, "acme", "user:1", "GET /test")


def seat(role: str, access: str = "own", agent: str | None = None, team: str | None = None):
    return Principal("acme", Path("unused"), access, role, agent, team)


SEATS = {
    "admin": seat("admin"),
    "manager": seat("manager", team="support"),
    "read key": seat("read"),
    "ann (own)": seat("agent", "own", "ann", "sales"),
    "ann (team)": seat("agent", "team", "ann", "sales"),
    "ann (workspace)": seat("agent", "workspace", "ann", "sales"),
}
EVERYONE = ("admin", "manager", "read key")
ANN = ("ann (own)", "ann (team)", "ann (workspace)")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Iterator[OneStore]:
    from chatlens.store import open_store

    folder = tmp_path_factory.mktemp("reader")
    with open_store(folder / "acme.duckdb") as store:
        load(store, EVENTS, folder)
        yield OneStore(store)


def reader(workspace: OneStore, name: str) -> Reader:
    return Reader(workspace, SEATS[name], workspace.trail)


def count(workspace: OneStore, name: str, **filters: tuple[str, ...]) -> int:
    query = Query(metrics=("conversations",), start=NOVEMBER[0], end=NOVEMBER[1], filters=filters)
    return reader(workspace, name).figures(query).rows[0]["conversations"]


# -- figures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "everything", "sales", "support"),
    [
        ("admin", 3, 2, 1),
        ("manager", 3, 2, 1),
        ("read key", 3, 2, 1),
        # only the conversations ann took part in, whatever the team asked
        ("ann (own)", 1, 1, 0),
        # her own team's aggregate (c-ann, c-bot); the workspace or another team: her own
        ("ann (team)", 1, 2, 0),
        ("ann (workspace)", 3, 2, 1),
    ],
)
def test_figures_are_what_each_seat_may_aggregate(workspace, name, everything, sales, support):
    assert count(workspace, name) == everything
    assert count(workspace, name, team=("sales",)) == sales
    assert count(workspace, name, team=("support",)) == support


@pytest.mark.parametrize(
    ("name", "by_agent"),
    [
        *((name, {"ann": 30.0, "bob": 90.0}) for name in EVERYONE),
        # agent-level figures name agents: an agent reads only its own, at any access
        *((name, {"ann": 30.0}) for name in ANN),
    ],
)
def test_agent_level_figures_name_only_the_agents_a_seat_may_see(workspace, name, by_agent):
    query = Query(metrics=("first_response_time",), start=NOVEMBER[0], end=NOVEMBER[1],
                  dimensions=("agent_id",))  # fmt: skip
    rows = reader(workspace, name).figures(query).rows
    assert {r["agent_id"]: r["first_response_time"] for r in rows} == by_agent


@pytest.mark.parametrize("name", ANN)
def test_an_agent_asking_for_another_agents_figures_is_refused(workspace, name):
    with pytest.raises(Forbidden, match="agents can read only their own agent-level figures"):
        count(workspace, name, agent_id=("bob",))
    assert count(workspace, name, agent_id=("ann",)) == 1


@pytest.mark.parametrize("name", [*EVERYONE, *ANN])
def test_figures_many_scope_each_query_as_figures_does(workspace, name):
    one = Query(metrics=("conversations",), start=NOVEMBER[0], end=NOVEMBER[1])
    sales = Query(metrics=("conversations",), start=NOVEMBER[0], end=NOVEMBER[1],
                  filters={"team": ("sales",)})  # fmt: skip
    got = [r.rows[0]["conversations"] for r in reader(workspace, name).figures_many([one, sales])]
    assert got == [count(workspace, name), count(workspace, name, team=("sales",))]


@pytest.mark.parametrize(
    ("name", "scoped_to"),
    [("admin", None), ("read key", None), ("ann (own)", "ann"), ("ann (workspace)", None)],
)
def test_the_query_answer_says_when_it_was_narrowed_to_the_agent(workspace, name, scoped_to):
    query = Query(metrics=("conversations",), start=NOVEMBER[0], end=NOVEMBER[1])
    answer = reader(workspace, name).answer(query)
    assert answer["meta"]["workspace"] == "acme"
    assert answer["meta"].get("scoped_to_agent") == scoped_to


@pytest.mark.parametrize(
    ("name", "spread"),
    [
        *((name, {2: 1, 4: 1, 5: 1}) for name in EVERYONE),
        ("ann (own)", {5: 1}),
        ("ann (team)", {5: 1}),  # no team asked: her own
        ("ann (workspace)", {2: 1, 4: 1, 5: 1}),
    ],
)
def test_the_csat_spread_counts_what_the_seat_may_aggregate(workspace, name, spread):
    found = reader(workspace, name).csat_spread(*NOVEMBER, {})
    assert {r["score"]: r["conversations"] for r in found if r["conversations"]} == spread
    assert [r["score"] for r in found] == [1, 2, 3, 4, 5]


def test_the_csat_spread_of_an_agents_own_team(workspace):
    found = reader(workspace, "ann (team)").csat_spread(*NOVEMBER, {"team": ("sales",)})
    assert {r["score"]: r["conversations"] for r in found if r["conversations"]} == {4: 1, 5: 1}


@pytest.mark.parametrize("name", [*EVERYONE, *ANN])
def test_uptime_is_the_whole_systems_for_every_seat(workspace, name):
    """Health checks belong to the whole system: no seat's scope applies (the one read
    without it). Observed from 2 Nov 08:00 to the end of 30 Nov: 28 days 16 hours."""
    found = reader(workspace, name).uptime(*NOVEMBER)
    assert found["downtime_seconds"] == 1800
    assert found["availability"] == pytest.approx(1 - 0.5 / (28 * 24 + 16))
    assert [(i["component"], i["started_at"], i["seconds"]) for i in found["incidents"]] == [
        ("bot", DAY + 3 * HOUR, 1800)
    ]


# -- conversations ----------------------------------------------------------------------

ALL_IDS = ["c-ann", "c-bob", "c-bot"]


@pytest.mark.parametrize(
    ("name", "ids"),
    [*((name, ALL_IDS) for name in EVERYONE), *((name, ["c-ann"]) for name in ANN)],
)
def test_lists_exports_and_comments_hold_only_the_conversations_a_seat_may_read(
    workspace, name, ids, tmp_path
):
    it = reader(workspace, name)
    page = it.conversations(*NOVEMBER, {}, columns=("conversation_id",))
    assert (page.total, [r["conversation_id"] for r in page.rows]) == (len(ids), ids)
    out = tmp_path / "conversations.csv"
    assert it.export(*NOVEMBER, {}, None, "csv", out) == len(ids)
    with out.open(encoding="utf-8", newline="") as file:
        assert [row["conversation_id"] for row in csv.DictReader(file)] == ids
    comments = {"c-ann": "great help", "c-bob": "too slow", "c-bot": "fine"}
    newest_first = [comments[cid] for cid in reversed(ids)]
    assert [c["comment"] for c in it.comments(*NOVEMBER, {})] == newest_first


@pytest.mark.parametrize("name", ANN)
def test_an_agent_listing_another_agents_conversations_is_refused(workspace, name, tmp_path):
    it = reader(workspace, name)
    with pytest.raises(Forbidden, match="agents can read only their own conversations"):
        it.conversations(*NOVEMBER, {"agent_id": ("bob",)})
    with pytest.raises(Forbidden):
        it.export(*NOVEMBER, {"agent_id": ("bob",)}, None, "csv", tmp_path / "x.csv")
    with pytest.raises(Forbidden):
        it.comments(*NOVEMBER, {"agent_id": ("bob",)})


def test_a_list_is_paged_and_narrowed_by_a_drill(workspace):
    admin = reader(workspace, "admin")
    second = admin.conversations(*NOVEMBER, {}, page=2, per_page=2, columns=("conversation_id",))
    assert (second.total, second.pages, second.rows) == (3, 2, [{"conversation_id": "c-bot"}])
    rated_two = admin.conversations(*NOVEMBER, {}, Drill(csat=2), columns=("conversation_id",))
    assert rated_two.rows == [{"conversation_id": "c-bob"}]
    # an agent's drill keeps its scope: none of ann's conversations is rated 2
    ann = reader(workspace, "ann (workspace)")
    assert ann.conversations(*NOVEMBER, {}, Drill(csat=2)).total == 0


@pytest.mark.parametrize(
    ("name", "readable"),
    [*((name, ALL_IDS) for name in EVERYONE), *((name, ["c-ann"]) for name in ANN)],
)
def test_one_conversation_and_its_transcript_only_if_the_seat_may_read_it(
    workspace, name, readable
):
    it = reader(workspace, name)
    # an id is untrusted text: one that would widen a statement built by hand finds nothing
    for cid in [*ALL_IDS, "c-nobody", "c-nobody' OR conversation_id <> '"]:
        if cid in readable:
            one = it.conversation(cid)
            facts, events = it.transcript(cid)
            assert one["conversation"]["conversation_id"] == facts["conversation_id"] == cid
            assert [e["type"] for e in one["events"]] == [e["type"] for e in events]
            assert events[-1]["type"] == "rating" and one["events"][-1]["score"] > 0
        else:
            for read in (it.conversation, it.transcript):
                message = re.escape(f"no conversation {cid!r} that you can read")
                with pytest.raises(NotFound, match=message):
                    read(cid)


def test_a_transcript_is_in_the_workspace_zone_and_the_api_drops_empty_fields(workspace):
    _, events = reader(workspace, "admin").transcript("c-ann")
    assert [(e["type"], e["local"]) for e in events[:3]] == [
        ("conversation_started", "2026-11-02 08:00:00"),
        ("message", "2026-11-02 08:00:02"),
        ("agent_joined", "2026-11-02 08:00:20"),
    ]
    assert events[0]["text"] is None
    first = reader(workspace, "admin").conversation("c-ann")["events"][0]
    assert "text" not in first and first["team"] == "sales"


# -- now and menus ----------------------------------------------------------------------


@pytest.mark.parametrize("name", [*EVERYONE, "ann (workspace)"])
def test_the_live_view_counts_the_whole_workspace(workspace, name):
    status = reader(workspace, name).live()
    assert (status["open_conversations"], status["with_bot"], status["waiting"]) == (1, 1, 0)


@pytest.mark.parametrize("name", ["ann (own)", "ann (team)"])
def test_the_live_view_is_refused_to_agents_without_workspace_access(workspace, name):
    with pytest.raises(Forbidden, match="the live view shows the whole workspace"):
        reader(workspace, name).live()


@pytest.mark.parametrize(
    ("name", "agents"),
    [*((name, ["ann", "bob"]) for name in EVERYONE), *((n, ["ann"]) for n in ANN)],
)
def test_filter_menus_offer_an_agent_only_itself(workspace, name, agents):
    it = reader(workspace, name)
    assert it.narrowed == (name in ANN)
    menus = it.filter_choices()
    assert menus["agent_id"] == agents
    assert menus["team"] == ["sales", "support"] and menus["channel"] == ["web"]
    assert menus["bot_id"] == ["bot1"] and menus["topic"] == []


def test_team_reports_are_refused_to_agents(workspace):
    for name in EVERYONE:
        assert reader(workspace, name).team_filter_choices()["agent_id"] == ["ann", "bob"]
    for name in ANN:
        with pytest.raises(Forbidden, match="agents see only their own report"):
            reader(workspace, name).team_filter_choices()


def test_an_ingest_key_reads_nothing(workspace):
    with pytest.raises(Forbidden, match="an ingest key cannot read figures"):
        Reader(workspace, seat("ingest"), workspace.trail)


# -- topics -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def topical(tmp_path_factory) -> Iterator[OneStore]:
    """tests/test_topics.two_topics: 12 order questions (ann joins the first 4) and 12
    password questions the bot fails on and hands to bob."""
    from chatlens.store import open_store
    from chatlens.topics import rebuild
    from tests.test_topics import two_topics

    folder = tmp_path_factory.mktemp("topics")
    with open_store(folder / "acme.duckdb") as store:
        load(store, two_topics(), folder)
        assert rebuild(store).topics == 2
        yield OneStore(store)


def _named(rows) -> dict[str, int]:
    return {("order" if "order" in r["name"] else "password"): r["conversations"] for r in rows}


@pytest.mark.parametrize(
    ("name", "order", "password"),
    [
        *((name, 12, 12) for name in EVERYONE),
        *((name, 4, 0) for name in ANN),  # topics count only ann's own conversations
    ],
)
def test_topics_count_the_conversations_a_seat_may_read(topical, name, order, password):
    it = Reader(topical, SEATS[name], topical.trail)
    assert _named(it.topics()) == {"order": order, "password": password}
    ids = {("order" if "order" in t["name"] else "password"): t["id"] for t in it.topics()}
    detail = it.topic(ids["password"], examples=3)
    assert (detail["conversations"], len(detail["examples"])) == (password, min(3, password))
    # what the bot should learn next: the topics with failed questions (ann's have none)
    assert _named(it.learn_next(limit=5, examples=1)) == ({"password": 12} if password else {})
    assert len(it.failed_questions()) == password
    with pytest.raises(NotFound, match="no topic 999"):
        it.topic(999, examples=1)
    assert sorted(it.filter_choices()["topic"]) == sorted(t["name"] for t in it.topics())
