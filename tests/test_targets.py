"""Goals and benchmark bands (chatlens.metrics.targets), the comparison of split series and
retention_change, on small hand-built events with the expected values worked out here."""

from __future__ import annotations

import datetime as dt
import math

import orjson
import pytest

from chatlens.errors import InputError
from chatlens.metrics import METRICS
from chatlens.metrics.targets import (
    BANDS,
    band_of,
    check_goals,
    classify,
    goal_result,
    usable_goals,
)
from chatlens.store.settings import INDUSTRIES, load_settings, save_setting

from .builders import chat
from .conftest import load, report, value


def at(day: int, hour: int = 8) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, 0, tzinfo=dt.UTC)


# -- 1. comparison by day x channel ---------------------------------------------------------


def test_compare_by_day_and_channel_lines_rows_up_by_calendar_position(store, tmp_path):
    # previous period 8-10 Nov: 9 Nov web x3; 10 Nov web x2, email x1 (8 Nov: nothing)
    # this period 11-13 Nov: 11 Nov web x1; 12 Nov web x4, email x1; 13 Nov email x2
    plan = {
        (9, "web"): 3,
        (10, "web"): 2,
        (10, "email"): 1,
        (11, "web"): 1,
        (12, "web"): 4,
        (12, "email"): 1,
        (13, "email"): 2,
    }
    events = []
    for (day, channel), count in plan.items():
        for n in range(count):
            events += chat(f"{day}-{channel}-{n}", at(day, 8 + n), channel=channel)
    load(store, events, tmp_path)
    result = report(
        store,
        ("conversations", "engagement_rate"),
        "2026-11-11",
        "2026-11-13",
        grain="day",
        dimensions=("channel",),
        compare=True,
    )
    got = {
        (r["bucket"][:10], r["channel"]): (
            r["conversations"],
            r["conversations__previous"],
            r["conversations__change"],
            r["conversations__change_pct"],
            r["engagement_rate__previous"],
        )
        for r in result.rows
    }
    assert got == {
        # 11 Nov lines up with 8 Nov (no row there: 0 conversations, no engagement rate),
        # not with 9 Nov (the first previous day that has a row)
        ("2026-11-11", "web"): (1, 0, 1, None, None),
        ("2026-11-12", "email"): (1, 0, 1, None, None),  # 9 Nov had no email chat
        ("2026-11-12", "web"): (4, 3, 1, pytest.approx(1 / 3), 1.0),  # 9 Nov: 3
        ("2026-11-13", "email"): (2, 1, 1, 1.0, 1.0),  # 10 Nov: 1
        # 10 Nov had 2 web chats, 13 Nov none: a row of its own shows the drop
        ("2026-11-13", "web"): (0, 2, -2, -1.0, 1.0),
    }
    assert [(r["bucket"][:10], r["channel"]) for r in result.rows] == sorted(got)
    assert result.rows[-1]["engagement_rate"] is None


def test_compare_by_day_without_dimensions_still_lines_up_every_day(store, tmp_path):
    events = chat("p", at(9)) + chat("q", at(12)) + chat("r", at(12, 9))
    load(store, events, tmp_path)
    result = report(store, "conversations", "2026-11-11", "2026-11-13", grain="day", compare=True)
    assert [(r["conversations"], r["conversations__previous"]) for r in result.rows] == [
        (0, 0),  # 11 Nov vs 8 Nov
        (2, 1),  # 12 Nov vs 9 Nov
        (0, 0),  # 13 Nov vs 10 Nov
    ]


# -- 2. goals: one validation -----------------------------------------------------------------

