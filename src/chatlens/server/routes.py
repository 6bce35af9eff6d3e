"""What every route shares (the API's and the pages'): the door to the asker's workspace,
JSON and download answers, the `{id:anyid}` path parameter, filters, page numbers, periods."""

from __future__ import annotations

import re
from collections import defaultdict
from contextvars import ContextVar
from typing import Annotated, Any
from urllib.parse import quote

import orjson
from fastapi import Depends, Request
from fastapi.responses import Response
from starlette.convertors import Convertor, register_url_convertor

from chatlens import reading
from chatlens.app.audit import AuditTrail
from chatlens.metrics.periods import day_span
from chatlens.server.auth import Principal
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError
from chatlens.server.runtime.workspace import Workspace

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


_ROUTE: ContextVar[str] = ContextVar("chatlens_route", default="")


async def note_route(request: Request) -> None:
    """Every request's route as "METHOD /path/{param}" (never the values: ids are untrusted
    text), for the audit trail; declared for the whole app in `create_app`."""
    route = request.scope.get("route")
    _ROUTE.set(f"{request.method} {getattr(route, 'path', request.url.path)}")


def reader_of(ctx: Server, who: Principal) -> reading.Reader:
    """The door to `who`'s workspace, scoped to `who`, recording what the audit trail keeps
    under `who`'s seat and the request's route."""
    trail = AuditTrail(ctx.sessions, who.workspace, who.actor, _ROUTE.get(), ctx.audit)
    return reading.Reader(open_workspace(ctx, who), who, trail)


Ctx = Annotated[Server, Depends(server)]


def parse_filters(items: list[str]) -> dict[str, tuple[str, ...]]:
    grouped: dict[str, list[str]] = defaultdict(list)
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ApiError(400, f"filter {item!r}: expected DIMENSION=VALUE")
        grouped[key].append(value)
    return {k: tuple(v) for k, v in grouped.items()}


def page_number(text: str | None) -> int:
    """A dashboard page's `?page=`: a whole number from 1 (smaller counts as 1) to
    LAST_PAGE; anything else is refused with 400."""
    value = (text or "1").strip()
    if not re.fullmatch(r"-?[0-9]{1,12}", value) or int(value) > LAST_PAGE:
        raise ApiError(400, f"page {value!r}: expected a whole number from 1 to {LAST_PAGE:,}")
    return max(1, int(value))


def period_bounds(start: str | None, end: str | None, zone: str) -> dict[str, Any]:
    """The topics' `start`/`end` keyword arguments (chatlens.metrics.periods.day_span)."""
    span = day_span(start, end, zone)
    return {} if span is None else {"start": span[0], "end": span[1]}
