"""The goals page: every metric with a target (workspace setting `goals`), its value in the
period and whether it is met; admins add, change and remove targets, with the benchmark band
of metrics.md shown as the default to start from."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chatlens.errors import ChatlensError, did_you_mean
from chatlens.metrics import METRICS, Query
from chatlens.metrics.targets import band_of, usable_goals
from chatlens.reports.format import human, target_text
from chatlens.server.auth import PageAdmin, Principal
from chatlens.server.context import Server
from chatlens.server.pages.kit import Viewer, read_view, render
from chatlens.server.routes import Ctx, open_workspace, reader_of
from chatlens.store.settings import Settings

router = APIRouter(include_in_schema=False)


@router.get("/goals")
def goals_page(request: Request, who: Viewer, ctx: Ctx) -> Response:
    return _page(request, who, ctx)


def _page(request: Request, who: Principal, ctx: Server, error: str | None = None) -> Response:
    reader = reader_of(ctx, who)
    settings = reader.settings
    view = read_view(request, settings.timezone, who.workspace)
    view.options = reader.filter_choices()
    # a goal stored before goals were validated is listed (to be removed), not computed
    goals, ignored = usable_goals(settings.goals)
    row: dict[str, Any] = {}
    if goals:
        query = Query(metrics=tuple(goals), start=view.start, end=view.end, filters=view.filters)
        row = reader.figures(query).rows[0]
    items = []
    for mid, goal in goals.items():
        unit = METRICS[mid].unit
        result = row.get(f"{mid}__goal") or {}
        progress = result.get("progress")
        items.append(
            {
                "id": mid,
                "label": METRICS[mid].label,
                "target": target_text(goal, unit),
                "value": human(row.get(mid), unit),
                "status": result.get("status"),
                "progress": None if progress is None else round(progress * 100),
                "band": row.get(f"{mid}__band"),
            }
        )
    broken = [
        {"id": str(mid), "label": METRICS[mid].label if mid in METRICS else str(mid), "note": note}
        for mid, note in ignored.items()
    ]
    defaults = {}
    for m in METRICS.values():
        band = band_of(m.id, settings.industry)
        if band is not None:
            side, at = next(iter(band.default_goal(m.increase_is_bad).items()))
            # rates are entered as percentages (see save_goal)
            shown = round(at * 100, 6) if m.unit == "rate" else at
            defaults[m.id] = {"band": band.text, "side": side, "value": f"{shown:g}"}
    response = render(
        request,
        ctx,
        "goals.html",
        {
            "view": view,
            "who": who,
            "items": items,
            "broken": broken,
            "metrics": list(METRICS.values()),
            "defaults": defaults,
            "industry": settings.industry,
            "admin": who.role == "admin",
            "error": error,
        },
    )
    if error:
        response.status_code = 400
    return response


@router.post("/goals")
async def save_goal(request: Request, who: PageAdmin, ctx: Ctx) -> Response:
    form = await request.form()
    metric = str(form.get("metric", ""))
    remove = bool(form.get("remove"))
    target: dict[str, Any] = {}
    if not remove:
        if metric not in METRICS:
            hint = did_you_mean(metric, METRICS)
            return _page(request, who, ctx, error=f"unknown metric {metric!r}{hint}")
        for bound in ("min", "max"):
            raw = str(form.get(bound, "")).strip()
            if raw:
                try:
                    number = float(raw)
                except ValueError:
                    return _page(
                        request, who, ctx, error=f"goals.{metric}.{bound}: {raw!r} is not a number"
                    )
                # rates are entered as percentages, stored as fractions like the metrics
                target[bound] = number / 100 if METRICS[metric].unit == "rate" else number
        if not target:
            return _page(
                request, who, ctx, error=f"goals.{metric}: give a minimum, a maximum or both"
            )

    def goals_after(settings: Settings) -> dict[str, Any]:
        # as stored now, not as an engine read them earlier; a goal stored before goals
        # were validated (shown as ignored) is dropped by any change, the one check below
        # (chatlens.metrics.targets.check_goals, via change_settings) refuses a bad target
        goals: dict[str, Any] = usable_goals(settings.goals)[0]
        if remove:
            goals.pop(metric, None)
        else:
            goals[metric] = target
        return {"goals": goals}

    try:
        open_workspace(ctx, who).change_settings(update=goals_after)
    except ChatlensError as exc:
        return _page(request, who, ctx, error=str(exc))
    # back to the page in the period and filters it was showing
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/goals{query}", status_code=303)