BAD_GOALS = [
    ({"fcr_rate": {"min": "high"}}, "goals.fcr_rate.min: expected a finite number, got 'high'"),
    ({"fcr_rate": {"min": math.nan}}, "goals.fcr_rate.min: expected a finite number, got nan"),
    ({"csat": {"min": math.inf}}, "goals.csat.min: expected a finite number, got inf"),
    ({"csat": {"max": float("1e309")}}, "goals.csat.max: expected a finite number, got inf"),
    ({"csat": {"min": None}}, "goals.csat.min: expected a finite number, got None"),
    ({"csat": None}, "goals.csat.min: expected a finite number, got None"),
    ({"csat": "4.5"}, "goals.csat.min: expected a finite number, got '4.5'"),
    ({"csat": True}, "goals.csat.min: expected a finite number, got True"),
    (
        {"first_response_time_p90": "fast"},
        "goals.first_response_time_p90.max: expected a finite number, got 'fast'",
    ),
    ({"csta": 4.5}, "goals: unknown metric 'csta' (did you mean csat"),
    (
        {"fcr_rate": {"minimum": 0.8}},
        "goals.fcr_rate: unknown field 'minimum'; expected min, max or both",
    ),
    ({"fcr_rate": {}}, "goals.fcr_rate: give min, max or both"),
    (
        {"fcr_rate": 80},
        "goals.fcr_rate.min: 80 is out of range, expected between 0 and 1 "
        "(rates are fractions: 0.8 for 80%)",
    ),
    (
        {"first_response_time": -5},
        "goals.first_response_time.max: -5 is out of range, expected at least 0",
    ),
    ({"nps": {"min": 101}}, "goals.nps.min: 101 is out of range, expected between -100 and 100"),
    ({"fcr_rate": {"min": 0.9, "max": 0.8}}, "goals.fcr_rate: min 0.9 is above max 0.8"),
    ("csat >= 4.5", "goals: expected an object of metric id -> target"),
    ([["csat", 4.5]], "goals: expected an object of metric id -> target"),
]


@pytest.mark.parametrize(("goals", "message"), BAD_GOALS)
def test_a_bad_goal_is_refused_naming_the_metric_and_the_field(store, goals, message):
    save_setting(store.con, "goals", {"csat": {"min": 4.0}})
    with pytest.raises(InputError) as refused:
        save_setting(store.con, "goals", goals)
    assert message in str(refused.value)
    assert load_settings(store.con).goals == {"csat": {"min": 4.0}}  # nothing saved


def test_the_shorthand_takes_the_metric_direction(store):
    saved = save_setting(
        store.con, "goals", {"csat": 4.5, "first_response_time_p90": 60, "nps": {"min": -10}}
    )
    assert saved.goals == {
        "csat": {"min": 4.5},  # an increase of CSAT is good
        "first_response_time_p90": {"max": 60.0},  # an increase of response time is bad
        "nps": {"min": -10.0},
    }
    assert check_goals({"fcr_rate": {"min": 0.7, "max": 0.95}}) == {
        "fcr_rate": {"min": 0.7, "max": 0.95}
    }


def test_stored_bad_goals_are_left_out_with_the_reason():
    good, ignored = usable_goals({"csat": {"min": None}, "fcr_rate": 0.8, "gone": 1})
    assert good == {"fcr_rate": {"min": 0.8}}
    assert ignored == {
        "csat": "the goal of csat is ignored: goals.csat.min: expected a finite number, got None",
        "gone": "the goal of gone is ignored: goals: unknown metric 'gone'; `chatlens metrics "
        "list` shows them all",
    }


def test_a_report_over_a_stored_bad_goal_ignores_it_with_a_note(store, tmp_path):
    # written as an earlier version stored a form's "nan" (orjson writes null)
    store.con.execute(
        "INSERT OR REPLACE INTO settings VALUES ('goals', ?)",
        [orjson.dumps({"fcr_rate": {"min": None}, "conversations": {"min": 2}}).decode()],
    )
    load(store, chat("a", at(2), agent="ann", close_after=60), tmp_path)
    result = report(store, ("fcr_rate", "conversations"))
    row = result.rows[0]
    assert "fcr_rate__goal" not in row
    assert row["conversations__goal"] == {"target": {"min": 2}, "status": "missed", "progress": 0.5}
    assert result.meta["notes"] == [
        "the goal of fcr_rate is ignored: goals.fcr_rate.min: expected a finite number, got None"
    ]


# -- goal progress --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("goal", "val", "status", "progress"),
    [
        ({"min": 0.8}, 0.6, "missed", 0.75),  # 0.6 of the way 0 -> 0.8
        ({"min": 0.8}, 0.8, "met", 1.0),
        ({"min": 0.8}, 0.95, "met", 1.0),  # a met goal is the whole way
        ({"min": 0.8}, 0.0, "missed", 0.0),
        ({"max": 60.0}, 90.0, "missed", 60 / 90),  # two thirds: 90 s must come down to 60
        ({"max": 60.0}, 45.0, "met", 1.0),
        ({"min": 0.5, "max": 0.9}, 0.95, "missed", 0.9 / 0.95),  # the side it misses
        ({"min": 0.5, "max": 0.9}, 0.25, "missed", 0.5),
        ({"min": -10.0}, -20.0, "missed", None),  # NPS: 0 is no starting point below 0
        ({"min": 4.5}, None, None, None),  # no data
    ],
)
def test_goal_progress(goal, val, status, progress):
    got = goal_result(goal, val)
    assert got["target"] == goal
    assert got["status"] == status
    assert got["progress"] == (None if progress is None else pytest.approx(progress))


