"""Who is asking: an API key (`Authorization: Bearer ...`) or a login session cookie, and
what they may do. Every route declares the access it needs through these dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature

from chatlens.app import service
from chatlens.app.credentials import same, token_hash
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError

SESSION_COOKIE = "chatlens_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Principal:
    """The caller within one workspace."""

    workspace: str
    store: Path
    agent_access: str
    role: str
    """admin, manager or agent for people; ingest or read for API keys."""
    agent_id: str | None = None
    team: str | None = None
    email: str | None = None

    @property
    def is_person(self) -> bool:
        return self.email is not None


WorkspaceParam = Annotated[
    str | None,
    Query(description="Workspace name; needed only by users with seats in several."),
]


async def principal(
    request: Request, ctx: Annotated[Server, Depends(server)], workspace: WorkspaceParam = None
) -> Principal:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(401, "use 'Authorization: Bearer <API key>'")
        hashed = token_hash(key.strip())
        found: Principal | None = ctx.keys.get(hashed)
        if found is None:
            found = await run_in_threadpool(_from_key, ctx, key.strip())
            ctx.keys.put(hashed, found)
        if workspace is not None and workspace != found.workspace:
            raise ApiError(403, f"this API key belongs to another workspace than {workspace!r}")
        return found
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        sent = None
        if request.method not in _SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            kind = request.headers.get("content-type", "")
            if not sent and kind.startswith(FORM_TYPES):
                sent = str((await request.form()).get("csrf_token", ""))
        return await run_in_threadpool(_from_session, ctx, cookie, workspace, sent)
    raise ApiError(
        401,
        "sign in (POST /api/v1/auth/login) or send 'Authorization: Bearer <API key>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _from_key(ctx: Server, key: str) -> Principal:
    with ctx.sessions() as db:
        record = service.find_key(db, key)
        if record is None:
            raise ApiError(401, "this API key is unknown or revoked", code="invalid_key")
        ws = record.workspace
        return Principal(
            ws.name, service.workspace_store(ctx.folder, ws), ws.agent_access, record.scope
        )


def session_token(ctx: Server, cookie: str) -> str | None:
    try:
        token = ctx.signer.loads(cookie)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def _from_session(ctx: Server, cookie: str, workspace: str | None, sent: str | None) -> Principal:
    """The seat of a signed-in user; `sent` is the CSRF token of a state-changing request
    (None for reads)."""
    token = session_token(ctx, cookie)
    with ctx.sessions() as db:
        session = service.find_session(db, token) if token else None
        if session is None:
            raise ApiError(401, "your session has ended: sign in again", code="session_expired")
        if sent is not None and (not sent or not same(sent, session.csrf_token)):
            raise ApiError(
                403,
                f"missing or wrong CSRF token: send the {CSRF_HEADER} header "
                "(or the csrf_token field of a form)",
                code="csrf",
            )
        seats = sorted(session.user.seats, key=lambda s: s.workspace.name)
        if workspace is not None:
            seats = [s for s in seats if s.workspace.name == workspace]
            if not seats:
                raise ApiError(403, f"you have no seat in workspace {workspace!r}")
        elif len(seats) > 1:
            names = ", ".join(s.workspace.name for s in seats)
            raise ApiError(400, f"you have seats in several workspaces ({names}): add ?workspace=")
        if not seats:
            raise ApiError(403, "you have no seat in any workspace")
        seat = seats[0]
        return Principal(
            seat.workspace.name,
            service.workspace_store(ctx.folder, seat.workspace),
            seat.workspace.agent_access,
            seat.role,
            seat.agent_id,
            seat.team,
            session.user.email,
        )


async def reader(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role == "ingest":
        raise ApiError(403, "an ingest key cannot read figures: create a read key")
    return who


async def ingester(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role != "ingest":
        raise ApiError(403, "sending events needs an API key with the ingest scope")
    return who


async def admin(who: Annotated[Principal, Depends(principal)]) -> Principal:
    if who.role != "admin":
        raise ApiError(403, "only a workspace admin can do this")
    return who


Reader = Annotated[Principal, Depends(reader)]
Ingester = Annotated[Principal, Depends(ingester)]
Admin = Annotated[Principal, Depends(admin)]
