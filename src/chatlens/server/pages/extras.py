"""What a report page shows beyond its tiles and series, by section (a registry, like the
sections themselves): the chatbot's failed questions and downtime incidents, the live chat's
tags, the feedback's score distributions and comments.

Each is read through the page's `Reader`, which scopes it as it scopes the tiles
(aggregates) and the transcripts (lists of conversations and chat text)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from chatlens.metrics import Query
from chatlens.reading import Reader
from chatlens.reports.format import human
from chatlens.server.pages.kit import View
from chatlens.server.routes import period_bounds

Extra = Callable[[Reader, View, dict[str, Any]], dict[str, Any]]


def _local(moment: dt.datetime, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(zone).strftime(fmt)


def uptime(reader: Reader, view: View, zone: ZoneInfo) -> dict[str, Any]:
    """Availability, downtime and the incidents of the period. Health checks belong to the
    whole system, so the page's filters (and an agent's scope) do not apply to them."""
    row = reader.uptime(view.start, view.end)
    incidents = []
    for found in row["incidents"]:
        start, end, seconds = found["started_at"], found["ended_at"], found["seconds"]
        during = [("from", _local(start, zone, "%Y-%m-%dT%H:%M:%S"))]
        during.append(("to", _local(end, zone, "%Y-%m-%dT%H:%M:%S") if end else view.end))
        during += [("filter", f"{k}={v}") for k, vs in view.filters.items() for v in vs]
        incidents.append(
            {
                "component": found["component"],
                "start": _local(start, zone),
                "end": _local(end, zone) if end else None,
                "duration": human(seconds, "seconds") if seconds is not None else None,
                "drill": "/conversations?" + urlencode(during),
            }
        )
    return {
        "observed": row["availability"] is not None,
        "availability": human(row["availability"], "rate"),
        "downtime": human(row["downtime_seconds"], "seconds"),
        "incidents": incidents,
        "filtered": bool(view.filters),
    }


def chatbot(reader: Reader, view: View, totals: dict[str, Any]) -> dict[str, Any]:
    zone = reader.timezone
    failed = reader.failed_questions(**period_bounds(view.start, view.end, zone))
    return {"failed": failed, "uptime": uptime(reader, view, ZoneInfo(zone))}


NPS_GROUPS = (
    ("nps_promoters", "Promoters (9-10)"),
    ("nps_passives", "Passives (7-8)"),
    ("nps_detractors", "Detractors (0-6)"),
)


def feedback(reader: Reader, view: View, totals: dict[str, Any]) -> dict[str, Any]:
    spread = reader.csat_spread(view.start, view.end, view.filters)
    csat = [
        {
            "name": str(r["score"]),
            "value": r["conversations"],
            "url": view.url("/conversations", csat=r["score"]),
        }
        for r in spread
    ]
    nps = [
        {
            "name": label,
            "value": totals.get(mid) or 0,
            "url": view.url("/conversations", counted=mid),
        }
        for mid, label in NPS_GROUPS
    ]
    comments = reader.comments(view.start, view.end, view.filters)
    return {"comments": comments, "csat_bars": csat, "nps_bars": nps}


def live_chat(reader: Reader, view: View, totals: dict[str, Any]) -> dict[str, Any]:
    """The tags of the period's conversations, most used first, each with its share of all
    the conversations (`tag_share`) and a link to them."""
    query = Query(
        metrics=("conversations", "tag_share"),
        start=view.start,
        end=view.end,
        dimensions=("tag",),
        filters=view.filters,
    )
    rows = sorted(reader.figures(query).rows, key=lambda r: (-(r["conversations"] or 0), r["tag"]))
    tags = [
        {
            "tag": r["tag"],
            "conversations": r["conversations"],
            "share": human(r["tag_share"], "rate"),
            "url": view.url("/conversations", tag=r["tag"]),
        }
        for r in rows
        if r["conversations"]
    ]
    return {"tags": tags}


EXTRAS: dict[str, Extra] = {"chatbot": chatbot, "feedback": feedback, "live-chat": live_chat}
