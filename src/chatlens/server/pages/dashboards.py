"""Dashboards each user builds: widgets (any catalogue metric as a tile, line, bar, table,
heat map or gauge against its goal, with a dimension and filters) in an order and a size,
saved on the server. A manager shares one with their team (the seats of that team see it),
an admin with any team or the whole workspace. Widget data comes from `/api/v1/query`, so
every permission rule applies to it as well: sharing a dashboard shares its layout, never
figures its viewers may not read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session as DbSession

from chatlens.app.models import Dashboard, Seat, User
from chatlens.app.models import Workspace as WorkspaceRow
from chatlens.errors import did_you_mean
from chatlens.metrics import DIMENSIONS, METRICS
from chatlens.metrics.model import CONVERSATION_DIMENSIONS
from chatlens.metrics.targets import usable_goals
from chatlens.reports.drill import countable
from chatlens.server.auth import PagePerson, Person, Principal
from chatlens.server.errors import ApiError
from chatlens.server.pages.kit import read_view, render
from chatlens.server.routes import Ctx, json_response, reader_of

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
            hint = did_you_mean(value, METRICS)
            raise ValueError(f"unknown metric {value!r}{hint} (GET /api/v1/metrics lists them)")
        return value

    @field_validator("dimension")
    @classmethod
    def _known_dimension(cls, value: str | None) -> str | None:
        if value is not None and value not in DIMENSIONS and not value.startswith("attrs."):
            hint = did_you_mean(value, DIMENSIONS)
            raise ValueError(f"unknown dimension {value!r}{hint}; one of {', '.join(DIMENSIONS)}")
        return value


class DashboardIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)]
    shared: bool = False
    """Shared with the whole workspace (admins)."""
    team: Annotated[str | None, Field(min_length=1, max_length=256)] = None
    """Shared with the seats of this team (a manager: their own team; an admin: any)."""
    widgets: Annotated[list[Widget], Field(max_length=40)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_audience(self) -> DashboardIn:
        if self.shared and self.team is not None:
            raise ValueError("share with the workspace (shared) or with one team (team), not both")
        return self


def _person(db: DbSession, who: Principal) -> tuple[User, WorkspaceRow]:
    if not who.is_person:
        raise ApiError(403, "dashboards belong to people: sign in")
    user = db.scalar(select(User).where(User.email == who.email))
    ws = db.scalar(select(WorkspaceRow).where(WorkspaceRow.name == who.workspace))
    assert user is not None and ws is not None
    return user, ws


def _visible(db: DbSession, who: Principal) -> list[Dashboard]:
    """Your own, the workspace's shared ones, and those shared with your team (an admin sees
    every team's, to look after them)."""
    user, ws = _person(db, who)
    team = Dashboard.team.is_not(None) if who.role == "admin" else Dashboard.team == who.team
    query = select(Dashboard).where(
        Dashboard.workspace_id == ws.id,
        or_(
            Dashboard.owner_id == user.id,
            Dashboard.shared.is_(True),
            and_(Dashboard.team.is_not(None), team),
        ),
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
    return {
        "id": d.id,
        "name": d.name,
        "shared": d.shared,
        "team": d.team,
        "owner": d.owner.email,
        "widgets": orjson.loads(d.widgets),
        "updated_at": d.updated_at.isoformat(),
    }


def _check_share(who: Principal, body: DashboardIn, before: Dashboard | None = None) -> None:
    """Who may share with whom; keeping a dashboard's audience as it was is always allowed
    to its owner (a manager's workspace-wide share made before team sharing existed)."""
    if before is not None and (body.shared, body.team) == (before.shared, before.team):
        return
    if not body.shared and body.team is None:
        return
    if who.role not in ("admin", "manager"):
        raise ApiError(403, "only managers and admins share dashboards")
    if who.role == "admin":
        return
    if body.shared:
        raise ApiError(
            403,
            "only admins share a dashboard with the whole workspace; "
            'a manager shares with their team ("team": "<your team>")',
        )
    if who.team is None:
        raise ApiError(
            403, "your seat has no team to share with: an admin sets it (Settings, Users and seats)"
        )
    if body.team != who.team:
        raise ApiError(403, f"a manager shares only with their own team ({who.team!r})")


def _teams(db: DbSession, workspace_id: int) -> list[str]:
    found = select(Seat.team).where(Seat.workspace_id == workspace_id, Seat.team.is_not(None))
    return sorted({t for t in db.scalars(found.distinct()) if t})


def share_options(who: Principal, board: dict[str, Any], teams: list[str]) -> list[list[str]]:
    """[value, label] pairs of the page's "Share with" menu: "", "workspace" or "team:NAME"."""
    options = [["", "only me"]]
    if who.role == "admin" or board["shared"]:
        options.append(["workspace", "the whole workspace"])
    offered = teams if who.role == "admin" else [who.team] if who.team else []
    if board["team"] and board["team"] not in offered:
        offered = [*offered, board["team"]]
    options += [[f"team:{t}", f"team {t}" + (" (yours)" if t == who.team else "")] for t in offered]
    return options


@router.get("/api/v1/dashboards", summary="Your dashboards and the shared ones")
def list_dashboards(who: Person, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        return json_response({"dashboards": [_out(d) for d in _visible(db, who)]})


@router.post("/api/v1/dashboards", status_code=201, summary="Create a dashboard")
def create_dashboard(body: DashboardIn, who: Person, ctx: Ctx) -> Response:
    _check_share(who, body)
    with ctx.sessions() as db:
        user, ws = _person(db, who)
        widgets = orjson.dumps([w.model_dump() for w in body.widgets]).decode()
        made = Dashboard(
            workspace_id=ws.id,
            owner_id=user.id,
            name=body.name,
            shared=body.shared,
            team=body.team,
            widgets=widgets,
        )
        db.add(made)
        db.commit()
        return json_response(_out(made), 201)


@router.get("/api/v1/dashboards/{dashboard_id}", summary="One dashboard")
def get_dashboard(dashboard_id: int, who: Person, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        return json_response(_out(_get(db, who, dashboard_id)))


@router.put("/api/v1/dashboards/{dashboard_id}", summary="Save a dashboard (its owner)")
def save_dashboard(dashboard_id: int, body: DashboardIn, who: Person, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        found = _get(db, who, dashboard_id, edit=True)
        _check_share(who, body, found)
        found.name, found.shared, found.team = body.name, body.shared, body.team
        found.widgets = orjson.dumps([w.model_dump() for w in body.widgets]).decode()
        db.commit()
        return json_response(_out(found))


@router.delete("/api/v1/dashboards/{dashboard_id}", summary="Delete a dashboard (its owner)")
def delete_dashboard(dashboard_id: int, who: Person, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        db.delete(_get(db, who, dashboard_id, edit=True))
        db.commit()
        return json_response({"deleted": dashboard_id})


@router.get("/dashboards", include_in_schema=False)
def dashboards_page(request: Request, who: PagePerson, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        mine = [_out(d) for d in _visible(db, who)]
    return render(request, ctx, "dashboards.html", {"who": who, "dashboards": mine})


@router.post("/dashboards", include_in_schema=False)
async def new_dashboard(request: Request, who: PagePerson, ctx: Ctx) -> Response:
    name = str((await request.form()).get("name", "")).strip() or "My dashboard"
    starter = [Widget(metric="conversations"), Widget(metric="conversations", chart="line", size=2)]
    made = create_dashboard(DashboardIn(name=name[:200], widgets=starter), who, ctx)
    return RedirectResponse(f"/dashboards/{orjson.loads(made.body)['id']}", status_code=303)


@router.get("/dashboards/{dashboard_id}", include_in_schema=False)
def dashboard_page(dashboard_id: int, request: Request, who: PagePerson, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        found = _get(db, who, dashboard_id)
        board = _out(found)
        share = share_options(who, board, _teams(db, found.workspace_id))
    reader = reader_of(ctx, who)
    settings = reader.settings
    goals = usable_goals(settings.goals)[0]  # one stored before validation: left out
    view = read_view(request, settings.timezone, who.workspace)
    view.options = reader.filter_choices()
    # `counts`: a click opens the conversations the metric counts (drill-down)
    catalogue = {
        m.id: {
            "label": m.label,
            "unit": m.unit,
            "bad": m.increase_is_bad,
            "dimensions": sorted(m.dimensions),
            "counts": countable(m.id) and m.id != "conversations",
        }
        for m in METRICS.values()
    }
    page = {
        "board": board,
        "catalogue": catalogue,
        "goals": goals,
        "charts": CHARTS,
        "dimensions": list(DIMENSIONS),
        "editable": board["owner"] == who.email,
        "period": {"from": view.start, "to": view.end, "every": view.grain},
        "filters": {k: list(v) for k, v in view.filters.items()},
        "drillable": list(CONVERSATION_DIMENSIONS),
    }
    current = "workspace" if board["shared"] else f"team:{board['team']}" if board["team"] else ""
    return render(
        request,
        ctx,
        "dashboard.html",
        {
            "who": who,
            "page": page,
            "board": board,
            "view": view,
            "share": share,
            "current_share": current,
        },
    )
