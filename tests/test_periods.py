"""The one period parser (chatlens.metrics.periods): report bounds, page presets and the
whole-day spans of the topics API, each with values worked out by hand."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from chatlens.errors import InputError
from chatlens.metrics import Query
from chatlens.metrics.periods import Period, day_span, make_period, page_period, preset_days

TODAY = dt.date(2026, 11, 18)  # a Wednesday in the fourth quarter


@pytest.mark.parametrize(
    ("preset", "first", "last"),
    [
        ("today", "2026-11-18", "2026-11-18"),
        ("7d", "2026-11-12", "2026-11-18"),  # 12..18: seven days
        ("30d", "2026-10-20", "2026-11-18"),  # 20 Oct .. 18 Nov: 12 + 18 = 30 days
        ("this_month", "2026-11-01", "2026-11-18"),
        ("last_month", "2026-10-01", "2026-10-31"),
        ("quarter", "2026-10-01", "2026-11-18"),
        ("year", "2026-01-01", "2026-11-18"),
        ("anything else", "2026-10-20", "2026-11-18"),
    ],
)
def test_presets_count_back_from_today(preset, first, last):
    assert preset_days(preset, TODAY) == (dt.date.fromisoformat(first), dt.date.fromisoformat(last))


def test_last_month_in_january_is_december_of_the_year_before():
    assert preset_days("last_month", dt.date(2026, 1, 9)) == (
        dt.date(2025, 12, 1),
        dt.date(2025, 12, 31),
    )


def test_a_custom_page_period_keeps_its_bounds_as_given():
    assert page_period("custom", "2026-11-01", "2026-11-05T12:00", "UTC") == (
        "2026-11-01",
        "2026-11-05T12:00",
    )


def test_a_day_span_runs_from_the_first_midnight_to_the_midnight_after_the_last_day():
    zone = ZoneInfo("Europe/Helsinki")
    lo, hi = day_span("2026-10-24", "2026-10-25", "Europe/Helsinki") or ()
    assert lo == dt.datetime(2026, 10, 24, tzinfo=zone)
    assert hi == dt.datetime(2026, 10, 26, tzinfo=zone)
    # 25 October 2026 is 25 hours long there (summer time ends): 24 + 25 = 49 hours
    assert (hi - lo).total_seconds() / 3600 == 48  # one zone: Python subtracts wall times
    assert (hi.astimezone(dt.UTC) - lo.astimezone(dt.UTC)).total_seconds() / 3600 == 49
    assert day_span(None, None, "UTC") is None
    open_start = day_span(None, "2026-11-30", "UTC")
    assert open_start is not None and open_start[0] == dt.datetime(
        1970, 1, 1, tzinfo=ZoneInfo("UTC")
    )


def test_a_day_span_refuses_date_times_and_far_years_naming_the_bound():
    with pytest.raises(InputError, match=r"from/to: .*expected YYYY-MM-DD"):
        day_span("2026-11-01T08:00", None, "UTC")
    with pytest.raises(InputError, match=r"^to '9999-12-31' is outside the years 1900 to 2999$"):
        day_span("2026-11-01", "9999-12-31", "UTC")


def test_a_query_carries_its_bounds_parsed_once():
    query = Query(metrics=("conversations",), start="2026-11-01", end="2026-11-05T12:00")
    assert query.start == dt.date(2026, 11, 1)
    assert query.end == dt.datetime(2026, 11, 5, 12, 0)
    period = make_period(query.first, query.last, "UTC")
    # a date starts at its midnight; a date-time is that instant, included
    assert period == Period(
        dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 5, 12, 0), "UTC", closed=True
    )
    assert period == make_period("2026-11-01", "2026-11-05T12:00", "UTC")
    with pytest.raises(InputError, match=r"^--from '2026-13-01' is not a date"):
        Query(metrics=("conversations",), start="2026-13-01", end="2026-11-05")


def test_query_fields_are_keyword_only():
    with pytest.raises(TypeError):
        Query(("conversations",), "2026-11-01", "2026-11-30")  # type: ignore[misc]
