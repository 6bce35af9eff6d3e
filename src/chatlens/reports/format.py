"""Numbers formatted for people: 1m 05s, 87.5 %, 1.2k."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO


def duration(seconds: float) -> str:
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    if seconds < 60:
        return f"{sign}{seconds:.1f}s" if seconds < 10 else f"{sign}{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{sign}{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{sign}{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{sign}{days}d {hours:02d}h"


def compact(number: float) -> str:
    value = abs(number)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit * 10:
            return f"{number / limit:.0f}{suffix}"
        if value >= limit:
            return f"{number / limit:.1f}{suffix}"
    if float(number).is_integer():
        return f"{number:.0f}"
    return f"{number:.2f}"


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def human(value: Any, unit: str) -> str:
    """A metric value as a person reads it; '-' for null (no data)."""
    if value is None:
        return "-"
    if unit == "rate":
        return f"{value * 100:.1f} %"
    if unit == "seconds":
        return duration(float(value))
    if unit == "hour":
        return f"{int(value):02d}:00"
    if unit == "weekday":
        return WEEKDAYS[int(value)]
    if unit in ("score", "ratio", "per_hour"):
        return f"{value:.2f}"
    if unit == "percent_points":
        return f"{value:+.1f} pp"
    if unit == "nps":
        return f"{value:.0f}"
    if unit == "money":
        return f"{value:,.2f}"
    return compact(float(value))


def target_text(goal: Mapping[str, float], unit: str) -> str:
    """A goal's target as people read it: 'at least 80.0 %', 'at most 1m 00s', or both."""
    return " and ".join(
        f"{'at least' if k == 'min' else 'at most'} {human(goal[k], unit)}"
        for k in ("min", "max")
        if k in goal
    )


# CSV and spreadsheet cells (issue 13): a spreadsheet runs a cell that starts with one of
# these as a formula; chat text, names and tags are untrusted, so such text never reaches a
# CSV or XLSX file as is.
FORMULA_STARTERS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A value as a cell no spreadsheet runs (OWASP, CSV injection): text starting with a
    formula character gets a leading single quote; numbers, dates, None stay as they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTERS):
        return "'" + value
    return value


def write_csv(out: TextIO, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Every CSV chatlens writes: RFC 4180 (lines end with CRLF; a cell holding a comma, a
    quote, CR or LF is quoted), None as an empty cell, each cell through `spreadsheet_cell`.
    The CRLF matters: Python quotes only the line ending's characters, and with "\n" alone a
    bare CR in chat text went out unquoted and started a new row in a spreadsheet."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([spreadsheet_cell(name) for name in header])
    writer.writerows([spreadsheet_cell(value) for value in row] for row in rows)
