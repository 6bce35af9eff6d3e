"""`chatlens serve --lake-facts URL` over real HTTP: the same figures as a server over the store
holding the same events, the freshness on every page and answer, ingest and settings
refused, and two servers over one lake agreeing (also after a new facts run)."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pytest

from chatlens.ingest import import_file
from chatlens.lake.facts import derive, read_state
from chatlens.lake.layout import Lake
from chatlens.metrics.catalogue import METRICS
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.settings import load_settings
from tests.serverkit import LiveServer, numbered_chat, provision
from tests.waiting import wait_until

from .lakekit import store_events, write_day_files

pytestmark = pytest.mark.server

PERIOD = {"from": "2026-10-18", "to": "2026-11-01"}
QUERIES = [
    {"metrics": sorted(METRICS), **PERIOD},
    {
        "metrics": ["conversations", "first_response_time_p90", "csat", "missed_chats"],
        **PERIOD,
        "every": "day",
    },
    {"metrics": ["conversations", "handle_time", "csat"], **PERIOD, "by": ["agent_id"]},
    {
        "metrics": ["conversations", "containment_rate"],
        **PERIOD,
        "by": ["channel"],
        "compare": True,
    },
]


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def answers(client) -> list[list[dict]]:
    found = []
    for query in QUERIES:
        answer = client.post("/api/v1/query", json=query)
        assert answer.status_code == 200, answer.text
        found.append(answer.json()["rows"])
    return found


def brand_workspace_lake(tmp, lake: Lake) -> Lake:
    """Workspace `brand`'s own lake, where `serve --lake` puts its events (URL/workspaces/
    brand): two email conversations of three events each, on 2026-10-20, facts derived."""
    rows = numbered_chat("b1", 3, day="2026-10-20T09", channel="email", text="hello")
    rows += numbered_chat("b2", 3, day="2026-10-20T10", channel="email", text="hi")
    source = tmp / "brand.jsonl"
    source.write_text("".join(json.dumps(row) + "\n" for row in rows))
    with open_store(":memory:") as store:
        import_file(store, source)
        write_day_files(lake, store_events(store))
        derive(lake, load_settings(store.con))
    return lake


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    """A store server and two lake servers over the same simulated events."""
    tmp = tmp_path_factory.mktemp("serve-lake")
    cfg = SimConfig(conversations=300, days=14, seed=11, end=dt.date(2026, 11, 1))
    write_events(cfg, tmp / "events.jsonl")
    store_path = tmp / "store" / "chatlens.duckdb"
    store_path.parent.mkdir()
    with open_store(store_path) as store:
        import_file(store, tmp / "events.jsonl")
        refresh_facts(store)
        lake = Lake.open(str(tmp / "lake"))
        write_day_files(lake, store_events(store, "ts < '2026-10-31'"))
        late = store_events(store, "ts >= '2026-10-31'")
        settings = load_settings(store.con)
    derive(lake, settings)
    brand_lake = brand_workspace_lake(tmp, Lake.open(str(tmp / "lake" / "workspaces" / "brand")))
    spec = {
        "default": {
            "users": {"boss": ("admin", None, None)},
            "keys": {"in": "ingest", "read": "read"},
        },
        "brand": {"users": {"brand-boss": ("admin", None, None)}, "keys": {"brand-read": "read"}},
    }
    store_seats = provision(store_path, spec)
    lake_app = tmp / "app" / "chatlens.duckdb"
    lake_app.parent.mkdir()
    lake_seats = provision(lake_app, spec)
    servers = [LiveServer(store_path)]
    servers += [LiveServer(lake_app, args=("--lake-facts", str(tmp / "lake"))) for _ in range(2)]
    try:
        for server in servers:
            server.start(timeout=180)
        yield {
            "store": servers[0],
            "lakes": servers[1:],
            "store_seats": store_seats,
            "lake_seats": lake_seats,
            "lake": lake,
            "brand_lake": brand_lake,
            "late": late,
            "settings": settings,
        }
    finally:
        for server in servers:
            server.stop()


def test_lake_servers_answer_what_the_store_server_answers_once_facts_catch_up(deployment):
    store_reader = deployment["store"].client(deployment["store_seats"].keys["read"])
    lake_readers = [s.client(deployment["lake_seats"].keys["read"]) for s in deployment["lakes"]]
    # the lake holds all but the last two days: its servers agree with each other, and
    # count fewer conversations than the store
    first = [answers(r) for r in lake_readers]
    assert same(first[0], first[1])
    want = answers(store_reader)
    assert first[0][0][0]["conversations"] < want[0][0]["conversations"]

    lake = deployment["lake"]
    before = read_state(lake)
    write_day_files(lake, deployment["late"])
    derive(lake, deployment["settings"])
    after = read_state(lake)
    assert after is not None and before is not None and after.derived_at >= before.derived_at

    def reloaded(reader) -> bool:
        header = reader.get("/api/v1/health").headers["x-chatlens-facts-latest-event-at"]
        return header == after.latest_event_at

    for reader in lake_readers:
        wait_until(lambda r=reader: reloaded(r), timeout=60, interval=0.2, what="reload")
    for reader in lake_readers:
        got = answers(reader)
        wrong = [
            (QUERIES[i]["metrics"][:3], w, g)
            for i, (w, g) in enumerate(zip(want, got, strict=True))
            if not same(w, g)
        ]
        assert not wrong, wrong[:1]
    assert want[0][0]["conversations"] == 300


def test_every_answer_and_page_says_how_fresh_the_figures_are(deployment):
    server = deployment["lakes"][0]
    state = read_state(deployment["lake"])
    assert state is not None
    reader = server.client(deployment["lake_seats"].keys["read"])
    answer = reader.post("/api/v1/query", json=QUERIES[1])
    assert answer.headers["x-chatlens-facts-derived-at"] in {
        state.derived_at,
        read_state(deployment["lake"]).derived_at,  # type: ignore[union-attr]
    }
    assert answer.headers["x-chatlens-facts-latest-event-at"].startswith("2026-1")
    admin = server.login(deployment["lake_seats"].emails["boss"])
    for page in ("/overview", "/reports/live-chat", "/agents", "/conversations"):
        shown = admin.get(page, params={"from": PERIOD["from"], "to": PERIOD["to"]})
        assert shown.status_code == 200, (page, shown.text[-500:])
        assert '<footer class="freshness"' in shown.text
        assert "Figures as of 20" in shown.text and "events up to 2026-1" in shown.text
    # a store server's pages have no such footer
    store_admin = deployment["store"].login(deployment["store_seats"].emails["boss"])
    assert 'class="freshness"' not in store_admin.get("/overview").text


def test_a_lake_server_refuses_events_and_settings_changes(deployment):
    server = deployment["lakes"][1]
    sender = server.client(deployment["lake_seats"].keys["in"])
    event = {
        "type": "conversation_started",
        "ts": "2026-11-01T10:00:00Z",
        "conversation_id": "refused-1",
        "channel": "web",
    }
    answer = sender.post("/api/v1/events", json=[event])
    assert answer.status_code == 409
    assert "reads the lake" in answer.text and "ingest server" in answer.text
    admin = server.login(deployment["lake_seats"].emails["boss"])
    changed = admin.patch("/api/v1/settings", json={"fcr_followup_days": 3})
    assert changed.status_code == 409, changed.text
    assert "chatlens lake facts --set" in changed.text


def test_each_workspace_is_served_from_its_own_lake(deployment):
    """Workspace `brand` reads URL/workspaces/brand (its two conversations), never the default
    workspace's lake; its answers and pages carry its own lake's freshness."""
    server = deployment["lakes"][0]
    reader = server.client(deployment["lake_seats"].keys["brand-read"])
    query = {"metrics": ["conversations"], **PERIOD, "by": ["channel"]}
    answer = reader.post("/api/v1/query", json=query)
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [{"channel": "email", "conversations": 2}]
    brand_state = read_state(deployment["brand_lake"])
    assert brand_state is not None
    assert answer.headers["x-chatlens-facts-derived-at"] == brand_state.derived_at
    assert answer.headers["x-chatlens-facts-latest-event-at"] == brand_state.latest_event_at
    assert brand_state.latest_event_at.startswith("2026-10-20T10:00:02")
    other = reader.post("/api/v1/query", params={"workspace": "default"}, json=query)
    assert other.status_code == 403
    admin = server.login(deployment["lake_seats"].emails["brand-boss"])
    page = admin.get("/overview", params={"from": PERIOD["from"], "to": PERIOD["to"]})
    assert page.status_code == 200
    assert "events up to 2026-10-20 10:00 UTC" in page.text
    # the default workspace's readers still see theirs
    default = server.client(deployment["lake_seats"].keys["read"]).post("/api/v1/query", json=query)
    assert {row["channel"] for row in default.json()["rows"]} != {"email"}
