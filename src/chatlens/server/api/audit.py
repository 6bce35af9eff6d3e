"""The audit trail over the API (workspace admins): who viewed which transcript and who
exported which conversation rows, newest first, a page at a time (docs/privacy.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Query as Param
from fastapi.responses import Response

from chatlens.app import audit
from chatlens.app.models import AUDIT_ACTIONS
from chatlens.server.auth import Admin
from chatlens.server.routes import LAST_PAGE, Ctx, json_response

router = APIRouter(prefix="/api/v1")

SeatParam = Annotated[
    str | None,
    Param(description="user:ID, key:ID, cli:LOGIN, cli (every login) or a user's email."),
]
SinceParam = Annotated[
    str | None, Param(description="From this day or UTC date-time (2026-12-01, RFC 3339).")
]
UntilParam = Annotated[
    str | None, Param(description="Up to this day (inclusive) or UTC date-time (excluded).")
]


@router.get("/audit", summary="The audit trail: transcript views and exports (admins)")
def audit_trail(
    who: Admin,
    ctx: Ctx,
    seat: SeatParam = None,
    conversation: Annotated[str | None, Param(description="One conversation id.")] = None,
    since: SinceParam = None,
    until: UntilParam = None,
    action: Annotated[str | None, Param(description=", ".join(AUDIT_ACTIONS))] = None,
    page: Annotated[int, Param(ge=1, le=LAST_PAGE)] = 1,
    per_page: Annotated[int, Param(ge=1, le=audit.MAX_PER_PAGE)] = 50,
) -> Response:
    search = audit.Search.of(seat, conversation, action, since, until)
    with ctx.sessions() as db:
        total, rows = audit.search(db, who.workspace, search, page=page, per_page=per_page)
    return json_response({"total": total, "page": page, "per_page": per_page, "rows": rows})
