"""Dashboards each user builds: widgets (any catalogue metric as a tile, line, bar, table,
heat map or gauge against its goal, with a dimension and filters) in an order and a size,
saved on the server. Managers and admins can share one with the whole workspace. Widget data
comes from `/api/v1/query`, so every permission rule applies to it as well."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import or_, select
from sqlalchemy.orm import Session as DbSession

from chatlens.app.models import Dashboard, User
from chatlens.app.models import Workspace as WorkspaceRow
from chatlens.metrics import DIMENSIONS, METRICS
from chatlens.server.auth import Principal, Reader
from chatlens.server.errors import ApiError
from chatlens.server.page_kit import Ctx, Viewer, filter_choices, read_view, render
from chatlens.server.reads import json_response, open_workspace

router = APIRouter()
CHARTS = ("tile", "line", "bar", "table", "heatmap", "gauge")


class Widget(BaseModel):
    model_config = ConfigDict(extra="forbid")

    metric: str
    chart: Literal["tile", "line", "bar", "table", "heatmap", "gauge"] = "tile"
    dimension: str | None = None
    filters: dict[str, list[str]] = Field(default_factory=dict)
    size: Annotated[int, Field(ge=1, le=3)] = 1

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value not in METRICS:
            raise ValueError(f"unknown metric {value!r} (GET /api/v1/metrics lists them)")
        return value

    @field_validator("dimension")
    @classmethod
    def _known_dimension(cls, value: str | None) -> str | None:
        if value is not None and value not in DIMENSIONS and not value.startswith("attrs."):
            raise ValueError(f"unknown dimension {value!r}; one of {', '.join(DIMENSIONS)}")
        return value


class DashboardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    shared: bool = False
    widgets: Annotated[list[Widget], Field(max_length=40)] = Field(default_factory=list)


def _person(db: DbSession, who: Principal) -> tuple[User, WorkspaceRow]:
    if not who.is_person:
        raise ApiError(403, "dashboards belong to people: sign in")
    user = db.scalar(select(User).where(User.email == who.email))
    ws = db.scalar(select(WorkspaceRow).where(WorkspaceRow.name == who.workspace))
    assert user is not None and ws is not None
    return user, ws


def _visible(db: DbSession, who: Principal) -> list[Dashboard]:
    user, ws = _person(db, who)
    query = select(Dashboard).where(
        Dashboard.workspace_id == ws.id,
        or_(Dashboard.owner_id == user.id, Dashboard.shared.is_(True)),
    )
    return list(db.scalars(query.order_by(Dashboard.name)))


def _get(db: DbSession, who: Principal, dashboard_id: int, *, edit: bool = False) -> Dashboard:
    user, _ = _person(db, who)
    found = next((d for d in _visible(db, who) if d.id == dashboard_id), None)
    if found is None:
        raise ApiError(404, f"no dashboard {dashboard_id} that you can see")
    if edit and found.owner_id != user.id:
        raise ApiError(403, "only its owner can change a dashboard")
    return found


def _out(d: Dashboard) -> dict[str, Any]:
    return {"id": d.id, "name": d.name, "shared": d.shared, "owner": d.owner.email,
            "widgets": orjson.loads(d.widgets), "updated_at": d.updated_at.isoformat()}  # fmt: skip


def _check_share(who: Principal, body: DashboardIn) -> None:
    if body.shared and who.role not in ("admin", "manager"):
        raise ApiError(403, "only managers and admins share dashboards")


@router.get("/api/v1/dashboards", summary="Your dashboards and the shared ones")
def list_dashboards(who: Reader, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        return json_response({"dashboards": [_out(d) for d in _visible(db, who)]})


@router.post("/api/v1/dashboards", status_code=201, summary="Create a dashboard")
def create_dashboard(body: DashboardIn, who: Reader, ctx: Ctx) -> Response:
    _check_share(who, body)
    with ctx.sessions() as db:
        user, ws = _person(db, who)
        widgets = orjson.dumps([w.model_dump() for w in body.widgets]).decode()
        made = Dashboard(workspace_id=ws.id, owner_id=user.id, name=body.name,
                         shared=body.shared, widgets=widgets)  # fmt: skip
        db.add(made)
        db.commit()
        return json_response(_out(made), 201)


@router.get("/api/v1/dashboards/{dashboard_id}", summary="One dashboard")
def get_dashboard(dashboard_id: int, who: Reader, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        return json_response(_out(_get(db, who, dashboard_id)))


@router.put("/api/v1/dashboards/{dashboard_id}", summary="Save a dashboard (its owner)")
def save_dashboard(dashboard_id: int, body: DashboardIn, who: Reader, ctx: Ctx) -> Response:
    _check_share(who, body)
    with ctx.sessions() as db:
        found = _get(db, who, dashboard_id, edit=True)
        found.name, found.shared = body.name, body.shared
        found.widgets = orjson.dumps([w.model_dump() for w in body.widgets]).decode()
        db.commit()
        return json_response(_out(found))


@router.delete("/api/v1/dashboards/{dashboard_id}", summary="Delete a dashboard (its owner)")
def delete_dashboard(dashboard_id: int, who: Reader, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        db.delete(_get(db, who, dashboard_id, edit=True))
        db.commit()
        return json_response({"deleted": dashboard_id})


@router.get("/dashboards", include_in_schema=False)
def dashboards_page(request: Request, who: Viewer, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        mine = [_out(d) for d in _visible(db, who)]
    return render(request, ctx, "dashboards.html", {"who": who, "dashboards": mine})


@router.post("/dashboards", include_in_schema=False)
async def new_dashboard(request: Request, who: Viewer, ctx: Ctx) -> Response:
    name = str((await request.form()).get("name", "")).strip() or "My dashboard"
    starter = [Widget(metric="conversations"), Widget(metric="conversations", chart="line",
               size=2)]  # fmt: skip
    made = create_dashboard(DashboardIn(name=name[:200], widgets=starter), who, ctx)
    return RedirectResponse(f"/dashboards/{orjson.loads(made.body)['id']}", status_code=303)


@router.get("/dashboards/{dashboard_id}", include_in_schema=False)
def dashboard_page(dashboard_id: int, request: Request, who: Viewer, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        board = _out(_get(db, who, dashboard_id))
    with open_workspace(ctx, who).engine() as engine:
        goals = engine.settings.goals
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = filter_choices(engine.store.con, who)
    catalogue = {m.id: {"label": m.label, "unit": m.unit, "bad": m.increase_is_bad,
                        "dimensions": sorted(m.dimensions)} for m in METRICS.values()}  # fmt: skip
    page = {"board": board, "catalogue": catalogue, "goals": goals, "charts": CHARTS,
            "dimensions": list(DIMENSIONS), "editable": board["owner"] == who.email,
            "period": {"from": view.start, "to": view.end, "every": view.grain},
            "filters": {k: list(v) for k, v in view.filters.items()},
            "drill": view.url("/conversations")}  # fmt: skip
    return render(request, ctx, "dashboard.html",
                  {"who": who, "page": page, "board": board, "view": view})  # fmt: skip
