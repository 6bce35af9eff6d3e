"""The website tracker: `GET /t.js` (the script a site includes with its public key) and
`POST /api/v1/track/{key}` (its beacons), with CORS for the key's allowed origins only.

A beacon is answered 200 only once its events are in the workspace's journal (the writer
of `POST /api/v1/events`, with the workspace's redaction). No client address is read: the
rate limit is per visitor id (chatlens.connect.tracker), and nothing is logged."""

from __future__ import annotations

import asyncio
import functools
import gzip
import hashlib
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel

from chatlens.connect import tracker
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError

router = APIRouter()
SCRIPT = Path(__file__).parent.parent.parent / "web" / "static" / "tracker" / "t.js"
CACHE_SECONDS = 7 * 24 * 3600


def install(app: FastAPI) -> None:
    """The per-visitor limiter and the Connections page's tally of the app's trackers."""
    app.state.tracker_limiter = tracker.VisitorLimiter()
    app.state.tracker_tally = tracker.Tally(app.state.chatlens.sessions)


def stop(app: FastAPI) -> None:
    app.state.tracker_tally.close()


@functools.cache
def _script() -> tuple[bytes, bytes, str]:
    """t.js, gzipped once, and its ETag."""
    text = SCRIPT.read_bytes()
    return text, gzip.compress(text, 9, mtime=0), '"' + hashlib.sha256(text).hexdigest()[:16] + '"'


@router.get(
    "/t.js",
    summary="The website tracker script (docs/connections.md, Website tracker)",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}}}},
)
def script(request: Request) -> Response:
    text, packed, etag = _script()
    headers = {
        "Cache-Control": f"public, max-age={CACHE_SECONDS}",
        "ETag": etag,
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        text = packed
    return Response(text, media_type="text/javascript; charset=utf-8", headers=headers)


class TrackAnswer(BaseModel):
    accepted: int
    """Events stored by this beacon."""
    duplicates: int
    """Events stored before (a resent beacon): counted once."""


def _cors(site: tracker.Site | None, origin: str | None) -> dict[str, str]:
    """CORS headers: the origin echoed only when the key allows it."""
    headers = {"Vary": "Origin"}
    if site is not None and site.active and site.allows(origin):
        headers["Access-Control-Allow-Origin"] = str(origin)
    return headers


async def _site(request: Request, ctx: Server, key: str) -> tracker.Site:
    # the app state's key cache: dropped on any commit, so a revocation counts at once
    site: tracker.Site | None = ctx.keys.get("tracker:" + key)
    if site is None:
        site = await asyncio.to_thread(tracker.lookup, ctx.sessions, ctx.folder, key)
        if site is not None:
            ctx.keys.put("tracker:" + key, site)
    if site is None:
        raise ApiError(
            404,
            "no tracker has this key: copy the snippet again from the Connections page",
            code="unknown_key",
            headers={"Vary": "Origin"},
        )
    if not site.active:
        raise ApiError(403, "this tracker was revoked", code="revoked", headers={"Vary": "Origin"})
    origin = request.headers.get("origin")
    if not site.allows(origin):
        reason = (
            "the Origin header is missing"
            if origin is None
            else "this page's origin is not among the tracker's allowed sites"
        )
        request.app.state.tracker_tally.problem(site, 403, reason)
        raise ApiError(403, reason, code="origin_not_allowed", headers={"Vary": "Origin"})
    return site


@router.options(
    "/api/v1/track/{key}",
    summary="CORS preflight of the tracker's beacons",
    status_code=204,
    response_class=Response,
)
async def preflight(
    key: str, request: Request, ctx: Annotated[Server, Depends(server)]
) -> Response:
    site = await _site(request, ctx, key)
    headers = {
        **_cors(site, request.headers.get("origin")),
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "Content-Type",
        "Access-Control-Max-Age": "600",
    }
    return Response(status_code=204, headers=headers)


async def _body(request: Request, cors: dict[str, str]) -> bytes:
    limit = f"a beacon holds at most {tracker.MAX_BEACON_BYTES // 1024} KiB"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > tracker.MAX_BEACON_BYTES:
        raise ApiError(413, limit, code="too_large", headers=cors)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > tracker.MAX_BEACON_BYTES:
            raise ApiError(413, limit, code="too_large", headers=cors)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/api/v1/track/{key}",
    response_model=TrackAnswer,
    summary="A beacon of the website tracker (visit_started, page_view, widget opens)",
    responses={
        400: {"description": "not a beacon, or an event not allowed: `details` name index, field"},
        403: {"description": "the Origin is not one of the key's sites, or the key was revoked"},
        404: {"description": "no tracker has this key"},
        413: {"description": "the beacon is too large"},
        429: {"description": "too many events from this visitor: see Retry-After"},
    },
)
async def track(key: str, request: Request, ctx: Annotated[Server, Depends(server)]) -> Any:
    site = await _site(request, ctx, key)
    cors = _cors(site, request.headers.get("origin"))
    body = await _body(request, cors)
    try:
        rows, errors = tracker.rows(site, body)
    except tracker.TrackError as exc:
        _refused(request, site, exc.message, exc.details)
        raise ApiError(400, exc.message, code=exc.code, details=exc.details, headers=cors) from None
    limiter: tracker.VisitorLimiter = request.app.state.tracker_limiter
    wait = limiter.take(site.connection_id, tracker.visitors(rows)) if rows else 0
    if wait:
        raise ApiError(
            429,
            f"too many events from this visitor (at most {limiter.events} a minute)",
            headers={**cors, "Retry-After": str(wait)},
        )
    accepted = duplicates = 0
    if rows:
        workspace = ctx.workspaces.opened(site.workspace)
        if workspace is None:
            workspace = await asyncio.to_thread(ctx.workspaces.get, site.workspace, site.store)
        done = await asyncio.wrap_future(workspace.writer.submit(workspace.redactor.rows(rows)))
        accepted, duplicates = done.accepted, done.duplicates
    request.app.state.tracker_tally.stored(site, accepted, rows)
    if errors:
        bad = len({e["index"] for e in errors})
        message = (
            f"{bad} of {bad + len(rows)} events were refused ({accepted} stored, "
            f"{duplicates} stored before)"
        )
        _refused(request, site, message, errors)
        raise ApiError(400, message, code="invalid_events", details=errors, headers=cors)
    answer = TrackAnswer(accepted=accepted, duplicates=duplicates)
    return Response(answer.model_dump_json(), media_type="application/json", headers=cors)


def _refused(
    request: Request, site: tracker.Site, message: str, details: list[dict[str, Any]] | None
) -> None:
    """A line in the connection's errors: the first bad record's index and field."""
    first = (details or [{}])[0]
    reason = f"{message}: record {first.get('index')}, field '{first.get('field')}'"
    request.app.state.tracker_tally.problem(site, 400, reason)
