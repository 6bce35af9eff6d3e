"""The goals page: every metric with a target (workspace setting `goals`), its value in the
period and whether it is met; admins add, change and remove targets, with the benchmark band
of metrics.md shown as the default to start from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chatlens.events import ChatlensError
from chatlens.metrics import METRICS, Query
from chatlens.reports.format import human
from chatlens.server.access import scope_query
from chatlens.server.auth import PageAdmin, Principal
from chatlens.server.context import Server
from chatlens.server.page_kit import Ctx, Viewer, filter_choices, read_view, render
from chatlens.server.reads import open_workspace
from chatlens.store.settings import Settings

router = APIRouter(include_in_schema=False)


@router.get("/goals")
def goals_page(request: Request, who: Viewer, ctx: Ctx) -> Response:
    return _page(request, who, ctx)


def _page(request: Request, who: Principal, ctx: Server, error: str | None = None) -> Response:
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = filter_choices(engine, who)
        goals = {k: v for k, v in engine.settings.goals.items() if k in METRICS}
        row: dict[str, Any] = {}
        if goals:
            query = Query(tuple(goals), view.start, view.end, filters=view.filters)
            row = engine.run(scope_query(who, query)).rows[0]
    items = []
    for mid, goal in goals.items():
        unit = METRICS[mid].unit
        target = " and ".join(
            f"{'at least' if k == 'min' else 'at most'} {human(goal[k], unit)}"
            for k in ("min", "max")
            if k in goal
        )
        items.append(
            {"id": mid, "label": METRICS[mid].label, "target": target,
             "value": human(row.get(mid), unit), "status": row.get(f"{mid}__goal")}
        )  # fmt: skip
    bands = {
        m.id: f"typical {m.band.typical}" + (f", exceptional {m.band.exceptional}"
                                             if m.band.exceptional else "")
        for m in METRICS.values()
        if m.band is not None
    }  # fmt: skip
    response = render(
        request,
        ctx,
        "goals.html",
        {"view": view, "who": who, "items": items, "metrics": list(METRICS.values()),
         "bands": bands, "admin": who.role == "admin", "error": error},
    )  # fmt: skip
    if error:
        response.status_code = 400
    return response


@router.post("/goals")
async def save_goal(request: Request, who: PageAdmin, ctx: Ctx) -> Response:
    form = await request.form()
    metric = str(form.get("metric", ""))
    if metric not in METRICS:
        return _page(request, who, ctx, error=f"unknown metric {metric!r}")
    remove = bool(form.get("remove"))
    target: dict[str, float] = {}
    if not remove:
        for bound in ("min", "max"):
            raw = str(form.get(bound, "")).strip()
            if raw:
                try:
                    number = float(raw)
                except ValueError:
                    return _page(request, who, ctx, error=f"{bound}: {raw!r} is not a number")
                # rates are entered as percentages, stored as fractions like the metrics
                target[bound] = number / 100 if METRICS[metric].unit == "rate" else number
        if not target:
            return _page(request, who, ctx, error="give a minimum, a maximum or both")

    def goals_after(settings: Settings) -> dict[str, Any]:
        goals = dict(settings.goals)  # as stored now, not as an engine read them earlier
        if remove:
            goals.pop(metric, None)
        else:
            goals[metric] = target
        return {"goals": goals}

    try:
        open_workspace(ctx, who).change_settings(update=goals_after)
    except ChatlensError as exc:
        return _page(request, who, ctx, error=str(exc))
    return RedirectResponse("/goals", status_code=303)
