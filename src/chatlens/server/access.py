"""Which routes a credential may use at all: decided by the gates of `auth` (`auth.NEEDS`);
`check_routes` makes sure every route declares one (or is listed `PUBLIC`).

What a seat may see once in (an agent: its own agent-level figures and transcripts, plus the
aggregates its workspace's `agent_access` allows) is decided by `chatlens.reading.scope`,
inside the `Reader` every route reads through.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

PUBLIC = frozenset(
    {
        "GET /",
        "GET /login",
        "POST /login",
        "POST /logout",
        "POST /api/v1/auth/login",
        "POST /api/v1/auth/logout",
        "GET /api/v1/health",
        "POST /api/v1/invitations/accept",
        "POST /api/v1/connect/{connection}",
        "GET /t.js",
        "POST /api/v1/track/{key}",
        "OPTIONS /api/v1/track/{key}",
        "GET /invitations/{token}",
        "POST /invitations/{token}",
        "GET /openapi.json",
        "GET /docs",
        "GET /docs/oauth2-redirect",
        "GET /redoc",
        "GET /static",
    }
)
"""Routes open without credentials: signing in and out, liveness, the API's documentation,
accepting an invitation (its token is the credential), a platform's webhook delivery
(the connection's URL token and the platform's signature are its credentials), the website
tracker's script and beacons (its key is public: the allowed origins and the per-visitor
limit guard it), the dashboard's
static files (a key of `route_needs`)."""


def _need(dependant: Dependant) -> str | None:
    for sub in dependant.dependencies:
        found = getattr(sub.call, "need", None) or _need(sub)
        if found:
            return str(found)
    return None


def route_needs(app: FastAPI) -> dict[str, str | None]:
    """Every route of `app` as "METHOD /path" -> the need its gate declares (auth.NEEDS),
    or None when it declares none; a mount (static files) is "GET /path"."""
    found: dict[str, str | None] = {}
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        need = _need(route.dependant) if isinstance(route, APIRoute) else None
        for method in sorted(context.methods or {"GET"}):
            if method != "HEAD":
                found[f"{method} {context.path}"] = need
    return found


def check_routes(app: FastAPI) -> None:
    """Refuse to serve a route that declares no access: every route is gated or public."""
    open_routes = [r for r, need in route_needs(app).items() if need is None and r not in PUBLIC]
    if open_routes:
        raise RuntimeError(
            f"routes without an access gate (auth.gate) or a PUBLIC entry: {open_routes}"
        )
