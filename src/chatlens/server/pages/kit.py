"""What the dashboard pages share: templates, the signed-in viewer, the URL controls,
rendering, tiles."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates

from chatlens.app import service
from chatlens.metrics import GRAINS, METRICS
from chatlens.metrics.dimensions import MENU
from chatlens.metrics.periods import page_period
from chatlens.reports.drill import Drill, read_drill
from chatlens.reports.format import human
from chatlens.server.auth import SERVED_WORKSPACE, SESSION_COOKIE, PageReader, session_token
from chatlens.server.context import Server
from chatlens.server.errors import ApiError
from chatlens.server.routes import parse_filters

templates = Jinja2Templates(directory=Path(__file__).parents[2] / "web" / "templates")
templates.env.filters["human"] = human

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
FILTERS = MENU

templates.env.globals.update(presets=PRESETS, grains=GRAINS, filters=FILTERS)


Viewer = PageReader
"""A page's reader: what `/api/v1/query` would let them read (never an ingest key)."""


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
    drill: Drill = field(default_factory=Drill)
    """What a click narrowed a conversation list to (`counted`, `csat`)."""

    def url(self, path: str, **extra: Any) -> str:
        params: list[tuple[str, str]] = [("from", self.start), ("to", self.end)]
        params += [("filter", f"{k}={v}") for k, vs in self.filters.items() for v in vs]
        params += [(k, v) for k, v in self.drill.params().items() if k not in extra]
        params += [(k, str(v)) for k, v in extra.items() if v is not None]
        return f"{path}?{urlencode(params)}"


def read_view(request: Request, zone: str, workspace: str) -> View:
    q = request.query_params
    preset = q.get("range", "custom" if q.get("from") else "30d")
    if preset not in PRESETS:
        raise ApiError(400, f"unknown range {preset!r}; expected one of {', '.join(PRESETS)}")
    start, end = page_period(preset, q.get("from"), q.get("to"), zone)
    grain = q.get("every") or "day"
    if grain not in GRAINS:
        raise ApiError(400, f"unknown grain {grain!r}; expected one of {', '.join(GRAINS)}")
    filters = parse_filters([f for f in q.getlist("filter") if f.split("=", 1)[-1]])
    for name in FILTERS:
        if q.get(name):
            filters[name] = (q[name],)
    drill = read_drill(q.get("counted"), q.get("csat"))
    return View(preset, start, end, grain, q.get("compare") == "1", filters, workspace, drill=drill)


def render(request: Request, ctx: Server, name: str, context: dict[str, Any]) -> Response:
    """A page, with the session's CSRF token for its forms."""
    token = session_token(ctx, request.cookies.get(SESSION_COOKIE, ""))
    csrf = ""
    if token:
        with ctx.sessions() as db:
            session = service.find_session(db, token)
            csrf = session.csrf_token if session else ""
    lake = ctx.workspaces.lake_workspace(request.scope.get(SERVED_WORKSPACE))
    freshness = lake.freshness.text if lake is not None else None
    return templates.TemplateResponse(
        request, name, {**context, "csrf": csrf, "freshness": freshness}
    )


def change_text(row: dict[str, Any], mid: str) -> str | None:
    change = row.get(f"{mid}__change")
    if change is None:
        return None
    unit = METRICS[mid].unit
    if unit == "rate":
        return f"{change * 100:+.1f} pp"
    text = human(abs(change), unit)
    return ("+" if change >= 0 else "-") + text


VARIANTS = ("_median", "_p90")


def bucket_label(bucket: str, grain: str | None) -> str:
    """A time bucket as a chart shows it (and drill.js reads it back): the hour for hours
    ("2026-11-02T10:00"), else the day ("2026-11-02")."""
    return bucket[:16] if grain == "hour" else bucket[:10]


def tile_cards(row: dict[str, Any], ids: list[str]) -> list[dict[str, Any]]:
    """One tile per metric; a duration's median and p90 ride on its mean's tile."""
    cards = []
    for mid in ids:
        if mid.endswith(VARIANTS) and mid.rsplit("_", 1)[0] in ids:
            continue
        unit = METRICS[mid].unit
        extra = [
            f"{v.strip('_')} {human(row.get(mid + v), unit)}" for v in VARIANTS if mid + v in ids
        ]
        goal = row.get(f"{mid}__goal") or {}
        progress = goal.get("progress")
        cards.append(
            {
                "id": mid,
                "label": METRICS[mid].label,
                "description": METRICS[mid].description,
                "value": human(row.get(mid), unit),
                "extra": " · ".join(extra),
                "change": row.get(f"{mid}__change"),
                "change_text": change_text(row, mid),
                "bad": METRICS[mid].increase_is_bad,
                "goal": goal.get("status"),
                "goal_progress": None if progress is None else round(progress * 100),
                "band": row.get(f"{mid}__band"),
                "empty": row.get(mid) is None,
            }
        )
    return cards
