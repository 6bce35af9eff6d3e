"""The FAQ page: what customers ask, by topic, with each topic's trend, its example
questions, what the bot should learn next, and drill-down to the conversations of a topic."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chatlens.metrics import Query
from chatlens.server.access import own_conversations, scope_query
from chatlens.server.page_kit import Ctx, Viewer, filter_choices, read_view, render
from chatlens.server.reads import open_workspace
from chatlens.server.topics import period_bounds
from chatlens.topics import learn_next, list_topics

router = APIRouter(include_in_schema=False)


def sparkline(values: list[float], width: int = 120, height: int = 28) -> str:
    """An SVG polyline's points for a small trend line (numbers only: safe in markup)."""
    if not values:
        return ""
    top = max(values) or 1
    step = width / max(1, len(values) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for i, v in enumerate(values)
    )


@router.get("/faq")
def faq(request: Request, who: Viewer, ctx: Ctx) -> Response:
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = filter_choices(engine, who)
        agent = own_conversations(who, {}).get("agent_id", (None,))[0]
        period = period_bounds(view.start, view.end, engine.settings.timezone)
        topics = list_topics(engine.store, agent_id=agent, **period)
        learn = learn_next(engine.store, limit=10, examples=3, agent_id=agent, **period)
        by_topic = Query(
            metrics=("conversations",),
            start=view.start,
            end=view.end,
            grain=view.grain,
            dimensions=("topic",),
            filters=view.filters,
        )
        trend = engine.run(scope_query(who, by_topic))
    buckets = sorted({r["bucket"] for r in trend.rows})
    series: dict[Any, dict[str, float]] = {}
    for r in trend.rows:
        series.setdefault(r["topic"], {})[r["bucket"]] = r["conversations"] or 0
    for topic in topics:
        points = series.get(topic["name"], {})
        topic["spark"] = sparkline([points.get(b, 0) for b in buckets])
        # the conversations whose topic this is (the `topic` dimension: what drill-down,
        # reports and exports count), not every conversation with a question in it
        topic["conversations"] = int(sum(points.values()))
        topic["drill"] = view.url("/conversations") + f"&filter=topic%3D{topic['id']}"
    return render(
        request,
        ctx,
        "faq.html",
        {"view": view, "who": who, "topics": topics, "learn": learn},
    )
