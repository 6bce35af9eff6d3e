"""`POST /api/v1/connect/{connection}`: a platform's webhook delivery (Chatwoot, Intercom,
LiveChat). The URL token names the connection; the platform's own signature or secret is
checked on top (chatlens.connect). The events go through the workspace's writer like
`POST /api/v1/events`, so the answer comes once they are journaled, and a replay of a
delivery stores nothing twice."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from chatlens.connect import Receiver, Refusal
from chatlens.connect.receive import MAX_DELIVERY_BYTES
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError

router = APIRouter()
log = logging.getLogger("chatlens.server")


class DeliveryAnswer(BaseModel):
    accepted: int
    """Events stored by this delivery."""
    duplicates: int
    """Events stored before (a replay, or a change already known)."""
    ignored: bool = False
    """The delivery is about nothing chatlens counts (a ping, a contact update)."""
    quarantined: str | None = None
    """Why the delivery could not be converted: it is kept on the Connections page, and
    answered 200 so the platform does not send it again and again."""


def receiver(request: Request, ctx: Annotated[Server, Depends(server)]) -> Receiver:
    found: Receiver | None = getattr(request.app.state, "connect_receiver", None)
    if found is None:
        found = Receiver(ctx.sessions, ctx.folder)
        request.app.state.connect_receiver = found
    return found


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    too_large = ApiError(
        413, f"a delivery holds at most {MAX_DELIVERY_BYTES // 1024} KiB", code="too_large"
    )
    if declared and declared.isdigit() and int(declared) > MAX_DELIVERY_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_DELIVERY_BYTES:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/api/v1/connect/{connection}",
    response_model=DeliveryAnswer,
    summary="A platform's webhook delivery (the URL comes from the Connections page)",
    responses={
        401: {"description": "the signature or the secret is missing or wrong"},
        403: {"description": "the connection was revoked"},
        404: {"description": "no connection has this URL"},
        413: {"description": "the delivery is too large"},
    },
)
async def deliver(
    connection: str,
    request: Request,
    ctx: Annotated[Server, Depends(server)],
    taker: Annotated[Receiver, Depends(receiver)],
) -> DeliveryAnswer:
    body = await _body(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        received = await asyncio.to_thread(taker.take, connection, headers, body)
    except Refusal as exc:
        raise ApiError(exc.status, exc.message, code=exc.code) from None
    answer: dict[str, Any] = {
        "accepted": 0,
        "duplicates": 0,
        "ignored": received.ignored,
        "quarantined": received.quarantined,
    }
    if received.rows:
        workspace = ctx.workspaces.opened(received.workspace)
        if workspace is None:
            workspace = await asyncio.to_thread(
                ctx.workspaces.get, received.workspace, received.store
            )
        done = await asyncio.wrap_future(workspace.writer.submit(received.rows))
        answer.update(accepted=done.accepted, duplicates=done.duplicates)
    if received.quarantined is None:
        await asyncio.to_thread(taker.done, received, answer["accepted"])
    return DeliveryAnswer(**answer)
