"""The Connections page (admins): the workspace's platforms sending webhooks, with the URL
to paste into each platform and its setup steps (the website tracker: its snippet), what
each delivered (today, in total, the last event and the lag), its last errors and its
quarantined deliveries (id and reason, never their text). Plain HTML forms, each carrying
the session's CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from chatlens.app import connections
from chatlens.app.models import PLATFORMS
from chatlens.errors import ChatlensError
from chatlens.server.auth import PageAdmin, Principal
from chatlens.server.pages.kit import render
from chatlens.server.routes import Ctx

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Principal, ctx: Any, **extra: Any) -> Response:
    base = str(request.base_url)
    with ctx.sessions() as db:
        rows = []
        for c in connections.list_connections(db, who.workspace):
            site = connections.tracker_site(db, c.id)
            snippet = connections.snippet(base, site.site_key) if site else None
            origins = site.origins.split("\n") if site else []
            rows.append(
                {
                    "record": c,
                    "traffic": connections.traffic(db, c.id),
                    "snippet": snippet,
                    "origins": origins,
                    "consumer": connections.consumer(db, c.id),
                }
            )
    response = render(
        request,
        ctx,
        "connections.html",
        {
            "who": who,
            "rows": rows,
            "platforms": PLATFORMS,
            "secret_names": connections.SECRET_NAMES,
            **extra,
        },
    )
    response.status_code = 400 if extra.get("error") else 200
    return response


@router.get("/connections")
def connections_list(request: Request, who: PageAdmin, ctx: Ctx) -> Response:
    return _page(request, who, ctx)


@router.post("/connections")
async def create_connection(request: Request, who: PageAdmin, ctx: Ctx) -> Response:
    form = await request.form()
    try:
        with ctx.sessions() as db:
            made = connections.create_connection(
                db,
                who.workspace,
                str(form.get("platform", "")),
                str(form.get("name", "")),
                str(form.get("secret", "")) or None,
                origins=str(form.get("origins", "")).split() or None,
                url=str(form.get("url", "")) or None,
                queue=str(form.get("queue", "")) or None,
            )
    except ChatlensError as exc:
        return _page(request, who, ctx, error=str(exc))
    if made.record.broker_url is not None:
        shown = made.record.broker_url
        if made.record.broker_queue:
            shown += f" queue {made.record.broker_queue}"
        return _page(
            request,
            who,
            ctx,
            new_broker=shown,
            new_platform=made.record.platform,
            new_name=made.record.name,
        )
    if made.site is not None:
        snippet = connections.snippet(str(request.base_url), made.site.site_key)
        return _page(
            request,
            who,
            ctx,
            new_snippet=snippet,
            new_platform="tracker",
            new_name=made.record.name,
        )
    url = str(request.base_url).rstrip("/") + made.path
    return _page(
        request, who, ctx, new_url=url, new_platform=made.record.platform, new_name=made.record.name
    )


@router.post("/connections/{connection_id}/revoke")
def revoke_connection(connection_id: int, who: PageAdmin, ctx: Ctx) -> Response:
    with ctx.sessions() as db:
        connections.revoke_connection(db, who.workspace, str(connection_id))
    return RedirectResponse("/connections", status_code=303)
