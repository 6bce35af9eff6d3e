"""Dashboard pages, rendered on the server (Jinja, autoescaped: chat text is always text).

Every control lives in the URL (period, grain, filters, comparison), so a view can be
bookmarked and shared. Figures come from the same engine and permission rules as the API.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from chatlens.app import service
from chatlens.metrics import GRAINS, METRICS, Query
from chatlens.reports.export import conversations_sql
from chatlens.reports.format import WEEKDAYS, human
from chatlens.server.access import own_conversations, scope_query
from chatlens.server.auth import SESSION_COOKIE, Principal, principal, session_token
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError
from chatlens.server.live import check_live_access
from chatlens.server.reads import open_workspace, parse_filters
from chatlens.store.sql import run

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "web" / "templates")
templates.env.filters["human"] = human
Ctx = Annotated[Server, Depends(server)]

PRESETS = {
    "today": "Today",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "this_month": "This month",
    "last_month": "Last month",
    "quarter": "This quarter",
    "year": "This year",
    "custom": "Custom",
}
FILTERS = ("channel", "bot_id", "team", "agent_id", "tag")
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
templates.env.globals.update(presets=PRESETS, grains=GRAINS, filters=FILTERS)
FUNNEL = (
    ("visitors", "Visitors"),
    ("conversations", "Chats"),
    ("bot_conversations", "Bot"),
    ("human_conversations", "Human"),
    ("successful_chats", "Resolved"),
    ("conversions", "Converted"),
)


class SignIn(Exception):
    """The page needs a signed-in user: answered with a redirect to /login."""


async def viewer(request: Request) -> Principal:
    ctx = request.app.state.chatlens
    try:
        return await principal(request, ctx, request.query_params.get("workspace"))
    except ApiError as exc:
        if exc.status == 401:
            raise SignIn from None
        raise


Viewer = Annotated[Principal, Depends(viewer)]


def period_of(preset: str, start: str | None, end: str | None, zone: str) -> tuple[str, str]:
    today = dt.datetime.now(ZoneInfo(zone)).date()
    if preset == "custom" and start and end:
        return start, end
    if preset == "today":
        first = today
    elif preset == "7d":
        first = today - dt.timedelta(days=6)
    elif preset == "this_month":
        first = today.replace(day=1)
    elif preset == "last_month":
        last = today.replace(day=1) - dt.timedelta(days=1)
        return last.replace(day=1).isoformat(), last.isoformat()
    elif preset == "quarter":
        first = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    elif preset == "year":
        first = today.replace(month=1, day=1)
    else:
        first = today - dt.timedelta(days=29)
    return first.isoformat(), today.isoformat()


@dataclass
class View:
    """The controls of a report page, read from (and written back to) the URL."""

    preset: str
    start: str
    end: str
    grain: str | None
    compare: bool
    filters: dict[str, tuple[str, ...]]
    workspace: str
    options: dict[str, list[str]] = field(default_factory=dict)

    def url(self, path: str, **extra: Any) -> str:
        params: list[tuple[str, str]] = [("from", self.start), ("to", self.end)]
        params += [("filter", f"{k}={v}") for k, vs in self.filters.items() for v in vs]
        params += [(k, str(v)) for k, v in extra.items() if v is not None]
        return f"{path}?{urlencode(params)}"


def read_view(request: Request, zone: str, workspace: str) -> View:
    q = request.query_params
    preset = q.get("range", "custom" if q.get("from") else "30d")
    if preset not in PRESETS:
        raise ApiError(400, f"unknown range {preset!r}; expected one of {', '.join(PRESETS)}")
    start, end = period_of(preset, q.get("from"), q.get("to"), zone)
    grain = q.get("every") or "day"
    if grain not in GRAINS:
        raise ApiError(400, f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")
    filters = parse_filters([f for f in q.getlist("filter") if f.split("=", 1)[-1]])
    for name in FILTERS:
        if q.get(name):
            filters[name] = (q[name],)
    return View(preset, start, end, grain, q.get("compare") == "1", filters, workspace)


def _choices(con: Any, who: Principal) -> dict[str, list[str]]:
    """Values offered in the filter menus (an agent is offered only itself)."""
    found = {}
    for name, column in (("channel", "channel"), ("bot_id", "bot_id"), ("team", "team")):
        rows = run(con, f"SELECT DISTINCT {column} FROM conversation_facts "
                   f"WHERE {column} IS NOT NULL ORDER BY 1 LIMIT 200")  # fmt: skip
        found[name] = [r[0] for r in rows]
    agents = run(con, "SELECT DISTINCT unnest(agents) FROM conversation_facts ORDER BY 1 LIMIT 500")
    tags = run(con, "SELECT DISTINCT unnest(tags) FROM conversation_facts ORDER BY 1 LIMIT 500")
    found["agent_id"] = [who.agent_id or ""] if who.role == "agent" else [r[0] for r in agents]
    found["tag"] = [r[0] for r in tags]
    return found


def render(request: Request, ctx: Server, name: str, context: dict[str, Any]) -> Response:
    """A page, with the session's CSRF token for its forms."""
    token = session_token(ctx, request.cookies.get(SESSION_COOKIE, ""))
    csrf = ""
    if token:
        with ctx.sessions() as db:
            session = service.find_session(db, token)
            csrf = session.csrf_token if session else ""
    return templates.TemplateResponse(request, name, {**context, "csrf": csrf})


