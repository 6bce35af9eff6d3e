"""The team view of the agent performance report (metrics.md section 6): every team against
the others (/teams), and one team's report with its agents ranked (/teams/{team}); each as a
page, JSON and CSV. Rates rank by their 95% Wilson lower bound.

Agent seats see only their own report (/agents/<own id>): a team's figures and its ranking
name other agents, so team pages answer them 403.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chatlens.metrics import METRICS, Query, Result
from chatlens.reading import Reader
from chatlens.reports.agent_report import (
    DEFAULT_RANK,
    RANKABLE,
    REPORT,
    csv_text,
    metric_meta,
    ranked,
    series_chart,
)
from chatlens.server.auth import Principal
from chatlens.server.context import Server
from chatlens.server.errors import ApiError
from chatlens.server.pages.agents import csv_response, report_json
from chatlens.server.pages.kit import View, Viewer, read_view, render, tile_cards
from chatlens.server.routes import Ctx, reader_of

router = APIRouter(include_in_schema=False)


def _rank_of(request: Request) -> str:
    rank = request.query_params.get("rank", DEFAULT_RANK)
    if rank not in RANKABLE:
        raise ApiError(400, f"rank by one of {', '.join(RANKABLE)}")
    return rank


def _view(request: Request, who: Principal, ctx: Server) -> tuple[Reader, View]:
    reader = reader_of(ctx, who)
    options = reader.team_filter_choices()  # agents are refused team reports
    view = read_view(request, reader.timezone, who.workspace)
    view.options = options
    return reader, view


def _queries(view: View, rank: str, **kw: Any) -> list[Query]:
    """Totals (ranked: with Wilson bounds) and the series by the grain."""
    ids = tuple(dict.fromkeys((*REPORT, rank)))
    totals = Query(
        metrics=ids, start=view.start, end=view.end, bounds=True, compare=view.compare, **kw
    )
    series = Query(metrics=REPORT, start=view.start, end=view.end, grain=view.grain, **kw)
    return [totals, series]


def _team_report(
    request: Request, who: Principal, ctx: Server, team: str
) -> tuple[View, str, Result, Result, list[dict[str, Any]]]:
    reader, view = _view(request, who, ctx)
    rank = _rank_of(request)
    filters = {**view.filters, "team": (team,)}
    ids = tuple(dict.fromkeys((*REPORT, rank)))
    agents = Query(
        metrics=ids,
        start=view.start,
        end=view.end,
        dimensions=("agent_id",),
        filters=filters,
        bounds=True,
    )
    totals, series, by_agent = reader.figures_many([*_queries(view, rank, filters=filters), agents])
    rows = ranked([r for r in by_agent.rows if r["agent_id"] is not None], rank)
    return view, rank, totals, series, rows


def _teams(
    request: Request, who: Principal, ctx: Server
) -> tuple[View, str, list[dict[str, Any]], Result]:
    reader, view = _view(request, who, ctx)
    rank = _rank_of(request)
    totals, series = reader.figures_many(
        _queries(view, rank, dimensions=("team",), filters=view.filters)
    )
    rows = ranked([r for r in totals.rows if r["team"] is not None], rank)
    return view, rank, rows, series


def _ranking_json(rows: list[dict[str, Any]], key: str, rank: str) -> list[dict[str, Any]]:
    """Each row's key, rank, what it was ranked by (value and Wilson bound) and figures."""
    bound = f"{rank}__lower"
    out = []
    for r in rows:
        head = {key: r[key], "rank": r["rank"], rank: r.get(rank)}
        if bound in r:
            head[bound] = r[bound]
        out.append({**head, **{m: r.get(m) for m in REPORT}})
    return out


def _ranking(rank: str) -> dict[str, Any]:
    """What a ranking form and table show: the metric ranked by and the choices."""
    metric = METRICS[rank]
    return {
        "rank": rank,
        "rank_label": metric.label,
        "rank_unit": metric.unit,
        "rankable": _columns(RANKABLE),
    }


def _columns(ids: tuple[str, ...]) -> list[tuple[str, str, str]]:
    return [(m, METRICS[m].label, METRICS[m].unit) for m in ids]


@router.get("/teams")
def teams_page(request: Request, who: Viewer, ctx: Ctx) -> Response:
    view, rank, rows, series = _teams(request, who, ctx)
    charts = {
        **series_chart(series.rows, view.grain, by="team"),
        "metrics": metric_meta(),
        "grain": view.grain,
    }
    return render(
        request,
        ctx,
        "teams.html",
        {
            "view": view,
            "who": who,
            "rows": rows,
            **_ranking(rank),
            "columns": _columns(REPORT),
            "charts": charts,
            "csv": view.url("/teams/report.csv", every=view.grain),
            "json": view.url("/teams/report.json", every=view.grain, rank=rank),
        },
    )


@router.get("/teams/report.json")
def teams_json(request: Request, who: Viewer, ctx: Ctx) -> dict[str, Any]:
    view, rank, rows, series = _teams(request, who, ctx)
    return {
        "from": view.start,
        "to": view.end,
        "grain": view.grain,
        "rank": rank,
        "metrics": metric_meta(),
        "teams": _ranking_json(rows, "team", rank),
        "series": [
            {"bucket": r["bucket"], "team": r["team"], **{m: r.get(m) for m in REPORT}}
            for r in series.rows
            if r["team"] is not None
        ],
    }


@router.get("/teams/report.csv")
def teams_csv(request: Request, who: Viewer, ctx: Ctx) -> Response:
    view, _, _, series = _teams(request, who, ctx)
    rows = sorted(
        (r for r in series.rows if r["team"] is not None), key=lambda r: (r["team"], r["bucket"])
    )
    return csv_response(csv_text(rows, ("team", "bucket")), f"teams-{view.start}.csv")


# registered before the team page: a team name may contain '/' (the `path` converter)
@router.get("/teams/{team:anyid}/report.json")
def team_json(team: str, request: Request, who: Viewer, ctx: Ctx) -> dict[str, Any]:
    view, rank, totals, series, agents = _team_report(request, who, ctx, team)
    return report_json(
        view, totals, series, team=team, rank=rank, agents=_ranking_json(agents, "agent_id", rank)
    )


@router.get("/teams/{team:anyid}/report.csv")
def team_csv(team: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    view, _, _, series, _ = _team_report(request, who, ctx, team)
    return csv_response(csv_text(series.rows, ("bucket",)), f"team-{team}-{view.start}.csv")


@router.get("/teams/{team:anyid}")
def team_page(team: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    view, rank, totals, series, agents = _team_report(request, who, ctx, team)
    charts = {
        **series_chart(series.rows, view.grain),
        "metrics": metric_meta(),
        "drill": view.url("/conversations") + "&" + urlencode({"filter": f"team={team}"}),
        "grain": view.grain,
    }
    return render(
        request,
        ctx,
        "team.html",
        {
            "view": view,
            "who": who,
            "team": team,
            **_ranking(rank),
            "cards": tile_cards(totals.rows[0], list(REPORT)),
            "agents": agents,
            "notes": totals.meta["notes"],
            "rows": series.rows,
            "columns": _columns(REPORT),
            "charts": charts,
            "csv": view.url(f"/teams/{quote(team, safe='')}/report.csv", every=view.grain),
            "json": view.url(
                f"/teams/{quote(team, safe='')}/report.json", every=view.grain, rank=rank
            ),
        },
    )
