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


def parse_moment(text: str | dt.date, *, end: bool, side: str | None = None) -> dt.date:
    """A --from/--to value read once: a date (a whole day) or a local date-time (that
    instant), given as such or as its ISO text. `side` names the bound in errors."""
    side = side or ("--to" if end else "--from")
    if isinstance(text, dt.date):
        moment: dt.date = text
        value = text.isoformat()
    else:
        value = text.strip()
        try:
            moment = (
                dt.date.fromisoformat(value)
                if len(value) == 10
                else dt.datetime.fromisoformat(value)
            )
        except ValueError:
            raise InputError(
                f"{side} {value!r} is not a date (2026-11-01) or date-time (2026-11-01T08:00)"
            ) from None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise InputError(f"{side} {value!r} is outside the years {YEARS[0]} to {YEARS[1]}")
    if isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        raise InputError(
            f"{value!r}: give a local time without offset; it is read in the workspace time zone"
        )
    return moment


def parse_bound(text: str | dt.date, *, end: bool) -> dt.datetime:
    """A --from/--to value as a local wall-clock instant: a date is a whole day (--to gives
    the next midnight), a date-time that instant."""
    return bound(parse_moment(text, end=end), end=end)


def bound(moment: dt.date, *, end: bool) -> dt.datetime:
    """A parsed --from/--to (parse_moment) as a local wall-clock instant."""
    if isinstance(moment, dt.datetime):
        return moment
    midnight = dt.datetime.combine(moment, dt.time())
    return midnight + dt.timedelta(days=1) if end else midnight


def _text(moment: str | dt.date) -> str:
    return moment.strip() if isinstance(moment, str) else moment.isoformat()


def make_period(start: str | dt.date, end: str | dt.date, timezone: str) -> Period:
    """Both bounds inclusive: --to 2026-11-30 covers that whole day, --to 2026-11-30T12:00
    includes conversations started at exactly 12:00. Bounds are dates or date-times (a
    `datetime` is a date-time), or their ISO text."""
    first, last = parse_moment(start, end=False), parse_moment(end, end=True)
    closed = isinstance(last, dt.datetime)
    period = Period(bound(first, end=False), bound(last, end=True), timezone, closed)
    if period.end <= period.start:
        raise InputError(
            f"the period {_text(start)} .. {_text(end)} is empty: --to must not be before --from"
        )
    return period


def preset_days(preset: str, today: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of a report page's preset period, as of `today` (`30d` and
    any name not listed here: the last 30 days)."""
    if preset == "today":
        return today, today
    if preset == "7d":
        return today - dt.timedelta(days=6), today
    if preset == "this_month":
        return today.replace(day=1), today
    if preset == "last_month":
        last = today.replace(day=1) - dt.timedelta(days=1)
        return last.replace(day=1), last
    if preset == "quarter":
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1), today
    if preset == "year":
        return today.replace(month=1, day=1), today
    return today - dt.timedelta(days=29), today


def today_in(zone: str) -> dt.date:
    """Today's date in the time zone."""
    return dt.datetime.now(ZoneInfo(zone)).date()


def page_period(preset: str, start: str | None, end: str | None, zone: str) -> tuple[str, str]:
    """A report page's period as the ISO texts of its first and last day: `custom` with both
    bounds keeps them as given (the engine checks them), any other preset counts back from
    today in the workspace's zone."""
    if preset == "custom" and start and end:
        return start, end
    first, last = preset_days(preset, today_in(zone))
    return first.isoformat(), last.isoformat()


OPEN_START, OPEN_END = dt.date(1970, 1, 1), dt.date(2999, 12, 30)
"""The days an open-ended day span (`day_span`) runs from and to."""


def day_span(
    start: str | None, end: str | None, zone: str
) -> tuple[dt.datetime, dt.datetime] | None:
    """Whole days from `start` to `end` (ISO dates, both inclusive; either may be left
    open) as aware instants [first midnight, midnight after the last day) in the zone;
    None when neither is given. Date-times are refused: these spans are whole days."""
    if start is None and end is None:
        return None
    try:
        lo = dt.date.fromisoformat(start) if start else OPEN_START
        hi = dt.date.fromisoformat(end) if end else OPEN_END
    except ValueError as exc:
        raise InputError(f"from/to: {exc}; expected YYYY-MM-DD") from None
    for side, day in (("from", lo), ("to", hi)):
        if not YEARS[0] <= day.year <= YEARS[1]:
            raise InputError(
                f"{side} {day.isoformat()!r} is outside the years {YEARS[0]} to {YEARS[1]}"
            )
    tz = ZoneInfo(zone)
    return (
        dt.datetime.combine(lo, dt.time(), tz),
        dt.datetime.combine(hi + dt.timedelta(days=1), dt.time(), tz),
    )


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
