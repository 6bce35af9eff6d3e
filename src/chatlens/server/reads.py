"""The query API: the catalogue, figures (the KPI engine's query model as JSON), conversation
lists and transcripts for drill-down, and exports. Permissions are applied to every request
through `access`."""

from __future__ import annotations

import re
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import APIRouter, Depends
from fastapi import Query as Param
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask
from starlette.convertors import Convertor, register_url_convertor

from chatlens.metrics import DIMENSIONS, GRAINS, METRICS, Engine, Metric, Query
from chatlens.metrics.targets import bands_of
from chatlens.reports.drill import Drill
from chatlens.reports.export import EXPORT_FORMATS, conversations_sql, export_conversations
from chatlens.server.access import own_conversations, scope_query
from chatlens.server.auth import Principal, Reader
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError
from chatlens.server.runtime import Workspace
from chatlens.store.sql import run

router = APIRouter(prefix="/api/v1")
MAX_PAGE = 200
LAST_PAGE = 1_000_000_000
"""The highest page number asked for (past the last page answers no rows; far beyond any
store, and its offset stays within DuckDB's 64-bit OFFSET)."""


class AnyId(Convertor[str]):
    """A path parameter holding any id as sent: "/" and line breaks too (ids are untrusted
    text; `{id}` stops at "/", `{id:path}` at a line break)."""

    regex = r"[\s\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("anyid", AnyId())


def json_response(body: Any, status: int = 200) -> Response:
    return Response(
        orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS),
        status_code=status,
        media_type="application/json",
    )


def attachment(name: str) -> str:
    """A Content-Disposition for a download named `name` (RFC 6266): an ASCII stand-in for
    old clients and the exact name UTF-8 encoded, so any agent id or workspace name (CJK,
    quotes, CR/LF) makes a valid header."""
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def open_workspace(ctx: Server, who: Principal) -> Workspace:
    return ctx.workspaces.get(who.workspace, who.store)


Ctx = Annotated[Server, Depends(server)]


def metric_info(metric: Metric) -> dict[str, Any]:
    return {
        "id": metric.id,
        "label": metric.label,
        "description": metric.description,
        "unit": metric.unit,
        "section": metric.section,
        "increase_is_bad": metric.increase_is_bad,
        "dimensions": sorted(metric.dimensions)
        + (["attrs.<key>"] if metric.attrs_dimensions else []),
        "bands": [band.as_dict() for band in bands_of(metric.id)],
    }


@router.get("/metrics", summary="The metric catalogue (metrics.md ids)")
def metrics(who: Reader) -> Response:
    return json_response(
        {
            "metrics": [metric_info(m) for m in METRICS.values()],
            "dimensions": [*DIMENSIONS, "attrs.<key>"],
            "grains": list(GRAINS),
        }
    )


