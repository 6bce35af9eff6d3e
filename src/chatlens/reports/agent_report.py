"""The agent performance report (docs/server.md), for one agent, one team or every
team: which metrics it carries (by their catalogue ids), fair rankings, its charts and CSV.

The server pages (server/pages/agents.py, server/pages/teams.py) run the queries; this module
only shapes their rows, so the page, the JSON and the CSV carry the same figures.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from chatlens.metrics import METRICS
from chatlens.reports.format import write_csv

REPORT: tuple[str, ...] = (
    "handled_conversations",  # chats handled
    "successful_chats",  # chats resolved
    "tickets_resolved",
    "missed_chats",
    "chats_declined",
    "wait_time",  # mean pickup time
    "first_response_time",
    "handle_time",  # mean chat time
    "chats_per_online_hour",
    "online_hours",
    "utilization",
    "csat",
    "positive_rating_rate",
    "negative_rating_rate",
    "transfer_rate",
    "conversions",
    "tag_usage",
    "tags_per_conversation",
    "canned_usage",
    "canned_per_chat",
)
"""Section 6 in its order, each figure by its metric id (page, JSON and CSV columns)."""

DEFAULT_RANK = "fcr_rate"
RANKABLE: tuple[str, ...] = (*REPORT, DEFAULT_RANK)
"""What agents and teams can be ranked by (first contact resolution by default)."""


def rank_key(metric: str) -> str:
    """The row field a ranking by `metric` sorts on: a rate's 95% Wilson lower bound (2 of 2
    must not outrank 95 of 100), any other metric its value."""
    return f"{metric}__lower" if METRICS[metric].unit == "rate" else metric


def ranked(rows: Iterable[Mapping[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Rows best first by `metric` (lower first where an increase is bad), rows without a
    value last; each gets its `rank` (1, 2, ...) and `rank_value` (what it was ranked by)."""
    key = rank_key(metric)
    sign = 1 if METRICS[metric].increase_is_bad else -1
    out = [dict(r) for r in rows]
    out.sort(key=lambda r: (r.get(key) is None, sign * (r.get(key) or 0)))
    for number, row in enumerate(out, start=1):
        row["rank"] = number
        row["rank_value"] = row.get(key)
    return out


def metric_meta(ids: Sequence[str] = REPORT) -> dict[str, dict[str, Any]]:
    """Label, unit and direction of each metric, for the page's charts and the JSON."""
    return {
        m: {
            "label": METRICS[m].label,
            "unit": METRICS[m].unit,
            "description": METRICS[m].description,
            "increase_is_bad": METRICS[m].increase_is_bad,
        }
        for m in ids
    }


def bucket_label(bucket: str, grain: str | None) -> str:
    return bucket[:16] if grain == "hour" else bucket[:10]


def series_chart(
    rows: Sequence[Mapping[str, Any]], grain: str | None, by: str | None = None
) -> dict[str, Any]:
    """One chart per metric over the buckets: {"buckets", "lines": {metric: {line: values}}};
    one line ("" ) per metric, or one per value of `by` (team against team)."""
    buckets = sorted({r["bucket"] for r in rows})
    index = {b: i for i, b in enumerate(buckets)}
    names = sorted({str(r[by]) for r in rows if r.get(by) is not None}) if by else [""]
    lines: dict[str, dict[str, list[Any]]] = {
        m: {name: [None] * len(buckets) for name in names} for m in REPORT
    }
    for row in rows:
        name = "" if by is None else row.get(by)
        if name is None:
            continue
        for m in REPORT:
            lines[m][str(name)][index[row["bucket"]]] = row.get(m)
    return {"buckets": [bucket_label(b, grain) for b in buckets], "lines": lines}


def csv_text(rows: Iterable[Mapping[str, Any]], keys: Sequence[str]) -> str:
    """The report's rows as CSV (`reports.format.write_csv`: agent ids and team names are
    untrusted): `keys` (bucket, team, agent...) then every REPORT id; an empty cell where a
    figure has no data."""
    buffer = io.StringIO()
    write_csv(buffer, [*keys, *REPORT], ([row.get(c) for c in (*keys, *REPORT)] for row in rows))
    return buffer.getvalue()
