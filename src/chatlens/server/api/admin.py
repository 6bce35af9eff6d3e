"""Workspace administration over the API: settings (managers read, admins change), API keys
and seats (admins)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from sqlalchemy import select

from chatlens.app import service
from chatlens.app.models import SCOPES, Seat
from chatlens.app.models import Workspace as WorkspaceRow
from chatlens.server.auth import Admin, Manager
from chatlens.server.routes import Ctx, json_response, open_workspace
from chatlens.store.settings import Settings

router = APIRouter(prefix="/api/v1")
KeyId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The key's id (GET /api/v1/keys).")]


@router.get("/settings", summary="The workspace's settings and what each means")
def get_settings(who: Manager, ctx: Ctx) -> Any:
    with open_workspace(ctx, who).engine() as engine:
        current = engine.settings
    return json_response(
        {
            "settings": current.model_dump(),
            "help": {k: f.description or "" for k, f in Settings.model_fields.items()},
        }
    )


@router.patch("/settings", summary="Change settings (history follows: facts are rebuilt)")
async def patch_settings(changes: dict[str, Any], who: Admin, ctx: Ctx) -> Any:
    workspace = await asyncio.to_thread(open_workspace, ctx, who)
    settings = await asyncio.to_thread(workspace.change_settings, changes)
    return json_response({"settings": settings.model_dump()})


class KeyIn(BaseModel):
    scope: str = Field(description=" or ".join(SCOPES))
    name: str | None = None


@router.get("/keys", summary="The workspace's API keys (never the keys themselves)")
def list_keys(who: Admin, ctx: Ctx) -> Any:
    with ctx.sessions() as db:
        keys = service.list_keys(db, who.workspace)
        return json_response(
            {
                "keys": [
                    {
                        "id": k.id,
                        "scope": k.scope,
                        "name": k.name,
                        "prefix": k.prefix,
                        "created_at": k.created_at,
                        "revoked_at": k.revoked_at,
                    }
                    for k in keys
                ]
            }
        )


@router.post("/keys", status_code=201, summary="Create an API key (shown once)")
def create_key(body: KeyIn, who: Admin, ctx: Ctx) -> Any:
    with ctx.sessions() as db:
        made = service.create_key(db, who.workspace, body.scope, body.name)
        return json_response({"id": made.record.id, "key": made.key, "scope": body.scope}, 201)


@router.delete("/keys/{key_id}", summary="Revoke an API key")
def revoke_key(key_id: KeyId, who: Admin, ctx: Ctx) -> Any:
    with ctx.sessions() as db:
        record = service.revoke_key(db, key_id, who.workspace)
        return json_response({"id": record.id, "revoked_at": record.revoked_at})


class SeatIn(BaseModel):
    email: str
    role: str
    agent_id: str | None = None
    team: str | None = None


def _seat(seat: Seat) -> dict[str, Any]:
    return {
        "email": seat.user.email,
        "role": seat.role,
        "agent_id": seat.agent_id,
        "team": seat.team,
    }


def offer_out(offer: service.Offer) -> dict[str, Any]:
    """The answer to an admin's seat request (the invitation link is shown only here)."""
    body: dict[str, Any] = {
        "status": offer.status,
        "email": offer.email,
        "role": offer.role,
        "agent_id": offer.agent_id,
        "team": offer.team,
    }
    if offer.token is not None:
        body["accept_url"] = f"/invitations/{offer.token}"
        body["expires_at"] = offer.expires_at
    return body


@router.get("/users", summary="The workspace's seats and open invitations")
def list_users(who: Admin, ctx: Ctx) -> Any:
    with ctx.sessions() as db:
        seats = db.scalars(
            select(Seat).join(WorkspaceRow).where(WorkspaceRow.name == who.workspace)
        )
        invited = [
            {
                "email": i.email,
                "role": i.role,
                "agent_id": i.agent_id,
                "team": i.team,
                "expires_at": i.expires_at,
            }
            for i in service.pending_invitations(db, who.workspace)
        ]
        return json_response({"users": [_seat(s) for s in seats], "invitations": invited})


@router.post(
    "/users",
    status_code=201,
    summary="Give a seat: a member's changes; anyone else is invited (accept_url, shown once)",
)
def create_user(body: SeatIn, who: Admin, ctx: Ctx) -> Any:
    with ctx.sessions() as db:
        offer = service.invite(db, who.workspace, body.email, body.role, body.agent_id, body.team)
        return json_response(offer_out(offer), 201)
