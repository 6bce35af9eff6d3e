"""What a report page shows beyond its tiles and series, by section (a registry, like the
sections themselves): the chatbot's failed questions and downtime incidents, the live chat's
tags, the feedback's score distributions and comments.

Figures follow the page's rules: aggregates are scoped as the tiles are (`scope_filters`),
lists of conversations and chat text as transcripts are (`own_conversations`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from chatlens.metrics import Engine, Query
from chatlens.metrics.incidents import downtime_incidents
from chatlens.reports.comments import rating_comments
from chatlens.reports.format import human
from chatlens.reports.ratings import csat_distribution
from chatlens.server.access import own_conversations, scope_filters
from chatlens.server.auth import Principal
from chatlens.server.page_kit import View
from chatlens.server.topics import period_bounds
from chatlens.topics.read import failed_questions

Extra = Callable[[Engine, Principal, View, dict[str, Any]], dict[str, Any]]


def _local(moment: dt.datetime, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(zone).strftime(fmt)


def uptime(engine: Engine, view: View) -> dict[str, Any]:
    """Availability, downtime and the incidents of the period. Health checks belong to the
    whole system, so the page's filters (and an agent's scope) do not apply to them."""
    zone = ZoneInfo(engine.settings.timezone)
    totals = engine.run(
        Query(metrics=("availability", "downtime_seconds"), start=view.start, end=view.end)
    )
    row = totals.rows[0]
    incidents = []
    for found in downtime_incidents(engine, view.start, view.end):
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


def chatbot(engine: Engine, who: Principal, view: View, totals: dict[str, Any]) -> dict[str, Any]:
    zone = ZoneInfo(engine.settings.timezone)
    agent = own_conversations(who, {}).get("agent_id", (None,))[0]
    bounds = period_bounds(view.start, view.end, engine.settings.timezone)
    failed = failed_questions(engine.store, agent_id=agent, **bounds)
    for row in failed:
        row["local"] = _local(row["ts"], zone)
    return {"failed": failed, "uptime": uptime(engine, view)}


NPS_GROUPS = (
    ("nps_promoters", "Promoters (9-10)"),
    ("nps_passives", "Passives (7-8)"),
    ("nps_detractors", "Detractors (0-6)"),
)


def feedback(engine: Engine, who: Principal, view: View, totals: dict[str, Any]) -> dict[str, Any]:
    zone = ZoneInfo(engine.settings.timezone)
    scoped = scope_filters(who, view.filters)
    spread = csat_distribution(
        engine, Query(metrics=("conversations",), start=view.start, end=view.end, filters=scoped)
    )
    csat = [
        {"name": str(r["score"]), "value": r["conversations"],
         "url": view.url("/conversations", csat=r["score"])}
        for r in spread
    ]  # fmt: skip
    nps = [
        {"name": label, "value": totals.get(mid) or 0,
         "url": view.url("/conversations", counted=mid)}
        for mid, label in NPS_GROUPS
    ]  # fmt: skip
    own = own_conversations(who, view.filters)
    comments = rating_comments(
        engine, Query(metrics=("conversations",), start=view.start, end=view.end, filters=own)
    )
    for comment in comments:
        comment["local"] = _local(comment["ts"], zone)
    return {"comments": comments, "csat_bars": csat, "nps_bars": nps}


def live_chat(engine: Engine, who: Principal, view: View, totals: dict[str, Any]) -> dict[str, Any]:
    """The tags of the period's conversations, most used first, each with its share of all
    the conversations (`tag_share`) and a link to them."""
    query = Query(metrics=("conversations", "tag_share"), start=view.start, end=view.end,
                  dimensions=("tag",), filters=scope_filters(who, view.filters))  # fmt: skip
    rows = sorted(engine.run(query).rows, key=lambda r: (-(r["conversations"] or 0), r["tag"]))
    tags = [
        {"tag": r["tag"], "conversations": r["conversations"],
         "share": human(r["tag_share"], "rate"), "url": view.url("/conversations", tag=r["tag"])}
        for r in rows
        if r["conversations"]
    ]  # fmt: skip
    return {"tags": tags}


EXTRAS: dict[str, Extra] = {"chatbot": chatbot, "feedback": feedback, "live-chat": live_chat}
