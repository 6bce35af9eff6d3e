"""The chatlens server: `create_app` wires the routes, the error shape and the shared state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeSerializer

from chatlens import __version__
from chatlens.app import service
from chatlens.app.audit import AuditWriter
from chatlens.app.db import app_db_url, open_app_db
from chatlens.lake.ingest import LakeSink
from chatlens.server import access, errors, invitations, routes, sessions
from chatlens.server.api import (
    admin,
    audit,
    connect,
    ingest,
    live,
    privacy,
    reads,
    topics,
    tracker,
)
from chatlens.server.auth import SERVED_WORKSPACE, SESSION_COOKIE
from chatlens.server.context import Server
from chatlens.server.pages import (
    agents,
    audit_trail,
    connections,
    dashboards,
    faq,
    goals,
    reports,
    settings,
    teams,
)
from chatlens.server.runtime.consumers import Consumers
from chatlens.server.runtime.keycache import KeyCache
from chatlens.server.runtime.memory import DEFAULT_MEMORY_LIMIT
from chatlens.server.runtime.workspace import Workspaces


def create_app(
    store: Path,
    app_db: str | None = None,
    *,
    refresh_seconds: float = 1.0,
    secure_cookies: bool = False,
    duckdb_threads: int | None = None,
    memory_limit: str = DEFAULT_MEMORY_LIMIT,
    lake: LakeSink | None = None,
    sync_every: float | None = None,
    lake_facts: str | None = None,
) -> FastAPI:
    """The ASGI app serving the workspaces whose default store is `store`; with `lake`, the
    ingested events go to that event lake (and to the stores if `lake.store_too`);
    `sync_every`: seconds between API syncs of the connections with API credentials (None:
    only those with an interval of their own); with `lake_facts`, the default workspace is
    served from that lake's facts (chatlens.server.runtime.lake)."""
    store = store.resolve()
    factory = open_app_db(app_db_url(store, app_db))
    # settings checked; each workspace's retention job also expires its audit records
    workspaces = Workspaces(
        refresh_seconds, duckdb_threads, memory_limit, factory, lake, lake_facts
    )
    with factory() as db:
        service.ensure_default_workspace(db, store)
    state = Server(
        sessions=factory,
        folder=store.parent,
        default_store=store,
        workspaces=workspaces,
        signer=URLSafeSerializer(service.server_secret(factory), salt="chatlens-session"),
        keys=KeyCache(factory.kw["bind"]),
        secure_cookies=secure_cookies,
        audit=AuditWriter(factory),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if lake is not None:  # a journal left by a crash goes to the lake now, not at the
            # first request (docs/lake.md)
            await asyncio.to_thread(workspaces.get, service.DEFAULT_WORKSPACE, store)
        connect.start(app)
        consumers = Consumers(state.sessions).start()  # Rasa's event brokers
        yield
        consumers.close()
        connect.stop(app)
        tracker.stop(app)
        state.workspaces.close()
        state.keys.close()
        if state.audit is not None:
            state.audit.close()

    app = FastAPI(
        title="chatlens",
        version=__version__,
        summary="Analytics for chatbots and live chat: ingest events, read every KPI.",
        lifespan=lifespan,
        dependencies=[Depends(routes.note_route)],  # the route, for the audit trail
        # no OpenTelemetry: its per-request checks were 5-8% of a webhook's CPU, and its
        # logs would record exception messages (which may quote a payload's text)
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.chatlens = state
    connect.install(app, state, sync_every)
    tracker.install(app)
    errors.install(app)
    api = (ingest, reads, admin, live, topics, connect, tracker, audit, privacy)
    pages = (reports, agents, teams, settings, goals, dashboards, faq, connections, audit_trail)
    for module in (*api, sessions, invitations, *pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent.parent / "web" / "static"))

    @app.get("/api/v1/health", summary="Liveness (no sign-in needed)")
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        if SESSION_COOKIE not in request.cookies:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse("/overview", status_code=303)

    if lake_facts is not None:
        served = workspaces.lake_workspace()  # opened now: a bad lake URL fails the start

        @app.middleware("http")
        async def freshness(request: Request, call_next: Any) -> Response:
            response: Response = await call_next(request)
            name = request.scope.get(SERVED_WORKSPACE)  # the caller's, once let in
            lake = served if name is None else workspaces.lake_workspace(name)
            if lake is not None:
                response.headers.update(lake.freshness.headers())
            return response

    access.check_routes(app)
    return app
