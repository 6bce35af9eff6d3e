"""The `business_hours` setting: its JSON shape, validation and canonical form (`DOC`).

Validation names the exact place of a mistake, e.g.
`business_hours.schedules[1].hours.tue[0]: start 13:00 is not before end 12:00`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from chatlens.errors import did_you_mean

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EXAMPLE = '[["09:00", "12:00"], ["13:00", "17:00"]]'

DOC = """\
`business_hours` says when the team is open, in the workspace `timezone`; the
`*_business_hours` variants count only the time inside it. It is applied when figures are
computed, so a change re-draws history, and each day uses the schedule in force on it:

```json
{
  "schedules": [
    {"hours": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]],
               "tue": [["09:00", "12:00"], ["13:00", "17:00"]],
               "sat": [["10:00", "14:00"]]}},
    {"from": "2026-06-01",
     "hours": {"mon": [["08:00", "16:00"]],
               "fri": [["22:00", "24:00"]],
               "sat": [["00:00", "02:00"]]}}
  ],
  "holidays": {"2026-12-24": [["09:00", "12:00"]], "2026-12-25": []}
}
```

- A weekday holds one or more `["HH:MM", "HH:MM"]` intervals in order, none overlapping,
  each starting before it ends; `24:00` ends a day (a night shift is `22:00`-`24:00` and
  the next day's `00:00`-`02:00`). A weekday left out is closed.
- A schedule is in force from its `from` date (inclusive) until the next one's; only the
  first may leave `from` out (in force since always). Before the first `from`, nothing is
  open. Schedules go in date order.
- A holiday replaces its date's hours: `[]` closes it, intervals give it its own hours.
- Times are wall-clock times: on a DST day an interval lasts as long as the clock runs
  through it (an hour the clocks skip is never open, a repeated hour is open twice).
- The short form `{"mon": [["09:00", "17:00"]], ...}` (and the first one,
  `{"mon": ["09:00", "17:00"]}`) is one schedule without holidays. Settings are stored and
  shown in the full form above.
- A mistake is refused with its place, e.g.
  `business_hours.schedules[1].hours.tue[0]: start 13:00 is not before end 12:00`.
"""
"""Markdown of the setting for docs/metrics.md."""

Interval = tuple[int, int]
"""Minutes after local midnight: [start, end), end at most 24 * 60."""


@dataclass(frozen=True)
class Schedule:
    since: dt.date | None
    """First local date it is in force; None: since always."""
    hours: dict[int, tuple[Interval, ...]]
    """Per weekday (0 = Monday) its open intervals, in order."""


@dataclass(frozen=True)
class BusinessHours:
    schedules: tuple[Schedule, ...]
    holidays: dict[dt.date, tuple[Interval, ...]]

    def on(self, day: dt.date) -> tuple[Interval, ...]:
        """The open intervals of one local date: its holiday's, else the weekday's of the
        schedule in force that day."""
        if day in self.holidays:
            return self.holidays[day]
        in_force = None
        for schedule in self.schedules:
            if schedule.since is None or schedule.since <= day:
                in_force = schedule
        return in_force.hours.get(day.weekday(), ()) if in_force else ()


def parse(value: Any) -> BusinessHours | None:
    """The setting as data; None for no business hours (null or {}). A ValueError names
    the place of the first mistake."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError(
            f'business_hours: expected an object such as {{"mon": {_EXAMPLE}}} or '
            f'{{"schedules": [...], "holidays": {{...}}}}, got {_show(value)}'
        )
    if not value:
        return None
    if "schedules" not in value and "holidays" not in value:
        return BusinessHours((Schedule(None, _week(value, "business_hours")),), {})
    for key in value:
        if key not in ("schedules", "holidays"):
            raise ValueError(
                f"business_hours: unknown key {_show(key)}"
                f"{did_you_mean(key, ('schedules', 'holidays'))} next to schedules/holidays "
                "(weekdays go in schedules[].hours)"
            )
    if "schedules" not in value:
        raise ValueError("business_hours.schedules: missing (holidays depart from weekly hours)")
    schedules = value["schedules"]
    if not isinstance(schedules, list) or not schedules:
        raise ValueError(
            f"business_hours.schedules: expected a non-empty list of "
            f'{{"from": "YYYY-MM-DD", "hours": {{...}}}}, got {_show(schedules)}'
        )
    parsed = [_schedule(s, i) for i, s in enumerate(schedules)]
    for i in range(1, len(parsed)):
        before, since = parsed[i - 1].since, parsed[i].since
        if since is None:
            raise ValueError(
                f'business_hours.schedules[{i}]: "from" is needed on every schedule after the first'
            )
        if before is not None and since <= before:
            raise ValueError(
                f"business_hours.schedules[{i}].from: {since} is not after "
                f"schedules[{i - 1}].from {before} (schedules go in date order)"
            )
    holidays = value.get("holidays", {})
    if not isinstance(holidays, dict):
        raise ValueError(
            'business_hours.holidays: expected an object such as {"2026-12-24": '
            f'[["09:00", "12:00"]], "2026-12-25": []}}, got {_show(holidays)}'
        )
    days = {
        _date(day, f"business_hours.holidays: {_show(day)}"): _intervals(
            spans, f"business_hours.holidays.{day}"
        )
        for day, spans in holidays.items()
    }
    return BusinessHours(tuple(parsed), dict(sorted(days.items())))


