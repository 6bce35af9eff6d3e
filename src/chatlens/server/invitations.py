"""Accepting an invitation (the seat a workspace admin offered): the link's token names the
invitation, the invitee's password is their consent. An email with an account accepts with
that account's password; an email without one gets an account with the password chosen
here. Public routes (the token is the credential); wrong passwords count against the
sign-in limits like a failed sign-in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from chatlens.app import service
from chatlens.errors import ChatlensError, NotFound
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError
from chatlens.server.routes import json_response

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "web" / "templates")
Ctx = Annotated[Server, Depends(server)]


def accept(ctx: Server, request: Request, token: str, password: str) -> dict[str, str]:
    """The seat taken, as {workspace, role, email}; 404 for a token unknown, used or
    expired, 400 for a too-short new password, 401 for a wrong password, 429 after too many."""
    client = request.client.host if request.client else "?"
    with ctx.sessions() as db:
        invitation = service.find_invitation(db, token)
        if invitation is None:
            raise NotFound(service.UNKNOWN_INVITATION)
        email = invitation.email
        wait = ctx.limiter.retry_after(client, email)
        if wait:
            raise ApiError(
                429,
                f"too many failed attempts: try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        seat = service.accept_invitation(db, token, password)
        if seat is None:
            ctx.limiter.failed(client, email)
            raise ApiError(401, f"wrong password for the account {email}", code="bad_credentials")
        ctx.limiter.succeeded(client, email)
        return {"workspace": seat.workspace.name, "role": seat.role, "email": email}


class AcceptIn(BaseModel):
    token: str
    password: str


@router.post("/api/v1/invitations/accept", summary="Accept an invitation: take the seat")
def accept_json(body: AcceptIn, request: Request, ctx: Ctx) -> Response:
    return json_response(accept(ctx, request, body.token, body.password))


def _page(
    request: Request, ctx: Server, token: str, error: str = "", status: int = 200
) -> Response:
    with ctx.sessions() as db:
        found = service.find_invitation(db, token)
        offer = (
            None
            if found is None
            else {"email": found.email, "role": found.role, "workspace": found.workspace.name}
        )
    return templates.TemplateResponse(
        request,
        "invitation.html",
        {"offer": offer, "error": error},
        status_code=status if offer is not None else 404,
    )


@router.get("/invitations/{token}", include_in_schema=False)
def invitation_page(token: str, request: Request, ctx: Ctx) -> Response:
    return _page(request, ctx, token)


@router.post("/invitations/{token}", include_in_schema=False)
def invitation_form(
    token: str, request: Request, ctx: Ctx, password: Annotated[str, Form()] = ""
) -> Response:
    try:
        accept(ctx, request, token, password)
    except ApiError as exc:
        return _page(
            request, ctx, token, exc.message[:1].upper() + exc.message[1:] + ".", exc.status
        )
    except ChatlensError as exc:
        return _page(request, ctx, token, str(exc), exc.status)
    return RedirectResponse("/login?next=/overview", status_code=303)
