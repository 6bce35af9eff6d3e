"""Who is asking: an API key (`Authorization: Bearer ...`) or a login session cookie, and
what they may do. Every route declares the access it needs through these dependencies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from itsdangerous import BadSignature

from chatlens.app import service
from chatlens.app.credentials import same, token_hash
from chatlens.errors import Forbidden, InputError
from chatlens.reading.scope import reads_live
from chatlens.server.context import Server, server
from chatlens.server.errors import ApiError, SignIn

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
    actor: str = ""
    """Who, in the audit trail: `user:ID` or `key:ID`."""

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
            raise Forbidden(f"this API key belongs to another workspace than {workspace!r}")
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
            ws.name,
            service.workspace_store(ctx.folder, ws),
            ws.agent_access,
            record.scope,
            actor=f"key:{record.id}",
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
                raise Forbidden(f"you have no seat in workspace {workspace!r}")
        elif len(seats) > 1:
            names = ", ".join(s.workspace.name for s in seats)
            raise InputError(f"you have seats in several workspaces ({names}): add ?workspace=")
        if not seats:
            raise Forbidden("you have no seat in any workspace")
        seat = seats[0]
        return Principal(
            seat.workspace.name,
            service.workspace_store(ctx.folder, seat.workspace),
            seat.workspace.agent_access,
            seat.role,
            seat.agent_id,
            seat.team,
            session.user.email,
            actor=f"user:{session.user.id}",
        )


NEEDS: dict[str, tuple[Callable[[Principal], bool], str]] = {
    "anyone": (lambda who: True, ""),
    "read": (
        lambda who: who.role != "ingest",
        "an ingest key cannot read figures: create a read key",
    ),
    "ingest": (
        lambda who: who.role == "ingest",
        "sending events needs an API key with the ingest scope",
    ),
    "person": (
        lambda who: who.is_person,
        "this belongs to people: sign in (API keys cannot use it)",
    ),
    "manage": (
        lambda who: who.role in ("admin", "manager"),
        "only admins and managers can read the workspace settings",
    ),
    "admin": (lambda who: who.role == "admin", "only a workspace admin can do this"),
    "live": (reads_live, "the live view shows the whole workspace: ask an admin for access"),
}
"""What a route may need of its caller, and the refusal (403) when the caller lacks it.
The one place where credentials meet routes: every API route and every page declares one
of these through `gate` (or is listed public in `access.PUBLIC`), checked at start-up by
`access.check_routes` and over every credential kind by tests/server/test_matrix.py."""


SERVED_WORKSPACE = "chatlens.workspace"
"""The request scope's key for the caller's workspace, once `gate` let the caller in (what a
lake server's freshness headers and footer are about)."""


def gate(need: str, *, page: bool = False) -> Callable[..., Awaitable[Principal]]:
    """The dependency a route declares: the caller, if it has `need`. A page (`page=True`)
    sends someone not signed in to the sign-in form instead of answering 401."""
    allowed, refusal = NEEDS[need]

    async def check(
        request: Request, ctx: Annotated[Server, Depends(server)], workspace: WorkspaceParam = None
    ) -> Principal:
        try:
            who = await principal(request, ctx, workspace)
        except ApiError as exc:
            if page and exc.status == 401:
                raise SignIn from None
            raise
        if not allowed(who):
            raise Forbidden(refusal)
        request.scope[SERVED_WORKSPACE] = who.workspace
        return who

    check.need = need  # type: ignore[attr-defined]
    return check


Anyone = Annotated[Principal, Depends(gate("anyone"))]
Reader = Annotated[Principal, Depends(gate("read"))]
Ingester = Annotated[Principal, Depends(gate("ingest"))]
Person = Annotated[Principal, Depends(gate("person"))]
Manager = Annotated[Principal, Depends(gate("manage"))]
Admin = Annotated[Principal, Depends(gate("admin"))]
LiveReader = Annotated[Principal, Depends(gate("live"))]
PageReader = Annotated[Principal, Depends(gate("read", page=True))]
PagePerson = Annotated[Principal, Depends(gate("person", page=True))]
PageManager = Annotated[Principal, Depends(gate("manage", page=True))]
PageAdmin = Annotated[Principal, Depends(gate("admin", page=True))]
PageLive = Annotated[Principal, Depends(gate("live", page=True))]
