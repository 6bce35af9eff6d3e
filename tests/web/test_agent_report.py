"""The agent performance report (docs/server.md) and its team view through the real
server: JSON and CSV per grain, worked out by hand from tests/agent_report_events.py (read its
docstring first), fair rankings by the Wilson lower bound, and who may read what."""

from __future__ import annotations

import csv
import io
import math

import pytest

from chatlens.reports.agent_report import REPORT
from tests.agent_report_events import PERIOD, serve

HOUR = 3600.0


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server, seats = serve(tmp_path_factory.mktemp("agentreport") / "chatlens.duckdb")
    yield server, seats
    server.stop()


def get(live, path: str, seat: str = "read"):
    server, seats = live
    if seat == "read":
        client = server.client(seats.keys["read"])
    else:
        client = server.login(seats.emails[seat])
    return client.get(path)


def report(live, path: str, **params: str) -> dict:
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    answer = get(live, f"{path}?{PERIOD}{extra}")
    assert answer.status_code == 200, answer.text
    return answer.json()


def wilson_lower(hits: int, n: int) -> float:
    """The 95% Wilson score interval's lower bound, written out from its definition."""
    z = 1.959963984540054
    p = hits / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


# ann, week 1: a1 and a2; week 2: a3 (see tests/agent_report_events.py)
ANN_WEEK_1 = {
    "handled_conversations": 2,
    "successful_chats": 1,  # a1 resolved, a2 unresolved
    "tickets_resolved": 1,  # T1
    "chats_declined": 1,  # b1 offered to her and declined
    "wait_time": (20 + 40) / 2,  # pickup
    "first_response_time": (30 + 60) / 2,
    "handle_time": ((300 - 20) + (600 - 40)) / 2,  # joined -> close
    "online_hours": 5 + 4,  # Mon 07-12, Tue 07-11
    "chats_per_online_hour": 2 / 9,
    "utilization": ((300 - 20) + (600 - 40)) / (9 * HOUR),  # busy / online
    "csat": (5 + 2) / 2,
    "positive_rating_rate": 1 / 2,  # a1 up, a2 down
    "negative_rating_rate": 1 / 2,
    "transfer_rate": 0,
    "conversions": 1,  # u1 buys an hour after a1
    "tag_usage": 1 / 2,  # a1 tagged
    "tags_per_conversation": 1 / 2,
    "canned_usage": 1 / 2,  # a1 used the guide
    "canned_per_chat": 1 / 2,
}
ANN_WEEK_2 = {
    "handled_conversations": 1,
    "successful_chats": 1,
    "tickets_resolved": 0,  # T3 was resolved by bob
    "chats_declined": 0,
    "wait_time": 10,
    "first_response_time": 20,
    "handle_time": 200 - 10,
    "online_hours": 2,
    "chats_per_online_hour": 1 / 2,
    "utilization": 190 / (2 * HOUR),
    "csat": 4,
    "positive_rating_rate": 1,
    "negative_rating_rate": 0,
    "transfer_rate": 0,
    "conversions": 0,
    "tag_usage": 0,
    "tags_per_conversation": 0,
    "canned_usage": 1,
    "canned_per_chat": 1,
}
# missed_chats per agent is left out on purpose: its credit rule (the agent's chat_declined)
# is being moved into the facts by another change; chats_declined already follows it


def same(got: dict, want: dict) -> None:
    wrong = {k: (got[k], v) for k, v in want.items() if got[k] != pytest.approx(v)}
    assert not wrong, f"(got, want): {wrong}"


def test_agent_report_by_week_is_right_for_every_figure(live):
    body = report(live, "/agents/ann/report.json", every="week")
    assert set(body["metrics"]) == set(REPORT)
    assert [r["bucket"][:10] for r in body["series"]] == ["2026-11-02", "2026-11-09"]
    week1, week2 = body["series"]
    same(week1, ANN_WEEK_1)
    same(week2, ANN_WEEK_2)
    totals = body["totals"]
    same(
        totals,
        {
            "handled_conversations": 3,
            "successful_chats": 2,
            "tickets_resolved": 1,
            "chats_declined": 1,
            "wait_time": (20 + 40 + 10) / 3,
            "first_response_time": 110 / 3,
            "handle_time": (280 + 560 + 190) / 3,
            "online_hours": 11,
            "chats_per_online_hour": 3 / 11,
            "utilization": 1030 / (11 * HOUR),
            "csat": (5 + 2 + 4) / 3,
            "positive_rating_rate": 2 / 3,
            "negative_rating_rate": 1 / 3,
            "conversions": 1,
            "tag_usage": 1 / 3,
            "canned_usage": 2 / 3,
        },
    )


