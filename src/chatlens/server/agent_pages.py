"""The agents table (ranked fairly) and each agent's performance report (metrics.md
section 6): figures, series, CSV, printable."""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chatlens.metrics import METRICS, Query
from chatlens.reports.format import write_csv
from chatlens.server.access import scope_query
from chatlens.server.auth import Principal
from chatlens.server.context import Server
from chatlens.server.errors import ApiError
from chatlens.server.page_kit import (
    Ctx,
    Viewer,
    bucket_label,
    filter_choices,
    read_view,
    render,
    tile_cards,
)
from chatlens.server.reads import open_workspace

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
    workspace = open_workspace(ctx, who)
    with workspace.engine() as engine:
        view = read_view(request, engine.settings.timezone, who.workspace)
        view.options = filter_choices(engine, who)
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
        {"view": view, "who": who, "rows": rows, "columns": columns, "rank": rank},
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
        view.options = filter_choices(engine, who)
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
            "buckets": [bucket_label(r["bucket"], view.grain) for r in series.rows],
            "lines": {m: [r[m] for r in series.rows] for m in ("handled_conversations",)},
            "labels": {"handled_conversations": METRICS["handled_conversations"].label},
        },
        "drill": view.url("/conversations") + "&" + urlencode({"filter": f"agent_id={agent_id}"}),
        "grain": view.grain,
    }
    columns = [(m, METRICS[m].label, METRICS[m].unit) for m in ids]
    return render(
        request,
        ctx,
        "agent.html",
        {"view": view, "who": who, "agent": agent_id, "cards": tile_cards(totals.rows[0], ids),
         "rows": series.rows, "columns": columns, "charts": charts,
         "csv": view.url(f"/agents/{agent_id}/report.csv", every=view.grain)},
    )  # fmt: skip


@router.get("/agents/{agent_id}/report.csv")
def agent_csv(agent_id: str, request: Request, who: Viewer, ctx: Ctx) -> Response:
    _, _, series = _agent_report(request, who, ctx, agent_id)
    buffer = io.StringIO()
    lines = ([row["bucket"], *(row[m] for m in AGENT_REPORT)] for row in series.rows)
    write_csv(buffer, ["bucket", *AGENT_REPORT], lines)
    # the agent id is untrusted: only safe characters in a header
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"agent-{agent_id}-{series.meta['from'][:10]}.csv")
    return Response(
        buffer.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