@router.get("/overview")
def overview(request: Request, who: Viewer, ctx: Ctx) -> Response:
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = _choices(engine.store.con, who)

        def figures(metrics: tuple[str, ...], **kw: Any) -> Any:
            query = Query(metrics, view.start, view.end, filters=view.filters, **kw)
            return engine.run(scope_query(who, query))

        tiles = figures(TILES, compare=view.compare)
        series = figures(("conversations", "bot_conversations", "human_conversations"),
                         grain=view.grain)  # fmt: skip
        mix = figures(("conversations",), dimensions=("channel",))
        heat = figures(("conversations",), dimensions=("weekday", "hour_of_day"))
        funnel = figures(tuple(m for m, _ in FUNNEL))
    row = tiles.rows[0]
    cards = [
        {
            "id": mid,
            "label": METRICS[mid].label,
            "value": human(row.get(mid), METRICS[mid].unit),
            "change": row.get(f"{mid}__change"),
            "change_text": _change(row, mid),
            "bad": METRICS[mid].increase_is_bad,
            "goal": row.get(f"{mid}__goal"),
            "empty": row.get(mid) is None,
        }
        for mid in TILES
    ]
    charts = {
        "series": {
            "buckets": [r["bucket"][:16] for r in series.rows],
            "lines": {m: [r[m] for r in series.rows] for m in series.meta["metrics"]},
            "labels": {m: METRICS[m].label for m in series.meta["metrics"]},
        },
        "mix": [{"name": r["channel"] or "unknown", "value": r["conversations"]} for r in mix.rows],
        "heat": [[r["hour_of_day"], r["weekday"], r["conversations"]] for r in heat.rows],
        "weekdays": list(WEEKDAYS),
        "funnel": [{"name": label, "value": funnel.rows[0].get(m) or 0} for m, label in FUNNEL],
        "drill": view.url("/conversations"),
    }
    return render(
        request,
        ctx,
        "overview.html",
        {"view": view, "who": who, "cards": cards, "charts": charts, "presets": PRESETS,
         "grains": GRAINS, "filters": FILTERS, "scoped": tiles.rows and who.role == "agent"},
    )  # fmt: skip


def _change(row: dict[str, Any], mid: str) -> str | None:
    change = row.get(f"{mid}__change")
    if change is None:
        return None
    unit = METRICS[mid].unit
    if unit == "rate":
        return f"{change * 100:+.1f} pp"
    text = human(abs(change), unit)
    return ("+" if change >= 0 else "-") + text


