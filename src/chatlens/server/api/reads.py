"""The query API: the catalogue, figures (the KPI engine's query model as JSON), conversation
lists and transcripts for drill-down, and exports. Every read goes through the seat's
`chatlens.reading.Reader`, which applies its scope."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Query as Param
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from chatlens.metrics import DIMENSIONS, GRAINS, METRICS, Metric, Query
from chatlens.metrics.targets import bands_of
from chatlens.reports.drill import Drill
from chatlens.reports.export import EXPORT_FORMATS
from chatlens.server.auth import Reader
from chatlens.server.errors import ApiError
from chatlens.server.routes import (
    LAST_PAGE,
    MAX_PAGE,
    Ctx,
    json_response,
    parse_filters,
    reader_of,
)

router = APIRouter(prefix="/api/v1")


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
    return json_response(reader_of(ctx, who).answer(asked))


FilterParam = Annotated[
    list[str], Param(alias="filter", description="DIMENSION=VALUE; repeat for more.")
]
FromParam = Annotated[str, Param(alias="from", description="First day, workspace zone.")]
ToParam = Annotated[str, Param(alias="to", description="Last day, inclusive.")]


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
    found = reader_of(ctx, who).conversations(
        start, end, parse_filters(filters), Drill(counted, csat), page=page, per_page=per_page
    )
    return json_response(
        {"total": found.total, "page": page, "per_page": per_page, "rows": found.rows}
    )


@router.get("/conversations/{conversation_id:anyid}", summary="A conversation's facts and events")
def conversation(conversation_id: str, who: Reader, ctx: Ctx) -> Response:
    return json_response(reader_of(ctx, who).conversation(conversation_id))


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
    drill = Drill(counted, csat)
    folder = Path(tempfile.mkdtemp(prefix="chatlens-export-"))
    out = folder / f"conversations.{format}"
    try:
        reader_of(ctx, who).export(start, end, parse_filters(filters), drill, format, out)
    except BaseException:
        _remove(folder)
        raise
    return FileResponse(
        out,
        filename=f"{who.workspace}-conversations-{start}-{end}.{format}",
        background=BackgroundTask(_remove, folder),
    )


def _remove(folder: Path) -> None:
    for item in folder.iterdir():
        item.unlink()
    folder.rmdir()
