"""`POST /api/v1/events`: a JSON array or NDJSON of events, validated as a whole (atomic),
committed to disk before the answer, idempotent by `event_id`."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from chatlens.errors import EventError, FieldError
from chatlens.events import parse_event, to_row
from chatlens.events.redact import Redactor
from chatlens.events.schema import MAX_EVENT_BYTES
from chatlens.server.auth import Ingester
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError
from chatlens.server.limits import MAX_BODY_BYTES, MAX_EVENTS

router = APIRouter()


@functools.cache
def _validator() -> ThreadPoolExecutor:
    """The thread that validates ingest batches, off the event loop: answers to reads are
    sent while a flood of batches is checked (one thread: the work holds the GIL anyway)."""
    return ThreadPoolExecutor(1, "chatlens-validate")


class IngestAnswer(BaseModel):
    accepted: int
    """Events stored by this request."""
    duplicates: int
    """Events already stored before (same `event_id`), or repeated within the request."""


_TOO_LARGE = f"at most {MAX_EVENTS} events and {MAX_BODY_BYTES // 1024 // 1024} MiB per request"


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the request is too large: {_TOO_LARGE}; split it", code="too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(
                413, f"the request is too large: {_TOO_LARGE}; split it", code="too_large"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _records(body: bytes) -> list[Any]:
    """The records of a JSON array, a single object (on one line or pretty-printed), or
    NDJSON (one object per line)."""
    stripped = body.lstrip()
    if not stripped:
        raise ApiError(400, "the request body is empty: send a JSON array of events or NDJSON")
    if stripped[:1] == b"[":
        try:
            records = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"the body is not valid JSON: {exc}") from None
        return list(records)
    if stripped[:1] == b"{" and b"\n" in stripped.rstrip():
        try:  # one event, pretty-printed: the same as that event on one line
            single = orjson.loads(stripped)
        except orjson.JSONDecodeError:
            single = None  # NDJSON: each line is judged alone below
        if isinstance(single, dict):
            return [single]
    lines = [line for line in stripped.split(b"\n") if line.strip()]
    records = []
    for index, line in enumerate(lines):
        try:
            records.append(orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            raise ApiError(
                422,
                "1 event is invalid; nothing was stored",
                code="invalid_events",
                details=[{"index": index, "field": "(event)", "message": f"not valid JSON: {exc}"}],
            ) from None
    return records


def _rows(records: list[Any], redactor: Redactor) -> list[dict[str, Any]]:
    """Every record validated; all errors reported at once, or the store rows with the
    workspace's personal data redacted (before the journal sees them)."""
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        try:
            if len(orjson.dumps(record)) > MAX_EVENT_BYTES:
                message = f"event is larger than {MAX_EVENT_BYTES} bytes (256 KiB)"
                raise EventError([FieldError("(event)", message)])
            rows.append(to_row(parse_event(record)))
        except EventError as exc:
            errors.extend({"index": index, **e} for e in exc.as_dicts())
    if errors:
        bad = len({e["index"] for e in errors})
        raise ApiError(
            422,
            f"{bad} of {len(records)} events are invalid; nothing was stored",
            code="invalid_events",
            details=errors,
        )
    return redactor.rows(rows)


@router.post(
    "/api/v1/events",
    response_model=IngestAnswer,
    summary="Send events (JSON array or NDJSON; atomic, durable, idempotent)",
    responses={
        413: {"description": _TOO_LARGE},
        422: {"description": "some events are invalid: `details` lists index, field, message"},
    },
)
async def ingest(
    request: Request, who: Ingester, ctx: Annotated[Server, Depends(server)]
) -> IngestAnswer:
    records = _records(await _body(request))
    if len(records) > MAX_EVENTS:
        raise ApiError(413, f"{len(records)} events in one request: {_TOO_LARGE}", code="too_large")
    workspace = ctx.workspaces.opened(who.workspace)
    if workspace is None:
        workspace = await asyncio.to_thread(ctx.workspaces.get, who.workspace, who.store)
    # validated off the event loop: a flood of batches must not hold back other answers
    rows = await asyncio.wrap_future(_validator().submit(_rows, records, workspace.redactor))
    done = await asyncio.wrap_future(workspace.writer.submit(rows))
    return IngestAnswer(accepted=done.accepted, duplicates=done.duplicates)
