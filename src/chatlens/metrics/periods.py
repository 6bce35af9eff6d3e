"""Periods and time buckets in the workspace's IANA time zone (daylight saving correct)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from chatlens.errors import InputError, did_you_mean

YEARS = (1900, 2999)
"""Periods lie within these years: room for any history and any plan, and far from the
calendar's ends (year 1, 9999), where a period's previous one or its next midnight overflow."""


@dataclass(frozen=True)
class Period:
    """[start, end) in local wall-clock time of `timezone`; [start, end] when `closed`
    (a --to given as a date-time includes that instant)."""

    start: dt.datetime
    end: dt.datetime
    timezone: str
    closed: bool = False

    @property
    def length(self) -> dt.timedelta:
        return self.end - self.start

    def previous(self) -> Period:
        """The period of equal length just before this one."""
        return Period(self.start - self.length, self.start, self.timezone)

    def utc(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=ZoneInfo(self.timezone)).astimezone(dt.UTC)

    def hours(self, start: dt.datetime, end: dt.datetime) -> float:
        """Real elapsed hours between two local times (23 or 25 on a DST change day)."""
        return (self.utc(end) - self.utc(start)).total_seconds() / 3600


def parse_bound(text: str, *, end: bool) -> dt.datetime:
    """A --from/--to value: a date (a whole day: --to gives the next midnight) or a
    date-time (that instant)."""
    value = text.strip()
    side = "--to" if end else "--from"
    whole_day = len(value) == 10
    try:
        if whole_day:
            moment = dt.datetime.combine(dt.date.fromisoformat(value), dt.time())
        else:
            moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{side} {value!r} is not a date (2026-11-01) or date-time (2026-11-01T08:00)"
        ) from None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise InputError(f"{side} {value!r} is outside the years {YEARS[0]} to {YEARS[1]}")
    if whole_day:
        return moment + dt.timedelta(days=1) if end else moment
    if moment.tzinfo is not None:
        raise InputError(
            f"{value!r}: give a local time without offset; it is read in the workspace time zone"
        )
    return moment


def make_period(start: str, end: str, timezone: str) -> Period:
    """Both bounds inclusive: --to 2026-11-30 covers that whole day, --to 2026-11-30T12:00
    includes conversations started at exactly 12:00."""
    closed = len(end.strip()) != 10
    period = Period(parse_bound(start, end=False), parse_bound(end, end=True), timezone, closed)
    if period.end <= period.start:
        raise InputError(f"the period {start} .. {end} is empty: --to must not be before --from")
    return period


def truncate(moment: dt.datetime, grain: str) -> dt.datetime:
    if grain == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "year":
        return day.replace(month=1, day=1)
    hint = did_you_mean(grain, ("hour", "day", "week", "month", "year"))
    raise InputError(f"unknown grain {grain!r}{hint}; expected hour, day, week, month or year")


def step(moment: dt.datetime, grain: str) -> dt.datetime:
    if grain == "hour":
        return moment + dt.timedelta(hours=1)
    if grain == "day":
        return moment + dt.timedelta(days=1)
    if grain == "week":
        return moment + dt.timedelta(days=7)
    if grain == "month":
        return (moment.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return moment.replace(year=moment.year + 1)


@dataclass(frozen=True)
class Bucket:
    label: dt.datetime  # the truncated local time that names the bucket
    start: dt.datetime  # label clipped to the period
    end: dt.datetime
    hours: float


MAX_BUCKETS = 10_000
"""The most buckets a period may be cut into (an hourly year is 8,784): beyond, a single
request would keep the server busy for minutes."""
_NOMINAL = {"hour": 1 / 24, "day": 1, "week": 7, "month": 28, "year": 365}


def buckets(period: Period, grain: str | None) -> list[Bucket]:
    """The period cut by grain; without one, the whole period as one bucket."""
    if grain is None:
        return [
            Bucket(period.start, period.start, period.end, period.hours(period.start, period.end))
        ]
    if grain in _NOMINAL:
        days = period.length / dt.timedelta(days=1)
        if days / _NOMINAL[grain] > MAX_BUCKETS:
            raise InputError(
                f"{period.start:%Y-%m-%d} .. {period.end:%Y-%m-%d} by {grain} is more than "
                f"{MAX_BUCKETS:,} {grain}s: choose a coarser grain or a shorter period"
            )
    out = []
    label = truncate(period.start, grain)
    while label < period.end:
        following = step(label, grain)
        start, end = max(label, period.start), min(following, period.end)
        out.append(Bucket(label, start, end, period.hours(start, end)))
        label = following
    return out
