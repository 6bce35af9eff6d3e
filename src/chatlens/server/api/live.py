"""The live view's API: what is happening now (open conversations, the queue, agents online
and away), as `chatlens.reading.live` counts it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from chatlens.server.auth import LiveReader
from chatlens.server.context import Server, server
from chatlens.server.routes import json_response, reader_of

router = APIRouter(prefix="/api/v1")


@router.get("/live", summary="Now: open conversations, queue, agents online/away")
def live(who: LiveReader, ctx: Annotated[Server, Depends(server)]) -> Response:
    return json_response(reader_of(ctx, who).live())
