"""The settings page: workspace settings and goals (admins change, managers read), what
agents may see, API keys and seats (admins). Plain HTML forms, each carrying the session's
CSRF token (checked by `principal`)."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from chatlens.app import service
from chatlens.app.models import AGENT_ACCESS, ROLES, SCOPES, Seat
from chatlens.app.models import Workspace as WorkspaceRow
from chatlens.errors import ChatlensError
from chatlens.server.auth import PageAdmin, PageManager, Principal
from chatlens.server.pages.kit import render
from chatlens.server.routes import Ctx, open_workspace, reader_of
from chatlens.store.settings import Settings

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Principal, ctx: Any, **extra: Any) -> Response:
    current = reader_of(ctx, who).settings.model_dump()
    rows = [
        {"name": k, "help": f.description or "", "value": orjson.dumps(current[k]).decode()}
        for k, f in Settings.model_fields.items()
    ]
    with ctx.sessions() as db:
        keys = service.list_keys(db, who.workspace) if who.role == "admin" else []
        seats = list(
            db.scalars(select(Seat).join(WorkspaceRow).where(WorkspaceRow.name == who.workspace))
        )
        people = [(s.user.email, s.role, s.agent_id or "", s.team or "") for s in seats]
        if who.role == "admin":
            people += [
                (f"{i.email} (invited)", i.role, i.agent_id or "", i.team or "")
                for i in service.pending_invitations(db, who.workspace)
            ]
    status = 400 if extra.get("error") else 200
    response = render(
        request,
        ctx,
        "settings.html",
        {
            "who": who,
            "rows": rows,
            "keys": keys,
            "people": people,
            "roles": ROLES,
            "scopes": SCOPES,
            "accesses": AGENT_ACCESS,
            "admin": who.role == "admin",
            **extra,
        },
    )
    response.status_code = status
    return response


@router.get("/settings")
def settings_page(request: Request, who: PageManager, ctx: Ctx) -> Response:
    return _page(request, who, ctx, saved=request.query_params.get("saved"))


@router.post("/settings")
async def save_settings(request: Request, who: PageAdmin, ctx: Ctx) -> Response:
    form = await request.form()
    workspace = open_workspace(ctx, who)
    current = reader_of(ctx, who).settings.model_dump()
    changes: dict[str, Any] = {}
    try:
        for name in Settings.model_fields:
            raw = str(form.get(f"s.{name}", "")).strip()
            if not raw:
                continue
            try:
                # Python's parser, as `chatlens settings set`: NaN or 1e309 in a goal reach
                # the goals check, which names the field
                value = json.loads(raw)
            except ValueError:
                value = raw  # plain text for strings (a time zone, a currency)
            if value != current[name]:
                changes[name] = value
        if changes:
            workspace.change_settings(changes)
    except ChatlensError as exc:
        return _page(request, who, ctx, error=str(exc))
    return RedirectResponse("/settings?saved=" + ",".join(changes), status_code=303)


@router.post("/settings/access")
async def save_access(request: Request, who: PageAdmin, ctx: Ctx) -> Response:
    form = await request.form()
    try:
        with ctx.sessions() as db:
            service.set_agent_access(db, who.workspace, str(form.get("agent_access", "")))
    except ChatlensError as exc:
        return _page(request, who, ctx, error=str(exc))
    return RedirectResponse("/settings?saved=agent_access", status_code=303)


@router.post("/settings/keys")
async def create_key(request: Request, who: PageAdmin, ctx: Ctx) -> Response:
    form = await request.form()
    try:
        with ctx.sessions() as db:
            made = service.create_key(
                db, who.workspace, str(form.get("scope", "")), str(form.get("name", "")) or None
            )
    except ChatlensError as exc:
        return _page(request, who, ctx, error=str(exc))
    return _page(request, who, ctx, new_key=made.key)


@router.post("/settings/keys/{key_id}/revoke")
def revoke_key(key_id: int, who: PageAdmin, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        service.revoke_key(db, key_id, who.workspace)
    return RedirectResponse("/settings?saved=keys", status_code=303)


@router.post("/settings/users")
async def create_user(request: Request, who: PageAdmin, ctx: Ctx) -> Response:
    form = await request.form()
    names = ("email", "role", "agent_id", "team")
    field = {k: str(form.get(k, "")).strip() for k in names}
    try:
        with ctx.sessions() as db:
            offer = service.invite(
                db,
                who.workspace,
                field["email"],
                field["role"],
                field["agent_id"] or None,
                field["team"] or None,
            )
    except ChatlensError as exc:
        return _page(request, who, ctx, error=str(exc))
    if offer.token is None:
        return RedirectResponse("/settings?saved=users", status_code=303)
    link = str(request.base_url).rstrip("/") + f"/invitations/{offer.token}"
    return _page(request, who, ctx, invitation=link, invited=offer.email)
