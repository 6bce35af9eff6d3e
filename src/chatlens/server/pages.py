"""Dashboard pages, rendered on the server (Jinja, autoescaped: chat text is always text).

Every control lives in the URL (period, grain, filters, comparison), so a view can be
bookmarked and shared. Figures come from the same engine and permission rules as the API.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chatlens.metrics import METRICS, Query
from chatlens.reports.drill import countable
from chatlens.reports.export import conversations_sql
from chatlens.reports.format import WEEKDAYS
from chatlens.server.access import own_conversations, scope_query
from chatlens.server.auth import PageLive
from chatlens.server.errors import ApiError
from chatlens.server.page_kit import (
    Ctx,
    View,
    Viewer,
    bucket_label,
    filter_choices,
    read_view,
    render,
    run_queries,
    tile_cards,
)
from chatlens.server.reads import open_workspace, page_number, readable_conversation
from chatlens.server.section_extras import EXTRAS
from chatlens.store.sql import run

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
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = filter_choices(engine, who)

    def figures(metrics: tuple[str, ...], **kw: Any) -> Query:
        query = Query(metrics=metrics, start=view.start, end=view.end, filters=view.filters, **kw)
        return scope_query(who, query)

    tiles, series, mix, heat, funnel = run_queries(
        workspace,
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
        {"view": view, "who": who, "cards": cards, "charts": charts, "notes": tiles.meta["notes"],
         "scoped": who.role == "agent"},
    )  # fmt: skip


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
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = filter_choices(engine, who)
        query = Query(metrics=tuple(ids), start=view.start, end=view.end,
                      filters=view.filters, compare=view.compare)  # fmt: skip
        totals = engine.run(scope_query(who, query))
        chart = Query(metrics=(chosen,), start=view.start, end=view.end, grain=view.grain,
                      filters=view.filters)  # fmt: skip
        series = engine.run(scope_query(who, chart))
        extra = EXTRAS[slug](engine, who, view, totals.rows[0]) if slug in EXTRAS else {}
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
        {"view": view, "who": who, "cards": tile_cards(totals.rows[0], ids), "charts": charts,
         "notes": totals.meta["notes"], "title": title, "slug": slug, "chosen": METRICS[chosen],
         "sections": SECTIONS,
         **extra},
    )  # fmt: skip


@router.get("/live")
def live_page(request: Request, who: PageLive, ctx: Ctx) -> Response:
    return render(request, ctx, "live.html", {"who": who})


@router.get("/conversations")
def conversation_list(request: Request, who: Viewer, ctx: Ctx) -> Response:
    workspace = open_workspace(ctx, who)
    page = page_number(request.query_params.get("page"))
    per_page = 50
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        scoped = own_conversations(who, view.filters)
        query = Query(metrics=("conversations",), start=view.start, end=view.end, filters=scoped)
        sql = conversations_sql(engine, query, view.drill)
        con = engine.store.con
        total = int(run(con, f"SELECT count(*) FROM ({sql})")[0][0])
        cursor = con.execute(
            f"SELECT conversation_id, started_local, channel, agents, outcome, csat, "
            f"first_response_seconds FROM ({sql}) LIMIT {per_page} OFFSET {(page - 1) * per_page}"
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    pages = max(1, -(-total // per_page))
    return render(
        request,
        ctx,
        "conversations.html",
        {"view": view, "who": who, "rows": rows, "total": total, "page": page, "pages": pages,
         "counted": METRICS[view.drill.counted].label if view.drill.counted else None},
    )  # fmt: skip


@router.get("/conversations/{conversation_id:anyid}")  # any id: reads.AnyId
def transcript(conversation_id: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        con = engine.store.con
        facts = readable_conversation(engine, who, conversation_id)
        cursor = con.execute(
            "SELECT type, ts, sender, agent_id, text, resolution, kind, score, tag "
            "FROM events WHERE conversation_id = ? ORDER BY ts, seq",
            [conversation_id],
        )
        names = [d[0] for d in cursor.description]
        events = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
        zone = ZoneInfo(engine.settings.timezone)
    for event in events:
        event["local"] = event["ts"].astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    return render(
        request,
        ctx,
        "transcript.html",
        {"who": who, "facts": facts, "events": events, "cid": conversation_id},
    )
