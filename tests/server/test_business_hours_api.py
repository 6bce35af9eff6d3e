"""Business hours changed over PATCH /api/v1/settings on a real server: mistakes refused
with their exact place (nothing saved), a split shift with a holiday applied to history."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from tests.builders import chat
from tests.serverkit import LiveServer, provision
from tests.waiting import wait_until

pytestmark = pytest.mark.server
HELSINKI = ZoneInfo("Europe/Helsinki")
FRT = "first_response_time_business_hours"
SPLIT = [["09:00", "12:00"], ["13:00", "17:00"]]


def asked(cid: str, local: str, minutes: float) -> list[dict]:
    """A chat entering the queue at a Helsinki wall-clock time, answered `minutes` later."""
    start = dt.datetime.fromisoformat(local).replace(tzinfo=HELSINKI)
    return chat(cid, start, agent="ann", pickup_after=30, reply_after=minutes * 60)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    store = tmp_path_factory.mktemp("bizhours") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {
                "users": {"root": ("admin", None, None), "boss": ("manager", None, None)},
                "keys": {"in": "ingest"},
            }
        },
    )
    server = LiveServer(store).start()
    events = (
        asked("mon", "2026-11-02 11:50", 80)  # 11:50-13:10 on a split shift: 20 min open
        + asked("fri", "2026-11-06 11:50", 80)  # the same on Friday, made a holiday below
    )
    assert server.client(seats.keys["in"]).post("/api/v1/events", json=events).status_code == 200
    root = server.login(seats.emails["root"])
    assert root.patch("/api/v1/settings", json={"timezone": "Europe/Helsinki"}).status_code == 200
    wait_until(lambda: figure(root, "conversations") == 2, what="the facts caught up")
    yield server, seats, store
    server.stop()


def figure(client, metric: str):
    answer = client.post(
        "/api/v1/query", json={"metrics": [metric], "from": "2026-11-01", "to": "2026-11-30"}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"][0][metric]


def test_mistakes_are_refused_with_their_place_and_nothing_is_saved(live):
    server, seats, _ = live
    root = server.login(seats.emails["root"])
    cases = [
        (
            {"schedules": [{"hours": {"mon": SPLIT}}, {"hours": {"tue": SPLIT}}]},
            'business_hours.schedules[1]: "from" is needed on every schedule after the first',
        ),
        (
            {
                "schedules": [
                    {"hours": {"mon": SPLIT}},
                    {"from": "2026-11-16", "hours": {"tue": [["13:00", "12:00"]]}},
                ]
            },
            "business_hours.schedules[1].hours.tue[0]: start 13:00 is not before end 12:00",
        ),
        (
            {"mon": [["09:00", "12:00"], ["11:30", "17:00"]]},
            "business_hours.mon[1]: 11:30-17:00 starts before business_hours.mon[0] ends at 12:00",
        ),
        (
            {"schedules": [{"hours": {"mon": SPLIT}}], "holidays": {"2026-11-06": [["9", "12"]]}},
            "business_hours.holidays.2026-11-06[0]: '9' is not a time HH:MM",
        ),
        (
            {"<b>secret-day</b>": SPLIT},
            "business_hours: '<b>secret-day</b>' is not one of mon, tue",
        ),
    ]
    for setting, message in cases:
        bad = root.patch(
            "/api/v1/settings", json={"business_hours": setting, "sla_first_response_seconds": 30}
        )
        assert bad.status_code == 400, bad.text
        assert message in bad.json()["error"]["message"]
    current = root.get("/api/v1/settings").json()["settings"]
    assert (current["business_hours"], current["sla_first_response_seconds"]) == (None, 60)
    assert "secret-day" not in server.log.read_text()  # what a user typed stays out of logs


def test_a_split_shift_and_a_holiday_apply_to_history(live):
    server, seats, _ = live
    root, boss = server.login(seats.emails["root"]), server.login(seats.emails["boss"])
    week = {day: SPLIT for day in ("mon", "tue", "wed", "thu", "fri")}
    assert root.patch("/api/v1/settings", json={"business_hours": week}).status_code == 200
    assert root.get("/api/v1/settings").json()["settings"]["business_hours"] == {
        "schedules": [{"hours": week}],
        "holidays": {},
    }
    assert figure(boss, FRT) == 1200  # both: 11:50-12:00 and 13:00-13:10
    holiday = {"schedules": [{"hours": week}], "holidays": {"2026-11-06": []}}
    assert root.patch("/api/v1/settings", json={"business_hours": holiday}).status_code == 200
    assert figure(boss, FRT) == (1200 + 0) / 2
    assert root.patch("/api/v1/settings", json={"business_hours": None}).status_code == 200
    assert figure(boss, FRT) is None


def test_the_settings_page_saves_business_hours_and_shows_mistakes_escaped(live):
    server, seats, _ = live
    root = server.login(seats.emails["root"])
    bad = {"schedules": [{"hours": {"<i>caf</i>": SPLIT}}]}
    page = root.post("/settings", data={"s.business_hours": json.dumps(bad)})
    assert page.status_code == 400
    assert (
        "business_hours.schedules[0].hours: &#39;&lt;i&gt;caf&lt;/i&gt;&#39; is not one of"
        in page.text
    )
    assert "<i>caf</i>" not in page.text
    week = {"mon": SPLIT}
    saved = root.post("/settings", data={"s.business_hours": json.dumps(week)})
    assert saved.status_code == 303, saved.text
    assert root.get("/api/v1/settings").json()["settings"]["business_hours"] == {
        "schedules": [{"hours": {"mon": SPLIT}}],
        "holidays": {},
    }
    assert root.patch("/api/v1/settings", json={"business_hours": None}).status_code == 200
