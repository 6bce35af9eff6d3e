"""The FAQ page: what customers ask, by topic, with each topic's trend, its example
questions, what the bot should learn next, and drill-down to the conversations of a topic."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chatlens.metrics import Query
from chatlens.server.pages.kit import Viewer, read_view, render
from chatlens.server.routes import Ctx, period_bounds, reader_of

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
    reader = reader_of(ctx, who)
    zone = reader.timezone
    view = read_view(request, zone, who.workspace)
    view.options = reader.filter_choices()
    period = period_bounds(view.start, view.end, zone)
    topics = reader.topics(**period)
    learn = reader.learn_next(limit=10, examples=3, **period)
    by_topic = Query(
        metrics=("conversations",),
        start=view.start,
        end=view.end,
        grain=view.grain,
        dimensions=("topic",),
        filters=view.filters,
    )
    trend = reader.figures(by_topic)
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
