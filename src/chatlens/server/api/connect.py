"""`POST /api/v1/connect/{connection}`: a platform's webhook delivery (Chatwoot, Intercom,
LiveChat). The URL token names the connection; the platform's own signature or secret is
checked on top (chatlens.connect). The answer (202) comes once the delivery is folded into
its conversation in the app state; the settler journals the conversation's events through
the workspace's writer, as `POST /api/v1/events` does, once its deliveries paused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import BaseModel

from chatlens.connect import Receiver, Refusal, Settler
from chatlens.connect.receive import MAX_DELIVERY_BYTES
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError
from chatlens.server.runtime.sync import SyncSchedule

router = APIRouter()


class DeliveryAnswer(BaseModel):
    status: str
    """received (202: its events are journaled within a second or two), ignored (200: about
    nothing chatlens counts, a ping, a contact update) or quarantined (200: it cannot be
    converted; kept on the Connections page and answered 2xx so the platform does not send
    it again and again)."""
    delivery_id: str
    reason: str | None = None
    """Why it was quarantined (a field, never the payload's text)."""


def install(app: FastAPI, state: Server, sync_every: float | None = None) -> None:
    """The receiver, the settler and the API sync schedule of the app's connections (the
    settler and the schedule run while the app is served: `start` and `stop` from its
    lifespan)."""

    def submit(workspace: str, store: Path, rows: list[dict[str, Any]]) -> int:
        return state.workspaces.get(workspace, store).writer.submit(rows).result().accepted

    app.state.connect_receiver = Receiver(state.sessions)
    app.state.connect_settler = Settler(state.sessions, state.folder, submit)
    app.state.connect_sync = SyncSchedule(state.sessions, state.folder, submit, sync_every)


def start(app: FastAPI) -> None:
    app.state.connect_settler.start()
    app.state.connect_sync.start()


def stop(app: FastAPI) -> None:
    app.state.connect_sync.close()  # before the writers close: its last page is stored
    app.state.connect_settler.close()
    app.state.connect_receiver.close()


async def receiver(request: Request) -> Receiver:
    found: Receiver = request.app.state.connect_receiver
    return found


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    limit = f"a delivery holds at most {MAX_DELIVERY_BYTES // 1024} KiB"
    if declared and declared.isdigit() and int(declared) > MAX_DELIVERY_BYTES:
        raise ApiError(413, limit, code="too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_DELIVERY_BYTES:
            raise ApiError(413, limit, code="too_large")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/api/v1/connect/{connection}",
    response_model=DeliveryAnswer,
    status_code=202,
    summary="A platform's webhook delivery (the URL comes from the Connections page)",
    responses={
        200: {"description": "ignored or quarantined (see status)"},
        400: {"description": "the body is not JSON (cut short?)"},
        401: {"description": "the signature or the secret is missing or wrong"},
        403: {"description": "the connection was revoked"},
        404: {"description": "no connection has this URL"},
        413: {"description": "the delivery is too large"},
        422: {"description": "the delivery lacks a field it needs (quarantined)"},
    },
)
async def deliver(
    connection: str,
    request: Request,
    ctx: Annotated[Server, Depends(server)],
    taker: Annotated[Receiver, Depends(receiver)],
) -> Any:
    del ctx  # the receiver holds what it needs
    body = await _body(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        job = taker.check(connection, headers, body)
    except Refusal as exc:
        raise ApiError(exc.status, exc.message, code=exc.code) from None
    # recorded with every delivery waiting, in one app-state commit
    received = await asyncio.wrap_future(taker.fold(job))
    if job.refusal is not None:  # kept on the Connections page, then answered
        raise ApiError(job.refusal.status, job.refusal.message, code=job.refusal.code)
    if received.quarantined is not None:
        return _answer(200, "quarantined", received.delivery_id, received.quarantined)
    if received.conversation is None:
        return _answer(200, "ignored", received.delivery_id)
    return _answer(202, "received", received.delivery_id)


def _answer(status: int, what: str, delivery_id: str, why: str | None = None) -> Response:
    """The answer's JSON written directly (the route's model documents it): validating and
    serializing the model cost more than the rest of a delivery's answer."""
    body = {"status": what, "delivery_id": delivery_id, "reason": why}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")
