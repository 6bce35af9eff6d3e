"""What every request can reach: the app state, the open workspaces, the cookie signer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import Request
from itsdangerous import URLSafeSerializer
from sqlalchemy.orm import sessionmaker

from chatlens.app.audit import AuditWriter
from chatlens.server.limits import LoginLimiter
from chatlens.server.runtime.keycache import KeyCache
from chatlens.server.runtime.workspace import Workspaces


@dataclass
class Server:
    """The server's shared state (`app.state.chatlens`)."""

    sessions: sessionmaker[Any]
    """App-state database sessions."""
    folder: Path
    """Where workspace stores live (beside the default store)."""
    default_store: Path
    workspaces: Workspaces
    signer: URLSafeSerializer
    keys: KeyCache
    secure_cookies: bool = False
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    audit: AuditWriter | None = None
    """Group-commits the audit trail's records (closed last at shutdown)."""


async def server(request: Request) -> Server:
    """The app's state (async: FastAPI runs a plain function dependency on a worker thread,
    a thread hop per request for a lookup)."""
    state: Server = request.app.state.chatlens
    return state
