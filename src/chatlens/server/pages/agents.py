"""The agents table (ranked fairly) and each agent's performance report (metrics.md
section 6): figures, series, CSV, printable."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chatlens.metrics import METRICS, Query, Result
from chatlens.reports.agent_report import REPORT, csv_text, metric_meta, series_chart
from chatlens.server.auth import Principal
from chatlens.server.context import Server
from chatlens.server.errors import ApiError
from chatlens.server.pages.kit import View, Viewer, read_view, render, tile_cards
from chatlens.server.routes import Ctx, attachment, reader_of

router = APIRouter(include_in_schema=False)


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
    reader = reader_of(ctx, who)
    view = read_view(request, reader.timezone, who.workspace)
    view.options = reader.filter_choices()
    query = Query(
        metrics=AGENT_COLUMNS,
        start=view.start,
        end=view.end,
        dimensions=("agent_id",),
        filters=view.filters,
        bounds=True,
    )
    result = reader.figures(query)
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
        {"view": view, "who": who, "rows": rows, "columns": columns, "rank": rank},
    )


def _agent_report(request: Request, who: Principal, ctx: Server, agent_id: str) -> Any:
    """The view, the period's totals and the series by the chosen grain of one agent."""
    reader = reader_of(ctx, who)
    view = read_view(request, reader.timezone, who.workspace)
    view.options = reader.filter_choices()
    filters = {**view.filters, "agent_id": (agent_id,)}
    totals, series = reader.figures_many(
        [
            Query(
                metrics=REPORT,
                start=view.start,
                end=view.end,
                filters=filters,
                compare=view.compare,
            ),
            Query(
                metrics=REPORT, start=view.start, end=view.end, grain=view.grain, filters=filters
            ),
        ]
    )
    return view, totals, series


def report_json(view: View, totals: Result, series: Result, **extra: Any) -> dict[str, Any]:
    """A report as JSON: its period, the metrics (label, unit), the totals and the series."""
    return {
        "from": view.start,
        "to": view.end,
        "grain": view.grain,
        "metrics": metric_meta(),
        "totals": {m: totals.rows[0].get(m) for m in REPORT},
        "series": [{"bucket": r["bucket"], **{m: r.get(m) for m in REPORT}} for r in series.rows],
        **extra,
    }


def csv_response(text: str, name: str) -> Response:
    return Response(text, media_type="text/csv", headers={"Content-Disposition": attachment(name)})


# registered before the report page: an agent id may contain '/' (the `path` converter), and
# "/agents/a/b/report.csv" is the CSV of agent "a/b", not the page of "a/b/report.csv"
@router.get("/agents/{agent_id:anyid}/report.json")
def agent_json(agent_id: str, request: Request, who: Viewer, ctx: Ctx) -> dict[str, Any]:
    view, totals, series = _agent_report(request, who, ctx, agent_id)
    return report_json(view, totals, series, agent_id=agent_id)


@router.get("/agents/{agent_id:anyid}/report.csv")
def agent_csv(agent_id: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    view, _, series = _agent_report(request, who, ctx, agent_id)
    return csv_response(csv_text(series.rows, ("bucket",)), f"agent-{agent_id}-{view.start}.csv")


@router.get("/agents/{agent_id:anyid}")
def agent_page(agent_id: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    view, totals, series = _agent_report(request, who, ctx, agent_id)
    charts = {
        **series_chart(series.rows, view.grain),
        "metrics": metric_meta(),
        "drill": view.url("/conversations") + "&" + urlencode({"filter": f"agent_id={agent_id}"}),
        "grain": view.grain,
    }
    columns = [(m, METRICS[m].label, METRICS[m].unit) for m in REPORT]
    return render(
        request,
        ctx,
        "agent.html",
        {
            "view": view,
            "who": who,
            "agent": agent_id,
            "cards": tile_cards(totals.rows[0], list(REPORT)),
            "notes": totals.meta["notes"],
            "rows": series.rows,
            "columns": columns,
            "charts": charts,
            "csv": view.url(f"/agents/{quote(agent_id, safe='')}/report.csv", every=view.grain),
            "json": view.url(f"/agents/{quote(agent_id, safe='')}/report.json", every=view.grain),
        },
    )