SECTIONS = {
    "volume": ("1. Volume and engagement", "Volume"),
    "chatbot": ("2. Chatbot performance", "Chatbot"),
    "live-chat": ("3. Live chat and agents", "Live chat"),
    "feedback": ("4. Customer feedback", "Feedback"),
    "business": ("5. Business impact", "Business"),
}
VARIANTS = ("_median", "_p90")


def _cards(row: dict[str, Any], ids: list[str]) -> list[dict[str, Any]]:
    """One tile per metric; a duration's median and p90 ride on its mean's tile."""
    cards = []
    for mid in ids:
        if mid.endswith(VARIANTS) and mid.rsplit("_", 1)[0] in ids:
            continue
        unit = METRICS[mid].unit
        extra = [
            f"{v.strip('_')} {human(row.get(mid + v), unit)}" for v in VARIANTS if mid + v in ids
        ]
        cards.append(
            {
                "id": mid,
                "label": METRICS[mid].label,
                "description": METRICS[mid].description,
                "value": human(row.get(mid), unit),
                "extra": " · ".join(extra),
                "change": row.get(f"{mid}__change"),
                "change_text": _change(row, mid),
                "bad": METRICS[mid].increase_is_bad,
                "goal": row.get(f"{mid}__goal"),
                "empty": row.get(mid) is None,
            }
        )
    return cards


