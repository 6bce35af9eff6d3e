"""The Audit trail page (admins): the transcript views and exports of the workspace, newest
first, filtered by seat, conversation, action and days (the same filters as GET
/api/v1/audit). Values are untrusted text: Jinja escapes them."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from chatlens.app import audit
from chatlens.app.models import AUDIT_ACTIONS
from chatlens.server.auth import PageAdmin
from chatlens.server.pages.kit import render
from chatlens.server.routes import Ctx, page_number

router = APIRouter(include_in_schema=False)
FIELDS = ("seat", "conversation", "action", "since", "until")
PER_PAGE = 50


@router.get("/audit")
def audit_page(request: Request, who: PageAdmin, ctx: Ctx) -> Response:
    q = request.query_params
    chosen = {name: q.get(name, "").strip() for name in FIELDS}
    page = page_number(q.get("page"))
    search = audit.Search.of(**chosen)
    with ctx.sessions() as db:
        total, rows = audit.search(db, who.workspace, search, page=page, per_page=PER_PAGE)

    def url(to: int) -> str:
        params = [(k, v) for k, v in chosen.items() if v]
        if who.workspace and "workspace" in q:
            params.append(("workspace", who.workspace))
        return "/audit?" + urlencode([*params, ("page", str(to))])

    return render(
        request,
        ctx,
        "audit.html",
        {
            "who": who,
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PER_PAGE)),
            "chosen": chosen,
            "actions": AUDIT_ACTIONS,
            "url": url,
        },
    )