def canonical(hours: BusinessHours | None) -> dict[str, Any] | None:
    """The one JSON form settings are stored and shown in (the full form)."""
    if hours is None:
        return None

    def spans(intervals: tuple[Interval, ...]) -> list[list[str]]:
        return [[_hhmm(a), _hhmm(z)] for a, z in intervals]

    schedules = []
    for s in hours.schedules:
        week = {WEEKDAYS[d]: spans(iv) for d, iv in sorted(s.hours.items()) if iv}
        schedules.append(
            {"hours": week} if s.since is None else {"from": str(s.since), "hours": week}
        )
    holidays = {str(day): spans(iv) for day, iv in hours.holidays.items()}
    return {"schedules": schedules, "holidays": holidays}


def _schedule(value: Any, i: int) -> Schedule:
    place = f"business_hours.schedules[{i}]"
    if not isinstance(value, dict) or "hours" not in value:
        raise ValueError(
            f'{place}: expected {{"from": "YYYY-MM-DD", "hours": {{"mon": {_EXAMPLE}}}}} '
            f"(from optional on the first), got {_show(value)}"
        )
    for key in value:
        if key not in ("from", "hours"):
            hint = did_you_mean(key, ("from", "hours"))
            raise ValueError(f"{place}: unknown key {_show(key)}{hint} (expected from, hours)")
    since = value.get("from")
    day = None if since is None else _date(since, f"{place}.from: {_show(since)}")
    return Schedule(day, _week(value["hours"], f"{place}.hours"))


def _week(value: Any, place: str) -> dict[int, tuple[Interval, ...]]:
    if not isinstance(value, dict):
        raise ValueError(
            f'{place}: expected an object such as {{"mon": {_EXAMPLE}}}, got {_show(value)}'
        )
    week = {}
    for day, spans in value.items():
        if day not in WEEKDAYS:
            hint = did_you_mean(day, WEEKDAYS)
            raise ValueError(f"{place}: {_show(day)} is not one of {', '.join(WEEKDAYS)}{hint}")
        week[WEEKDAYS.index(day)] = _intervals(spans, f"{place}.{day}")
    return week


def _intervals(value: Any, place: str) -> tuple[Interval, ...]:
    """A day's intervals: a list of ["HH:MM", "HH:MM"], or one such pair alone."""
    if isinstance(value, list) and len(value) == 2 and all(isinstance(t, str) for t in value):
        return (_interval(value, place),)
    if not isinstance(value, list):
        raise ValueError(
            f"{place}: expected a list of intervals such as {_EXAMPLE}, got {_show(value)}"
        )
    out: list[Interval] = []
    for i, span in enumerate(value):
        start, end = _interval(span, f"{place}[{i}]")
        if out and start < out[-1][1]:
            raise ValueError(
                f"{place}[{i}]: {_hhmm(start)}-{_hhmm(end)} starts before {place}[{i - 1}] "
                f"ends at {_hhmm(out[-1][1])} (intervals go in order without overlapping)"
            )
        out.append((start, end))
    return tuple(out)


def _interval(value: Any, place: str) -> Interval:
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(t, str) for t in value)):
        raise ValueError(f'{place}: expected ["HH:MM", "HH:MM"], got {_show(value)}')
    for t in value:
        if not _TIME.match(t):
            raise ValueError(f"{place}: {_show(t)} is not a time HH:MM from 00:00 to 24:00")
    start, end = (int(t[:2]) * 60 + int(t[3:]) for t in value)
    if start >= end:
        raise ValueError(
            f"{place}: start {value[0]} is not before end {value[1]} "
            "(a shift past midnight is two intervals: until 24:00 and from 00:00)"
        )
    return start, end


def _date(value: Any, place: str) -> dt.date:
    if isinstance(value, str) and _DATE.match(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{place} is not a date YYYY-MM-DD")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _show(value: Any) -> str:
    """A short rendering of a bad value for a message (never a long payload)."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
