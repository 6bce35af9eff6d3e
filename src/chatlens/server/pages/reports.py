"""Dashboard pages, rendered on the server (Jinja, autoescaped: chat text is always text).

Every control lives in the URL (period, grain, filters, comparison), so a view can be
bookmarked and shared. Everything shown is read through the seat's `chatlens.reading.Reader`,
as the API reads it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chatlens.metrics import METRICS, Query
from chatlens.reports.drill import countable
from chatlens.reports.format import WEEKDAYS
from chatlens.server.auth import PageLive
from chatlens.server.errors import ApiError
from chatlens.server.pages.extras import EXTRAS
from chatlens.server.pages.kit import View, Viewer, bucket_label, read_view, render, tile_cards
from chatlens.server.routes import Ctx, page_number, reader_of

router = APIRouter(include_in_schema=False)
TILES = (
    "conversations",
    "containment_rate",
    "fallback_rate",
    "handoff_rate",
    "first_response_time",
    "missed_rate",
    "fcr_rate",
    "csat",
    "nps",
    "conversion_rate",
)
FUNNEL = (
    ("visitors", "Visitors"),
    ("conversations", "Chats"),
    ("bot_conversations", "Bot"),
    ("human_conversations", "Human"),
    ("successful_chats", "Resolved"),
    ("conversions", "Converted"),
)


def stage_url(view: View, metric: str) -> str:
    """The conversations behind a funnel stage: those its metric counts (visitors are not
    conversations: their stage opens every conversation of the period)."""
    counted = metric if countable(metric) and metric != "conversations" else None
    return view.url("/conversations", counted=counted)


@router.get("/overview")
def overview(request: Request, who: Viewer, ctx: Ctx) -> Response:
    reader = reader_of(ctx, who)
    view = read_view(request, reader.timezone, who.workspace)
    view.options = reader.filter_choices()

    def figures(metrics: tuple[str, ...], **kw: Any) -> Query:
        return Query(metrics=metrics, start=view.start, end=view.end, filters=view.filters, **kw)

    tiles, series, mix, heat, funnel = reader.figures_many(
        [
            figures(TILES, compare=view.compare),
            figures(
                ("conversations", "bot_conversations", "human_conversations"), grain=view.grain
            ),
            figures(("conversations",), dimensions=("channel",)),
            figures(("conversations",), dimensions=("weekday", "hour_of_day")),
            figures(tuple(m for m, _ in FUNNEL)),
        ],
    )
    cards = tile_cards(tiles.rows[0], list(TILES))
    charts = {
        "series": {
            "buckets": [bucket_label(r["bucket"], view.grain) for r in series.rows],
            "lines": {m: [r[m] for r in series.rows] for m in series.meta["metrics"]},
            "labels": {m: METRICS[m].label for m in series.meta["metrics"]},
        },
        "mix": [{"name": r["channel"] or "unknown", "value": r["conversations"]} for r in mix.rows],
        "heat": [[r["hour_of_day"], r["weekday"], r["conversations"]] for r in heat.rows],
        "weekdays": list(WEEKDAYS),
        "funnel": [
            {"name": label, "value": funnel.rows[0].get(m) or 0, "url": stage_url(view, m)}
            for m, label in FUNNEL
        ],
        "drill": view.url("/conversations"),
        "grain": view.grain,
    }
    return render(
        request,
        ctx,
        "overview.html",
        {
            "view": view,
            "who": who,
            "cards": cards,
            "charts": charts,
            "notes": tiles.meta["notes"],
            "scoped": reader.narrowed,
        },
    )


SECTIONS = {
    "volume": ("1. Volume and engagement", "Volume"),
    "chatbot": ("2. Chatbot performance", "Chatbot"),
    "live-chat": ("3. Live chat and agents", "Live chat"),
    "feedback": ("4. Customer feedback", "Feedback"),
    "business": ("5. Business impact", "Business"),
}


@router.get("/reports/{slug}")
def section(slug: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    if slug not in SECTIONS:
        raise ApiError(404, f"no report {slug!r}; reports: {', '.join(SECTIONS)}")
    name, title = SECTIONS[slug]
    ids = [m.id for m in METRICS.values() if m.section == name and not m.read_by]
    chosen = request.query_params.get("metric") or ids[0]
    if chosen not in ids:
        raise ApiError(400, f"metric {chosen!r} is not in the {title} report")
    reader = reader_of(ctx, who)
    view = read_view(request, reader.timezone, who.workspace)
    view.options = reader.filter_choices()
    totals = reader.figures(
        Query(
            metrics=tuple(ids),
            start=view.start,
            end=view.end,
            filters=view.filters,
            compare=view.compare,
        )
    )
    series = reader.figures(
        Query(
            metrics=(chosen,),
            start=view.start,
            end=view.end,
            grain=view.grain,
            filters=view.filters,
        )
    )
    extra = EXTRAS[slug](reader, view, totals.rows[0]) if slug in EXTRAS else {}
    charts = {
        "series": {
            "buckets": [bucket_label(r["bucket"], view.grain) for r in series.rows],
            "lines": {chosen: [r[chosen] for r in series.rows]},
            "labels": {chosen: METRICS[chosen].label},
            "unit": METRICS[chosen].unit,
        },
        "drill": view.url("/conversations"),
        "grain": view.grain,
        "csat": extra.get("csat_bars"),
        "nps": extra.get("nps_bars"),
    }
    return render(
        request,
        ctx,
        "section.html",
        {
            "view": view,
            "who": who,
            "cards": tile_cards(totals.rows[0], ids),
            "charts": charts,
            "notes": totals.meta["notes"],
            "title": title,
            "slug": slug,
            "chosen": METRICS[chosen],
            "sections": SECTIONS,
            **extra,
        },
    )


@router.get("/live")
def live_page(request: Request, who: PageLive, ctx: Ctx) -> Response:
    return render(request, ctx, "live.html", {"who": who})


LIST_COLUMNS = (
    "conversation_id",
    "started_local",
    "channel",
    "agents",
    "outcome",
    "csat",
    "first_response_seconds",
)
"""What the conversations page shows of each."""


@router.get("/conversations")
def conversation_list(request: Request, who: Viewer, ctx: Ctx) -> Response:
    page = page_number(request.query_params.get("page"))
    reader = reader_of(ctx, who)
    view = read_view(request, reader.timezone, who.workspace)
    found = reader.conversations(
        view.start, view.end, view.filters, view.drill, page=page, columns=LIST_COLUMNS
    )
    return render(
        request,
        ctx,
        "conversations.html",
        {
            "view": view,
            "who": who,
            "rows": found.rows,
            "total": found.total,
            "page": page,
            "pages": found.pages,
            "counted": METRICS[view.drill.counted].label if view.drill.counted else None,
        },
    )


@router.get("/conversations/{conversation_id:anyid}")  # any id: routes.AnyId
def transcript(conversation_id: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    facts, events = reader_of(ctx, who).transcript(conversation_id)
    return render(
        request,
        ctx,
        "transcript.html",
        {"who": who, "facts": facts, "events": events, "cid": conversation_id},
    )
