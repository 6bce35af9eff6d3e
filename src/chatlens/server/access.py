"""What an agent seat may see: its own agent-level figures and transcripts, plus the
aggregates its workspace's `agent_access` allows (own | team | workspace).

Admins, managers and read keys see every figure of their workspace. Which routes a
credential may use at all is decided by the gates of `auth` (`auth.NEEDS`); `check_routes`
makes sure every route declares one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from chatlens.metrics import Query
from chatlens.server.auth import Principal
from chatlens.server.errors import ApiError


def scope_filters(
    who: Principal, filters: Mapping[str, tuple[str, ...]], dimensions: tuple[str, ...] = ()
) -> dict[str, tuple[str, ...]]:
    """The filters a query runs with for `who` (an agent's are narrowed to what it may see)."""
    scoped = dict(filters)
    if who.role != "agent":
        return scoped
    own = who.agent_id or ""
    asked = scoped.get("agent_id")
    if asked is not None and set(asked) != {own}:
        raise ApiError(403, "agents can read only their own agent-level figures")
    names_agents = asked is not None or "agent_id" in dimensions
    own_team_only = who.team is not None and scoped.get("team") == (who.team,)
    aggregate_allowed = who.agent_access == "workspace" or (
        who.agent_access == "team" and own_team_only
    )
    if names_agents or not aggregate_allowed:
        scoped["agent_id"] = (own,)
    return scoped


def scope_query(who: Principal, query: Query) -> Query:
    filters = scope_filters(who, query.filters, query.dimensions)
    return dataclasses.replace(query, filters=filters)


def own_conversations(
    who: Principal, filters: Mapping[str, tuple[str, ...]]
) -> dict[str, tuple[str, ...]]:
    """Conversation lists and transcripts: an agent sees only the chats it took part in."""
    scoped = dict(filters)
    if who.role == "agent":
        asked = scoped.get("agent_id")
        if asked is not None and set(asked) != {who.agent_id}:
            raise ApiError(403, "agents can read only their own conversations")
        scoped["agent_id"] = (who.agent_id or "",)
    return scoped


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
(the connection's URL token and the platform's signature are its credentials), the dashboard's
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
