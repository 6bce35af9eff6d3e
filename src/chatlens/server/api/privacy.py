"""A person's rights over the API (workspace admins; docs/privacy.md): everything held about
a customer, an erasure of a customer or an agent, and the log of these requests."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chatlens.errors import InputError
from chatlens.server.auth import Admin, Principal
from chatlens.server.routes import Ctx, json_response, open_workspace

router = APIRouter(prefix="/api/v1/privacy")
Id = Annotated[str, StringConstraints(min_length=1, max_length=128)]


def _operator(who: Principal) -> str:
    """Who asked, for the request log: the admin's sign-in."""
    return f"seat:{who.email}"


@router.get(
    "/customers/{customer_id:anyid}",
    summary="Everything held about a customer, as JSON (an access request; logged)",
)
async def export_customer(customer_id: str, who: Admin, ctx: Ctx) -> Any:
    workspace = await asyncio.to_thread(open_workspace, ctx, who)
    held = await asyncio.to_thread(workspace.export_customer, customer_id, _operator(who))
    return json_response(held)


class EraseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: Id | None = Field(None, description="Erase this customer ...")
    agent_id: Id | None = Field(None, description="... or this agent (one of the two).")


@router.post(
    "/erase",
    summary="Erase a customer or an agent: texts removed, ids replaced by a token (logged)",
)
async def erase(body: EraseIn, who: Admin, ctx: Ctx) -> Any:
    if (body.customer_id is None) == (body.agent_id is None):
        raise InputError("give customer_id or agent_id (one of them)")
    kind, subject = (
        ("customer", body.customer_id) if body.customer_id is not None else ("agent", body.agent_id)
    )
    assert subject is not None
    done = await asyncio.to_thread(
        ctx.workspaces.erase, who.workspace, who.store, kind, subject, _operator(who)
    )
    return json_response(
        {
            "request_id": done.request_id,
            "target_kind": done.target_kind,
            "token": done.token,
            "result": done.result,
            "counts": done.counts,
        }
    )


@router.get("/requests", summary="The log of access and erasure requests, newest first")
async def list_requests(who: Admin, ctx: Ctx) -> Any:
    workspace = await asyncio.to_thread(open_workspace, ctx, who)
    return json_response({"requests": await asyncio.to_thread(workspace.privacy_requests)})