class QueryIn(BaseModel):
    """One report: metrics x period x grain x dimensions x filters (+ previous period)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    metrics: list[str] = Field(min_length=1, description="Metric ids (GET /api/v1/metrics).")
    start: str = Field(alias="from", description="First day (or date-time), workspace zone.")
    end: str = Field(alias="to", description="Last day (or date-time), inclusive.")
    every: str | None = Field(None, description="Grain: hour, day, week, month or year.")
    by: list[str] = Field(default_factory=list, description="Dimensions to split by.")
    filters: dict[str, list[str] | str] = Field(
        default_factory=dict, description="Dimension -> value or values (either matches)."
    )
    compare: bool = Field(False, description="Add the previous period of equal length.")
    bounds: bool = Field(
        False, description="Add `<id>__lower` to rates: the 95% Wilson lower bound (rankings)."
    )


def _filters(raw: dict[str, list[str] | str]) -> dict[str, tuple[str, ...]]:
    return {k: (v,) if isinstance(v, str) else tuple(v) for k, v in raw.items()}


@router.post("/query", summary="Figures: the KPI engine's query model as JSON")
def query(body: QueryIn, who: Reader, ctx: Ctx) -> Response:
    asked = Query(
        metrics=tuple(body.metrics),
        start=body.start,
        end=body.end,
        grain=body.every,
        dimensions=tuple(body.by),
        filters=_filters(body.filters),
        compare=body.compare,
        bounds=body.bounds,
    )
    scoped = scope_query(who, asked)
    with open_workspace(ctx, who).engine() as engine:
        result = engine.run(scoped)
    meta = {**result.meta, "workspace": who.workspace}
    if scoped.filters != asked.filters:
        meta["scoped_to_agent"] = who.agent_id
    return json_response({"meta": meta, "rows": result.rows})


def parse_filters(items: list[str]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ApiError(400, f"filter {item!r}: expected DIMENSION=VALUE")
        grouped[key].append(value)
    return {k: tuple(v) for k, v in grouped.items()}


FilterParam = Annotated[
    list[str], Param(alias="filter", description="DIMENSION=VALUE; repeat for more.")
]
FromParam = Annotated[str, Param(alias="from", description="First day, workspace zone.")]
ToParam = Annotated[str, Param(alias="to", description="Last day, inclusive.")]


def _list_query(who: Principal, start: str, end: str, filters: list[str]) -> Query:
    scoped = own_conversations(who, parse_filters(filters))
    return Query(metrics=("conversations",), start=start, end=end, filters=scoped)


CountedParam = Annotated[
    str | None,
    Param(description="Only the conversations this count metric counts (e.g. missed_chats)."),
]
CsatParam = Annotated[
    int | None, Param(ge=1, le=5, description="Only the conversations rated this CSAT score.")
]


@router.get("/conversations", summary="The conversations behind a figure (paginated)")
def conversations(
    who: Reader,
    ctx: Ctx,
    start: FromParam,
    end: ToParam,
    filters: FilterParam = [],  # noqa: B006 - FastAPI copies defaults per request
    page: Annotated[int, Param(ge=1, le=LAST_PAGE)] = 1,
    per_page: Annotated[int, Param(ge=1, le=MAX_PAGE)] = 50,
    counted: CountedParam = None,
    csat: CsatParam = None,
) -> Response:
    query = _list_query(who, start, end, filters)
    drill = Drill(counted, csat)
    with open_workspace(ctx, who).engine() as engine:
        sql = conversations_sql(engine, query, drill)
        con = engine.store.con
        total = int(run(con, f"SELECT count(*) FROM ({sql})")[0][0])
        cursor = con.execute(
            f"SELECT * FROM ({sql}) LIMIT {per_page} OFFSET {(page - 1) * per_page}"
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    return json_response({"total": total, "page": page, "per_page": per_page, "rows": rows})


def page_number(text: str | None) -> int:
    """A dashboard page's `?page=`: a whole number from 1 (smaller counts as 1) to
    LAST_PAGE; anything else is refused with 400."""
    value = (text or "1").strip()
    if not re.fullmatch(r"-?[0-9]{1,12}", value) or int(value) > LAST_PAGE:
        raise ApiError(400, f"page {value!r}: expected a whole number from 1 to {LAST_PAGE:,}")
    return max(1, int(value))


def readable_conversation(engine: Engine, who: Principal, conversation_id: str) -> dict[str, Any]:
    """A conversation's facts, if `who` may read it (agents: only the chats they took part
    in); 404 otherwise, the same answer whether it does not exist or is not theirs."""
    cursor = engine.store.con.execute(
        f"SELECT * FROM {engine.facts_table} WHERE conversation_id = ?", [conversation_id]
    )
    names = [d[0] for d in cursor.description]
    found = cursor.fetchall()
    facts = dict(zip(names, found[0], strict=True)) if found else None
    if facts is None or (who.role == "agent" and who.agent_id not in (facts["agents"] or [])):
        raise ApiError(404, f"no conversation {conversation_id!r} that you can read")
    return facts


@router.get("/conversations/{conversation_id:anyid}", summary="A conversation's facts and events")
def conversation(conversation_id: str, who: Reader, ctx: Ctx) -> Response:
    with open_workspace(ctx, who).engine() as engine:
        con = engine.store.con
        facts = readable_conversation(engine, who, conversation_id)
        cursor = con.execute(
            "SELECT * EXCLUDE (attrs, extra), attrs, extra FROM events "
            "WHERE conversation_id = ? ORDER BY ts, seq",
            [conversation_id],
        )
        names = [d[0] for d in cursor.description]
        events = []
        for row in cursor.fetchall():
            event = {k: v for k, v in zip(names, row, strict=True) if v is not None}
            for key in ("attrs", "extra"):
                if key in event:
                    event[key] = orjson.loads(event[key])
            events.append(event)
    return json_response({"conversation": facts, "events": events})


@router.get("/export/conversations", summary="One row per conversation: CSV, XLSX or Parquet")
def export(
    who: Reader,
    ctx: Ctx,
    start: FromParam,
    end: ToParam,
    format: Annotated[str, Param(description=", ".join(EXPORT_FORMATS))] = "csv",
    filters: FilterParam = [],  # noqa: B006
    counted: CountedParam = None,
    csat: CsatParam = None,
) -> FileResponse:
    if format not in EXPORT_FORMATS:
        raise ApiError(
            400, f"unknown format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}"
        )
    query = _list_query(who, start, end, filters)
    drill = Drill(counted, csat)
    folder = Path(tempfile.mkdtemp(prefix="chatlens-export-"))
    out = folder / f"conversations.{format}"
    with open_workspace(ctx, who).engine() as engine:
        export_conversations(engine, query, format, out, drill)
    return FileResponse(
        out,
        filename=f"{who.workspace}-conversations-{start}-{end}.{format}",
        background=BackgroundTask(_remove, folder),
    )


def _remove(folder: Path) -> None:
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()