def test_agent_report_by_day_month_year_and_a_custom_range(live):
    days = report(live, "/agents/bob/report.json", every="day")["series"]
    assert len(days) == 14  # every day of the period, also the quiet ones
    by_day = {r["bucket"][:10]: r for r in days}
    same(
        by_day["2026-11-02"],
        {
            "handled_conversations": 1,
            "first_response_time": 90,
            "online_hours": 4,
            "csat": 4,
            "tags_per_conversation": 2,
        },
    )
    same(
        by_day["2026-11-10"],
        {
            "handled_conversations": 1,
            "wait_time": 60,
            "first_response_time": 120,
            "handle_time": 840,
            "tickets_resolved": 1,
            "online_hours": 3,
            "negative_rating_rate": 1,
            "utilization": 840 / (3 * HOUR),
        },
    )
    same(by_day["2026-11-11"], {"handled_conversations": 1, "canned_usage": 1, "handle_time": 280})
    same(by_day["2026-11-12"], {"handled_conversations": 0, "tickets_resolved": 1})  # T3
    assert by_day["2026-11-05"]["first_response_time"] is None  # no data is not 0
    (month,) = report(live, "/agents/bob/report.json", every="month")["series"]
    same(
        month,
        {
            "handled_conversations": 3,
            "first_response_time": (90 + 120 + 40) / 3,
            "handle_time": (370 + 840 + 280) / 3,
            "online_hours": 9,
            "csat": (4 + 3) / 2,
            "tickets_resolved": 2,
            "tag_usage": 2 / 3,
            "canned_usage": 1 / 3,
        },
    )
    (year,) = report(live, "/agents/bob/report.json", every="year")["series"]
    same(year, {k: month[k] for k in REPORT})
    custom = get(
        live, "/agents/ann/report.json?range=custom&from=2026-11-03&to=2026-11-09&every=week"
    ).json()
    assert [r["bucket"][:10] for r in custom["series"]] == ["2026-11-02", "2026-11-09"]
    same(custom["series"][0], {"handled_conversations": 1, "csat": 2, "online_hours": 4})  # a2
    same(custom["totals"], {"handled_conversations": 2, "csat": 3, "wait_time": 25})  # a2, a3


def test_agent_csv_has_a_column_per_metric_id_and_a_row_per_bucket(live):
    answer = get(live, f"/agents/ann/report.csv?{PERIOD}&every=week")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert list(rows[0]) == ["bucket", *REPORT]
    assert [r["bucket"][:10] for r in rows] == ["2026-11-02", "2026-11-09"]
    for row, want in zip(rows, (ANN_WEEK_1, ANN_WEEK_2), strict=True):
        same({k: float(row[k]) for k in want}, want)
    bob = get(live, f"/agents/bob/report.csv?{PERIOD}&every=week").text
    week1 = next(csv.DictReader(io.StringIO(bob)))
    assert week1["positive_rating_rate"] == ""  # b1 got no thumbs: no data, not 0
    assert week1["tags_per_conversation"] == "2.0"  # b1: billing and bug


def test_ticket_metrics_split_by_agent_and_team(live):
    bob = report(live, "/agents/bob/report.json", every="week")["series"]
    assert [r["tickets_resolved"] for r in bob] == [0, 2]  # T2 and T3 in week 2
    teams = {r["team"]: r for r in report(live, "/teams/report.json")["teams"]}
    assert teams["sales"]["tickets_resolved"] == 1  # T1
    assert teams["support"]["tickets_resolved"] == 2