@router.get("/reports/{slug}")
def section(slug: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    if slug not in SECTIONS:
        raise ApiError(404, f"no report {slug!r}; reports: {', '.join(SECTIONS)}")
    name, title = SECTIONS[slug]
    ids = [m.id for m in METRICS.values() if m.section == name]
    chosen = request.query_params.get("metric") or ids[0]
    if chosen not in ids:
        raise ApiError(400, f"metric {chosen!r} is not in the {title} report")
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = _choices(engine.store.con, who)
        query = Query(tuple(ids), view.start, view.end, filters=view.filters,
                      compare=view.compare)  # fmt: skip
        totals = engine.run(scope_query(who, query))
        series = engine.run(
            scope_query(
                who, Query((chosen,), view.start, view.end, view.grain, filters=view.filters)
            )
        )
    charts = {
        "series": {
            "buckets": [r["bucket"][:16] for r in series.rows],
            "lines": {chosen: [r[chosen] for r in series.rows]},
            "labels": {chosen: METRICS[chosen].label},
            "unit": METRICS[chosen].unit,
        },
        "drill": view.url("/conversations"),
    }
    return render(
        request,
        ctx,
        "section.html",
        {"view": view, "who": who, "cards": _cards(totals.rows[0], ids), "charts": charts,
         "title": title, "slug": slug, "chosen": METRICS[chosen], "presets": PRESETS,
         "grains": GRAINS, "filters": FILTERS, "sections": SECTIONS},
    )  # fmt: skip


AGENT_COLUMNS = (
    "handled_conversations",
    "first_response_time",
    "handle_time",
    "fcr_rate",
    "csat",
    "missed_chats",
    "transfer_rate",
    "chats_per_online_hour",
)


@router.get("/agents")
def agents(request: Request, who: Viewer, ctx: Ctx) -> Response:
    rank = request.query_params.get("rank", "fcr_rate")
    if rank not in AGENT_COLUMNS:
        raise ApiError(400, f"rank by one of {', '.join(AGENT_COLUMNS)}")
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = _choices(engine.store.con, who)
        query = Query(AGENT_COLUMNS, view.start, view.end, dimensions=("agent_id",),
                      filters=view.filters, bounds=True)  # fmt: skip
        result = engine.run(scope_query(who, query))
    rows = [r for r in result.rows if r["agent_id"] is not None]
    # rates rank by their Wilson lower bound (2 of 2 does not beat 95 of 100)
    key = f"{rank}__lower" if METRICS[rank].unit == "rate" else rank
    reverse = not METRICS[rank].increase_is_bad

    def order(row: dict[str, Any]) -> tuple[bool, float]:
        value = row.get(key)
        return (value is None, -(value or 0) if reverse else (value or 0))

    rows.sort(key=order)
    columns = [(c, METRICS[c].label, METRICS[c].unit) for c in AGENT_COLUMNS]
    return render(
        request,
        ctx,
        "agents.html",
        {"view": view, "who": who, "rows": rows, "columns": columns, "rank": rank,
         "presets": PRESETS, "grains": GRAINS, "filters": FILTERS},
    )  # fmt: skip


AGENT_REPORT = (
    "handled_conversations",
    "first_response_time",
    "first_response_time_median",
    "response_time",
    "handle_time",
    "missed_chats",
    "transfer_rate",
    "fcr_rate",
    "csat",
    "online_hours",
    "chats_per_online_hour",
    "utilization",
)


def _agent_report(request: Request, who: Principal, ctx: Server, agent_id: str) -> Any:
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = _choices(engine.store.con, who)
        filters = {**view.filters, "agent_id": (agent_id,)}
        totals = engine.run(
            scope_query(
                who,
                Query(AGENT_REPORT, view.start, view.end, filters=filters, compare=view.compare),
            )
        )
        series = engine.run(scope_query(who, Query(AGENT_REPORT, view.start, view.end,
                                                   view.grain, filters=filters)))  # fmt: skip
    return view, totals, series


@router.get("/agents/{agent_id}")
def agent_page(agent_id: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    view, totals, series = _agent_report(request, who, ctx, agent_id)
    ids = list(AGENT_REPORT)
    charts = {
        "series": {
            "buckets": [r["bucket"][:16] for r in series.rows],
            "lines": {m: [r[m] for r in series.rows] for m in ("handled_conversations",)},
            "labels": {"handled_conversations": METRICS["handled_conversations"].label},
        },
        "drill": view.url("/conversations") + "&" + urlencode({"filter": f"agent_id={agent_id}"}),
    }
    columns = [(m, METRICS[m].label, METRICS[m].unit) for m in ids]
    return render(
        request,
        ctx,
        "agent.html",
        {"view": view, "who": who, "agent": agent_id, "cards": _cards(totals.rows[0], ids),
         "rows": series.rows, "columns": columns, "charts": charts,
         "csv": view.url(f"/agents/{agent_id}/report.csv", every=view.grain)},
    )  # fmt: skip


@router.get("/agents/{agent_id}/report.csv")
def agent_csv(agent_id: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    _, _, series = _agent_report(request, who, ctx, agent_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["bucket", *AGENT_REPORT])
    for row in series.rows:
        writer.writerow([row["bucket"], *("" if row[m] is None else row[m] for m in AGENT_REPORT)])
    name = f"agent-{agent_id}-{series.meta['from'][:10]}.csv".replace("/", "_")
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/live")
def live_page(request: Request, who: Viewer, ctx: Ctx) -> Response:
    check_live_access(who)
    return render(request, ctx, "live.html", {"who": who})


@router.get("/conversations")
def conversation_list(request: Request, who: Viewer, ctx: Ctx) -> Response:
    workspace = open_workspace(ctx, who)
    page = max(1, int(request.query_params.get("page", "1") or 1))
    per_page = 50
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        scoped = own_conversations(who, view.filters)
        sql = conversations_sql(engine, Query(("conversations",), view.start, view.end,
                                              filters=scoped))  # fmt: skip
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
        {"view": view, "who": who, "rows": rows, "total": total, "page": page, "pages": pages},
    )


@router.get("/conversations/{conversation_id}")
def transcript(conversation_id: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        con = engine.store.con
        cursor = con.execute(
            f"SELECT * FROM {engine.facts_table} WHERE conversation_id = ?", [conversation_id]
        )
        names = [d[0] for d in cursor.description]
        found = cursor.fetchall()
        facts = dict(zip(names, found[0], strict=True)) if found else None
        if facts is None or (who.role == "agent" and who.agent_id not in (facts["agents"] or [])):
            raise ApiError(404, f"no conversation {conversation_id!r} that you can read")
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


def install(app: Any) -> None:
    """Pages redirect to the sign-in form instead of answering 401."""

    async def sign_in(request: Request, _: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)

    app.add_exception_handler(SignIn, sign_in)