def test_goal_progress_in_a_report(store, tmp_path):
    # 4 closed chats, 2 resolved at first contact (2 reopened) -> fcr_rate 0.5;
    # first responses 30, 60, 90, 120 s -> mean 75 s
    events = []
    for n in range(4):
        events += chat(
            f"c{n}",
            at(2, 8 + n),
            agent="ann",
            reply_after=30 * (n + 1),
            close_after=600,
            reopen_after=700 if n % 2 else None,
        )
    load(store, events, tmp_path)
    save_setting(store.con, "goals", {"fcr_rate": 0.8, "first_response_time": 60})
    row = report(store, ("fcr_rate", "first_response_time")).rows[0]
    assert row["fcr_rate"] == 0.5
    assert row["fcr_rate__goal"] == {
        "target": {"min": 0.8},
        "status": "missed",
        "progress": pytest.approx(0.625),
    }
    assert row["first_response_time"] == 75.0
    assert row["first_response_time__goal"] == {
        "target": {"max": 60.0},
        "status": "missed",
        "progress": pytest.approx(0.8),
    }
    # bands: fcr 0.5 is below typical (>= 0.70); a 75 s average is below typical (<= 45 s)
    assert row["fcr_rate__band"] == "below typical"
    assert row["first_response_time__band"] == "below typical"


# -- 3. benchmark bands ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "val", "expected"),
    [
        # increase is good; typical >= 0.70, above average >= 0.80, exceptional > 0.90
        ("fcr_rate", 0.6999, "below typical"),
        ("fcr_rate", 0.70, "typical"),
        ("fcr_rate", 0.79, "typical"),  # between 75% and 80%: still typical
        ("fcr_rate", 0.80, "above average"),
        ("fcr_rate", 0.90, "above average"),  # "> 90%": 90% itself is not exceptional
        ("fcr_rate", 0.9001, "exceptional"),
        # increase is bad (retail): typical <= 300 s, above average < 240 s, exceptional <= 180 s
        ("resolution_time", 300.1, "below typical"),
        ("resolution_time", 300, "typical"),
        ("resolution_time", 240, "typical"),  # 4 min is inside "4-5 min"
        ("resolution_time", 239.9, "above average"),
        ("resolution_time", 180.1, "above average"),
        ("resolution_time", 180, "exceptional"),
        ("first_response_time", 45.1, "below typical"),
        ("first_response_time", 45, "typical"),
        ("first_response_time", 30, "typical"),
        ("first_response_time", 29.9, "above average"),
        # no typical figure published: nothing is below typical
        ("learning_rate", 0.0, "typical"),
        ("learning_rate", 0.1499, "typical"),
        ("learning_rate", 0.15, "above average"),
        ("learning_rate", 0.3999, "above average"),
        ("learning_rate", 0.40, "exceptional"),
        # no above-average figure: typical up to exceptional
        ("retention_rate", 0.7999, "below typical"),
        ("retention_rate", 0.80, "typical"),
        ("retention_rate", 0.8999, "typical"),
        ("retention_rate", 0.90, "exceptional"),
        ("bot_success_rate", 0.5999, "below typical"),
        ("bot_success_rate", 0.80, "above average"),  # both ranges hold 80%: the better one
        ("chats_per_online_hour", 5, "typical"),
        ("chats_per_online_hour", 5.01, "above average"),
        ("uss", 84.9, "below typical"),
        ("uss", 89.9, "typical"),
        ("uss", 90, "exceptional"),
        ("cost_savings_per_conversation", 2.49, "below typical"),
        ("cost_savings_per_conversation", 5, "exceptional"),
    ],
)
def test_band_classes_at_and_around_each_edge(metric, val, expected):
    assert classify(metric, val, "retail") == expected


def test_bands_are_well_formed():
    for band in BANDS:
        assert band.metric in METRICS
        assert set(band.industries) <= set(INDUSTRIES)
        edges = [e.at for e in (band.typical, band.above_average, band.exceptional) if e]
        # worst edge first: rising for a metric whose increase is good, falling otherwise
        assert edges == sorted(edges, reverse=METRICS[band.metric].increase_is_bad), band
    # one band per metric and industry
    pairs = [(b.metric, i) for b in BANDS for i in (b.industries or ("*",))]
    assert len(pairs) == len(set(pairs))


