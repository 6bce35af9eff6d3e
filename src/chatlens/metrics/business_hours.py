"""Business hours as UTC intervals: the setting (chatlens.store.business_hours) laid over
the local days of a date range in the workspace time zone.

An instant is inside business hours when the wall clock shows an open time on that date, so
on a DST day an interval is as long as the clock actually runs through it: an hour the
clocks skip opens nothing (an interval inside it is dropped, one across it is an hour
shorter), an hour they repeat opens twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

from chatlens.store.business_hours import parse

UTC = dt.UTC
_MARGIN = dt.timedelta(hours=27)
"""Farther than any UTC offset (-12 h .. +14 h) from a wall-clock time, plus a day's slack."""


def utc_intervals(
    setting: dict[str, Any] | None, first: dt.date, last: dt.date, zone: ZoneInfo
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The open intervals of every local date from `first` to `last` (both included) under
    the `business_hours` setting, as aware UTC [start, end) pairs in time order."""
    hours = parse(setting)
    if hours is None:
        return []
    out: list[tuple[dt.datetime, dt.datetime]] = []
    day = first
    while day <= last:
        midnight = dt.datetime.combine(day, dt.time())
        for start, end in hours.on(day):
            opens = midnight + dt.timedelta(minutes=start)
            closes = midnight + dt.timedelta(minutes=end)
            for a, z in wall_to_utc(opens, closes, zone):
                if out and out[-1][1] == a:  # touching pieces (a DST cut, 12:00 | 12:00)
                    out[-1] = (out[-1][0], z)
                else:
                    out.append((a, z))
        day += dt.timedelta(days=1)
    return out


def wall_to_utc(
    opens: dt.datetime, closes: dt.datetime, zone: ZoneInfo
) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """The UTC intervals of the instants whose wall-clock time in `zone` lies in the naive
    local [opens, closes): one piece, none (inside a skipped hour) or two (a repeated hour
    falls inside it)."""
    lo = (opens - _MARGIN).replace(tzinfo=UTC)
    hi = (closes + _MARGIN).replace(tzinfo=UTC)
    for seg_lo, seg_hi in _constant_offset(lo, hi, zone):
        offset = seg_lo.astimezone(zone).utcoffset()
        assert offset is not None
        a = max(seg_lo, (opens - offset).replace(tzinfo=UTC))
        z = min(seg_hi, (closes - offset).replace(tzinfo=UTC))
        if a < z:
            yield a, z


def _constant_offset(
    lo: dt.datetime, hi: dt.datetime, zone: ZoneInfo
) -> list[tuple[dt.datetime, dt.datetime]]:
    """[lo, hi) cut where the zone's UTC offset changes (at most once in the 3 days asked)."""
    if lo.astimezone(zone).utcoffset() == hi.astimezone(zone).utcoffset():
        return [(lo, hi)]
    # bisect to the second: the first instant with the offset `hi` has
    before, after = lo, hi
    first = hi.astimezone(zone).utcoffset()
    while after - before > dt.timedelta(seconds=1):
        mid = before + (after - before) / 2
        mid = mid.replace(microsecond=0)
        if mid.astimezone(zone).utcoffset() == first:
            after = mid
        else:
            before = mid
    return [(lo, after), (after, hi)]
