"""Goals over real HTTP: the API and the goals form refuse nan, inf, 1e309, null and text
(one validation, naming the metric and the field), and a store that already holds a bad
goal (written before that validation) serves every page, shows a note, and /goals removes
it."""

from __future__ import annotations

import html

import orjson
import pytest

from chatlens.ingest import import_file
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from tests.builders import DAY, chat
from tests.conftest import write_jsonl
from tests.serverkit import LiveServer, provision

pytestmark = pytest.mark.server
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
# as an earlier version stored them: a form's "nan" and "1e309" became null, the CLI took
# text; missed_rate's goal is valid
STORED = {"csat": {"min": None}, "fcr_rate": "high", "missed_rate": {"max": 0.5}}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("goals")
    store = tmp / "chatlens.duckdb"
    seats = provision(store, {"default": {"users": {"root": ("admin", None, None)}}})
    with open_store(store) as s:
        # 2 closed chats, one reopened: fcr_rate 0.5; CSAT 4 and 2: 3.0
        events = chat("a", DAY, agent="ann", close_after=300, ratings={"csat": 4}) + chat(
            "b", DAY, agent="ann", close_after=300, reopen_after=400, ratings={"csat": 2}
        )
        import_file(s, write_jsonl(tmp / "e.jsonl", events))
        refresh_facts(s)
        s.con.execute(
            "INSERT OR REPLACE INTO settings VALUES ('goals', ?)", [orjson.dumps(STORED).decode()]
        )
    server = LiveServer(store).start()
    yield server, seats
    server.stop()


def stored_goals(client) -> dict:
    return client.get("/api/v1/settings").json()["settings"]["goals"]


BAD_BODIES = [
    ('{"goals": {"csat": {"min": NaN}}}', "goals.csat.min: expected a finite number, got nan"),
    ('{"goals": {"csat": {"min": Infinity}}}', "goals.csat.min: expected a finite number, got inf"),
    ('{"goals": {"csat": {"max": 1e309}}}', "goals.csat.max: expected a finite number, got inf"),
    ('{"goals": {"csat": {"min": null}}}', "goals.csat.min: expected a finite number, got None"),
    ('{"goals": {"csat": "high"}}', "goals.csat.min: expected a finite number, got 'high'"),
    ('{"goals": {"fcr_rate": 75}}', "goals.fcr_rate.min: 75 is out of range"),
    # all changes valid or none saved: the time zone is not changed either
    (
        '{"timezone": "Europe/Helsinki", "goals": {"csat": {"min": NaN}}}',
        "goals.csat.min: expected a finite number, got nan",
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_the_api_refuses_a_bad_goal(live, body, message):
    server, seats = live
    root = server.login(seats.emails["root"])
    before = root.get("/api/v1/settings").json()["settings"]
    answer = root.patch(
        "/api/v1/settings", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]["message"]
    assert root.get("/api/v1/settings").json()["settings"] == before


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("min", "nan", "goals.csat.min: expected a finite number, got nan"),
        ("min", "inf", "goals.csat.min: expected a finite number, got inf"),
        ("max", "1e309", "goals.csat.max: expected a finite number, got inf"),
        ("min", "-Infinity", "goals.csat.min: expected a finite number, got -inf"),
        ("min", "high", "goals.csat.min: 'high' is not a number"),
    ],
)
def test_the_goals_form_refuses_a_bad_goal(live, field, raw, message):
    server, seats = live
    root = server.login(seats.emails["root"])
    before = stored_goals(root)
    answer = root.post("/goals", data={"metric": "csat", field: raw}, follow_redirects=False)
    assert answer.status_code == 400
    assert message in html.unescape(answer.text)
    assert stored_goals(root) == before


def test_a_stored_bad_goal_is_ignored_with_a_note_and_removed_on_the_goals_page(live):
    server, seats = live
    root = server.login(seats.emails["root"])
    notes = [
        "the goal of csat is ignored: goals.csat.min: expected a finite number, got None",
        "the goal of fcr_rate is ignored: goals.fcr_rate.min: expected a finite number, got 'high'",
    ]
    for path in ("/overview", "/reports/live-chat", "/reports/feedback", "/goals"):
        page = root.get(path, params=NOVEMBER)
        assert page.status_code == 200, (path, page.text[-500:])
        text = html.unescape(page.text)
        shown = [n for n in notes if n in text]
        assert shown, path
    query = root.post(
        "/api/v1/query", json={"metrics": ["fcr_rate", "csat", "missed_rate"], **NOVEMBER}
    )
    assert query.status_code == 200
    assert query.json()["meta"]["notes"] == [notes[1], notes[0]]  # in the order asked
    row = query.json()["rows"][0]
    assert (row["fcr_rate"], row["csat"]) == (0.5, 3.0)
    assert "csat__goal" not in row and "fcr_rate__goal" not in row
    # no chat was missed: 0 against at most 50 % is met
    assert row["missed_rate__goal"] == {"target": {"max": 0.5}, "status": "met", "progress": 1.0}
    assert row["fcr_rate__band"] == "below typical"

    goals = html.unescape(root.get("/goals", params=NOVEMBER).text)
    assert all(n in goals for n in notes)
    assert "Removing one, or saving any goal, drops every ignored goal." in goals
    removed = root.post("/goals", data={"metric": "csat", "remove": "1"}, follow_redirects=False)
    assert removed.status_code == 303
    # any save writes the valid goals only: fcr_rate's ignored goal goes too
    assert stored_goals(root) == {"missed_rate": {"max": 0.5}}
    after = html.unescape(root.get("/goals", params=NOVEMBER).text)
    assert "ignored" not in after
    saved = root.post("/goals", data={"metric": "fcr_rate", "min": "80"}, follow_redirects=False)
    assert saved.status_code == 303
    assert stored_goals(root) == {"missed_rate": {"max": 0.5}, "fcr_rate": {"min": 0.8}}
    # the API takes the shorthand, in the metric's direction
    patched = root.patch("/api/v1/settings", json={"goals": {"csat": 4.5, "missed_rate": 0.2}})
    assert patched.status_code == 200, patched.text
    assert stored_goals(root) == {"csat": {"min": 4.5}, "missed_rate": {"max": 0.2}}
    page = html.unescape(root.get("/goals", params=NOVEMBER).text)
    assert "ignored" not in page
    # CSAT 3.0 of at least 4.5: 67 % of the way
    assert '<progress max="100" value="67"' in page


def test_the_settings_form_refuses_a_bad_goal_too(live):
    server, seats = live
    root = server.login(seats.emails["root"])
    before = stored_goals(root)
    form = {"s.goals": '{"nps": {"min": NaN}}'}
    answer = root.post("/settings", data=form, follow_redirects=False)
    assert answer.status_code == 400
    assert "goals.nps.min: expected a finite number, got nan" in html.unescape(answer.text)
    assert stored_goals(root) == before