def test_bands_depend_on_the_industry_and_currency():
    assert classify("uss", 86, "retail") == "typical"
    assert classify("uss", 86, "healthcare") == "above average"  # healthcare: 85 is above
    assert classify("resolution_time", 400, "retail") == "below typical"
    assert classify("resolution_time", 400, "healthcare") == "typical"  # 6-7 min
    assert classify("resolution_time", 300, "healthcare") == "exceptional"  # 4-5 min
    assert classify("bot_success_rate", 0.7, "e-commerce") == "typical"
    assert classify("bot_success_rate", 0.7, "healthcare") is None  # no band published
    assert classify("fcr_rate", 0.7, "other") == "typical"  # a band of every industry
    assert classify("cost_savings_per_conversation", 6, "finance", "USD") == "typical"
    assert classify("cost_savings_per_conversation", 6, "retail", "EUR") is None
    assert classify("fcr_rate", None, "retail") is None
    assert classify("csat", 4.9, "retail") is None
    assert band_of("fcr_rate", "retail").default_goal(False) == {"min": 0.7}  # type: ignore[union-attr]
    assert band_of("resolution_time", "retail").default_goal(True) == {"max": 300}  # type: ignore[union-attr]


def test_band_in_a_report_follows_the_industry_setting(store, tmp_path):
    # resolution times 5 and 7 min -> mean 360 s: below typical in retail, typical in healthcare
    events = chat("a", at(2), agent="ann", close_after=300) + chat(
        "b", at(3), agent="ann", close_after=420
    )
    load(store, events, tmp_path)
    assert report(store, "resolution_time").rows[0]["resolution_time__band"] == "below typical"
    row = report(store, "resolution_time", overrides={"industry": "healthcare"}).rows[0]
    assert (row["resolution_time"], row["resolution_time__band"]) == (360.0, "typical")
    # by channel, each row is classified on its own; a metric without a band has no column
    by = report(store, ("resolution_time", "csat"), dimensions=("channel",)).rows
    assert [(r["resolution_time__band"], "csat__band" in r) for r in by] == [
        ("below typical", False)
    ]
    with pytest.raises(InputError, match="setting industry: 'mining' is not one of retail"):
        report(store, "resolution_time", overrides={"industry": "mining"})


# -- 9. retention_change --------------------------------------------------------------------


def test_retention_change_against_the_period_before(store, tmp_path):
    # windows of 10 days: W0 22-31 Oct, W1 1-10 Nov, W2 11-20 Nov (the query)
    # W0: a, b, c, d; W1: a, b, c (3 of 4 came back: 75 %) and e; W2: a, e (2 of 4: 50 %)
    oct_ = dt.datetime(2026, 10, 25, 8, tzinfo=dt.UTC)
    visits = {oct_: "abcd", at(5): "abce", at(15): "ae"}
    events = []
    for start, customers in visits.items():
        for n, customer in enumerate(customers):
            moment = start + dt.timedelta(hours=n)
            events += chat(f"{customer}-{start:%m%d}", moment, customer=customer)
    load(store, events, tmp_path)
    row = report(store, ("retention_rate", "retention_change"), "2026-11-11", "2026-11-20").rows[0]
    assert row["retention_rate"] == 0.5
    assert row["retention_change"] == -25.0  # 50 % - 75 %, in points
    # the period before: 75 % against W0's customers' window before (nobody): null
    assert value(store, "retention_change", "2026-11-01", "2026-11-10") is None
    assert value(store, "retention_rate", "2026-11-01", "2026-11-10") == 0.75


def test_retention_change_by_day_is_against_the_day_before(store, tmp_path):
    # 10 Nov: a, b; 11 Nov: a, b, c (2 of 2 back: 100 %); 12 Nov: a (1 of 3: 33.3 %);
    # 13 Nov: a, c (1 of 1: 100 %)
    days = {10: "ab", 11: "abc", 12: "a", 13: "ac"}
    events = []
    for day, customers in days.items():
        for n, customer in enumerate(customers):
            events += chat(f"{customer}-{day}", at(day, 8 + n), customer=customer)
    load(store, events, tmp_path)
    rows = report(
        store, ("retention_rate", "retention_change"), "2026-11-12", "2026-11-13", grain="day"
    ).rows
    assert [(r["bucket"][:10], r["retention_rate"]) for r in rows] == [
        ("2026-11-12", pytest.approx(1 / 3)),
        ("2026-11-13", 1.0),
    ]
    # 12 Nov against 11 Nov (the day before the period, reached for it): 33.3 - 100
    assert rows[0]["retention_change"] == pytest.approx(-200 / 3)
    assert rows[1]["retention_change"] == pytest.approx(200 / 3)  # 100 - 33.3