def test_team_report_sums_its_agents_and_ranks_them_by_wilson_bound(live):
    body = report(live, "/teams/sales/report.json", every="week")
    week1, week2 = body["series"]
    same(week1, {k: v for k, v in ANN_WEEK_1.items() if k != "utilization"})  # only ann
    # week 2: ann's a3 and cara's c1
    same(
        week2,
        {
            "handled_conversations": 2,
            "successful_chats": 2,
            "wait_time": (10 + 20) / 2,
            "first_response_time": (20 + 30) / 2,
            "handle_time": (190 + 280) / 2,
            "online_hours": 2 + 2,
            "chats_per_online_hour": 2 / 4,
            "csat": 4,
            "positive_rating_rate": 1,
            "canned_usage": 1 / 2,
        },
    )
    assert week2["utilization"] is None  # utilization is defined per agent only
    # first contact resolution: ann 2 of 3 (a2 unresolved), cara 1 of 1; the bound puts the
    # longer record first although cara's rate is higher
    assert body["rank"] == "fcr_rate"
    ranking = [(a["rank"], a["agent_id"], a["fcr_rate"]) for a in body["agents"]]
    assert ranking == [(1, "ann", pytest.approx(2 / 3)), (2, "cara", 1.0)]
    ann, cara = body["agents"]
    assert ann["fcr_rate__lower"] == pytest.approx(wilson_lower(2, 3))  # 0.2077
    assert cara["fcr_rate__lower"] == pytest.approx(wilson_lower(1, 1))  # 0.2065
    assert ann["fcr_rate__lower"] > cara["fcr_rate__lower"]
    # durations rank shortest first: FRT ann (30 + 60 + 20) / 3 = 36.7 s, cara 30 s
    fastest = report(live, "/teams/sales/report.json", rank="first_response_time")["agents"]
    assert [(a["agent_id"], a["first_response_time"]) for a in fastest] == [
        ("cara", 30),
        ("ann", pytest.approx(110 / 3)),
    ]


def test_team_against_team(live):
    body = report(live, "/teams/report.json", every="week", rank="tag_usage")
    # tagged conversations: sales 1 of 4 (a1), support 2 of 4 (b1, b2; b3 and the missed m1 not)
    assert [(t["team"], t["tag_usage"]) for t in body["teams"]] == [
        ("support", 0.5),
        ("sales", 0.25),
    ]
    support, sales = body["teams"]
    assert support["tag_usage__lower"] == pytest.approx(wilson_lower(2, 4))
    assert sales["tag_usage__lower"] == pytest.approx(wilson_lower(1, 4))
    same(
        support,
        {
            "handled_conversations": 3,
            "missed_chats": 1,
            "online_hours": 9,
            "first_response_time": 250 / 3,
            "csat": 3.5,
        },
    )
    series = {(r["team"], r["bucket"][:10]): r for r in body["series"]}
    assert set(series) == {
        (t, w) for t in ("sales", "support") for w in ("2026-11-02", "2026-11-09")
    }
    same(
        series["support", "2026-11-09"],
        {"handled_conversations": 2, "missed_chats": 1, "tickets_resolved": 2, "online_hours": 5},
    )
    rows = list(
        csv.DictReader(io.StringIO(get(live, f"/teams/report.csv?{PERIOD}&every=week").text))
    )
    assert list(rows[0]) == ["team", "bucket", *REPORT]
    assert [(r["team"], r["bucket"][:10], r["handled_conversations"]) for r in rows] == [
        ("sales", "2026-11-02", "2"),
        ("sales", "2026-11-09", "2"),
        ("support", "2026-11-02", "1"),
        ("support", "2026-11-09", "2"),
    ]


def test_agent_seats_see_only_their_own_report(live):
    assert get(live, f"/agents/ann/report.json?{PERIOD}", "ann").status_code == 200
    assert get(live, f"/agents/bob/report.json?{PERIOD}", "ann").status_code == 403
    assert get(live, f"/agents/bob/report.csv?{PERIOD}", "ann").status_code == 403
    for path in ("/teams", "/teams/sales", "/teams/report.json", "/teams/sales/report.csv"):
        assert get(live, f"{path}?{PERIOD}", "ann").status_code == 403, path
    assert get(live, f"/teams/sales?{PERIOD}", "boss").status_code == 200


def test_pages_carry_every_figure_and_escape_names(live):
    page = get(live, f"/agents/ann?{PERIOD}&every=week", "boss").text
    for mid in REPORT:
        assert f'id="chart-{mid}"' in page, mid
    for rank in ("first_response_time", "csat", "fcr_rate"):  # a duration, a score, a rate
        teams = get(live, f"/teams?{PERIOD}&rank={rank}", "boss")
        assert teams.status_code == 200 and 'class="ranked-by"' in teams.text, rank
    assert get(live, f"/teams?{PERIOD}&rank=bogus", "boss").status_code == 400
    team = get(live, f"/teams/%3Cb%3Ex?{PERIOD}", "boss")
    assert team.status_code == 200
    assert "<b>x" not in team.text and "&lt;b&gt;x" in team.text
