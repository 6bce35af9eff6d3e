"""Operations on the app state, shared by the CLI and the server (one place for each rule)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session as DbSession
from sqlalchemy.orm import sessionmaker

from chatlens.app import credentials
from chatlens.app.models import (
    AGENT_ACCESS,
    ROLES,
    SCOPES,
    ApiKey,
    Invitation,
    Meta,
    Seat,
    Session,
    User,
    Workspace,
    now,
)
from chatlens.errors import Conflict, InputError, NotFound, did_you_mean

DEFAULT_WORKSPACE = "default"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SESSION_DAYS = 14
INVITATION_DAYS = 7
UNKNOWN_INVITATION = "this invitation is unknown, used or expired: ask for a new one"


def _check_choice(value: str, choices: tuple[str, ...], what: str) -> None:
    if value not in choices:
        hint = did_you_mean(value, choices)
        raise InputError(f"unknown {what} {value!r}{hint}; expected one of: {', '.join(choices)}")


def workspace_store(app_folder: Path, workspace: Workspace) -> Path:
    """The workspace's DuckDB file."""
    return app_folder / workspace.store


def ensure_default_workspace(db: DbSession, store: Path) -> Workspace:
    """The `default` workspace, whose store is the `--db` file itself."""
    found = db.scalar(select(Workspace).where(Workspace.name == DEFAULT_WORKSPACE))
    if found is None:
        found = Workspace(name=DEFAULT_WORKSPACE, store=store.name)
        db.add(found)
        db.commit()
    return found


def create_workspace(db: DbSession, name: str, store: Path, agent_access: str = "own") -> Workspace:
    """A new workspace with its own store beside the default one (`chatlens.<name>.duckdb`)."""
    if not _NAME.match(name):
        raise InputError(
            f"workspace name {name!r}: use 1-40 lower-case letters, digits and '-', "
            "starting with a letter or digit"
        )
    _check_choice(agent_access, AGENT_ACCESS, "agent access")
    if db.scalar(select(Workspace).where(Workspace.name == name)):
        raise Conflict(f"workspace {name!r} already exists")
    ensure_default_workspace(db, store)
    file = store.name if name == DEFAULT_WORKSPACE else f"{store.stem}.{name}{store.suffix}"
    workspace = Workspace(name=name, store=file, agent_access=agent_access)
    db.add(workspace)
    db.commit()
    return workspace


def get_workspace(db: DbSession, name: str) -> Workspace:
    found = db.scalar(select(Workspace).where(Workspace.name == name))
    if found is None:
        names = ", ".join(db.scalars(select(Workspace.name).order_by(Workspace.name)))
        names = names or "none yet"
        raise NotFound(f"no workspace {name!r} (workspaces: {names})")
    return found


def set_agent_access(db: DbSession, name: str, agent_access: str) -> Workspace:
    _check_choice(agent_access, AGENT_ACCESS, "agent access")
    workspace = get_workspace(db, name)
    workspace.agent_access = agent_access
    db.commit()
    return workspace


def create_user(
    db: DbSession,
    email: str,
    password: str,
    workspace: str,
    role: str,
    agent_id: str | None = None,
    team: str | None = None,
) -> Seat:
    """A seat for `email` in `workspace` (the user is created on first use). The instance
    operator's command (`chatlens users create`): it seats an existing user of any
    workspace; a workspace admin invites instead (`invite`)."""
    email = _check_seat(email, role, agent_id)
    ws = get_workspace(db, workspace)
    user = db.scalar(select(User).where(User.email == email))
    if user is None:
        user = _new_user(db, email, password)
    seat = _seat(db, user, ws, role, agent_id, team)
    db.commit()
    return seat


def _check_seat(email: str, role: str, agent_id: str | None) -> str:
    """The email as stored (trimmed, lower-case), once email and role are valid."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InputError(f"{email!r} is not an email address")
    _check_choice(role, ROLES, "role")
    if role == "agent" and not agent_id:
        raise InputError("an agent seat needs --agent-id: the agent_id its events carry")
    return email


def _new_user(db: DbSession, email: str, password: str) -> User:
    if len(password) < credentials.MIN_PASSWORD:
        raise InputError(f"the password needs at least {credentials.MIN_PASSWORD} characters")
    user = User(email=email, password_hash=credentials.hash_password(password))
    db.add(user)
    db.flush()
    return user


def _seat(
    db: DbSession, user: User, ws: Workspace, role: str, agent_id: str | None, team: str | None
) -> Seat:
    seat = db.scalar(select(Seat).where(Seat.user_id == user.id, Seat.workspace_id == ws.id))
    if seat is None:
        seat = Seat(user_id=user.id, workspace_id=ws.id, role=role)
        db.add(seat)
    seat.role, seat.agent_id, seat.team = role, agent_id, team
    return seat


@dataclass
class Offer:
    """What a workspace admin's seat request did: `seated` changed the seat of a member of
    the workspace; `invited` made an invitation whose link (`token`, shown once) the admin
    passes on. The two answers for an email without a seat here are the same whether or not
    it has an account elsewhere: the workspace learns nothing about other workspaces."""

    status: str
    email: str
    role: str
    agent_id: str | None
    team: str | None
    token: str | None = None
    expires_at: dt.datetime | None = None


def invite(
    db: DbSession,
    workspace: str,
    email: str,
    role: str,
    agent_id: str | None = None,
    team: str | None = None,
) -> Offer:
    """A workspace admin gives a seat: a member's seat changes at once; anyone else (a new
    email or a user of another workspace) is invited and takes the seat by accepting."""
    email = _check_seat(email, role, agent_id)
    ws = get_workspace(db, workspace)
    member = db.scalar(
        select(Seat).join(User).where(User.email == email, Seat.workspace_id == ws.id)
    )
    if member is not None:
        member.role, member.agent_id, member.team = role, agent_id, team
        db.commit()
        return Offer("seated", email, role, agent_id, team)
    token = credentials.new_token()
    expires = now() + dt.timedelta(days=INVITATION_DAYS)
    db.add(
        Invitation(
            workspace_id=ws.id,
            email=email,
            role=role,
            agent_id=agent_id,
            team=team,
            token_hash=credentials.token_hash(token),
            expires_at=expires,
        )
    )
    db.commit()
    return Offer("invited", email, role, agent_id, team, token, expires)


def find_invitation(db: DbSession, token: str) -> Invitation | None:
    """The open invitation a link's token names (None when unknown, used or expired)."""
    found = db.scalar(
        select(Invitation).where(Invitation.token_hash == credentials.token_hash(token))
    )
    if found is None or found.accepted_at is not None or found.expires_at <= now():
        return None
    return found


def pending_invitations(db: DbSession, workspace: str) -> list[Invitation]:
    ws = get_workspace(db, workspace)
    found = select(Invitation).where(
        Invitation.workspace_id == ws.id,
        Invitation.accepted_at.is_(None),
        Invitation.expires_at > now(),
    )
    return list(db.scalars(found.order_by(Invitation.email)))


def accept_invitation(db: DbSession, token: str, password: str) -> Seat | None:
    """The invitee's consent: the seat, taken with the password of their account (an email
    with no account yet gets one with this password). None when the password is wrong."""
    invitation = find_invitation(db, token)
    if invitation is None:
        raise NotFound(UNKNOWN_INVITATION)
    user = db.scalar(select(User).where(User.email == invitation.email))
    if user is None:
        user = _new_user(db, invitation.email, password)
    elif not credentials.verify_password(user.password_hash, password):
        return None
    seat = _seat(
        db, user, invitation.workspace, invitation.role, invitation.agent_id, invitation.team
    )
    invitation.accepted_at = now()
    db.commit()
    return seat


@dataclass
class NewKey:
    key: str
    """Shown once; only its hash is stored."""
    record: ApiKey


def create_key(db: DbSession, workspace: str, scope: str, name: str | None = None) -> NewKey:
    _check_choice(scope, SCOPES, "scope")
    ws = get_workspace(db, workspace)
    key = credentials.new_api_key()
    record = ApiKey(
        workspace_id=ws.id,
        scope=scope,
        name=name,
        prefix=key[:12],
        key_hash=credentials.token_hash(key),
    )
    db.add(record)
    db.commit()
    return NewKey(key, record)


def list_keys(db: DbSession, workspace: str) -> list[ApiKey]:
    ws = get_workspace(db, workspace)
    return list(db.scalars(select(ApiKey).where(ApiKey.workspace_id == ws.id)))


def revoke_key(db: DbSession, key_id: int, workspace: str | None = None) -> ApiKey:
    record = db.get(ApiKey, key_id)
    if record is None or (workspace is not None and record.workspace.name != workspace):
        raise NotFound(f"no API key with id {key_id}")
    if record.revoked_at is None:
        record.revoked_at = now()
        db.commit()
    return record


def find_key(db: DbSession, key: str) -> ApiKey | None:
    """The live key record for a presented key, or None."""
    record = db.scalar(select(ApiKey).where(ApiKey.key_hash == credentials.token_hash(key)))
    return record if record is not None and record.revoked_at is None else None


def authenticate(db: DbSession, email: str, password: str) -> User | None:
    user = db.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        credentials.dummy_verify()
        return None
    return user if credentials.verify_password(user.password_hash, password) else None


def start_session(db: DbSession, user: User) -> tuple[str, Session]:
    """A new login; returns the token for the cookie and the session row."""
    token = credentials.new_token()
    session = Session(
        token_hash=credentials.token_hash(token),
        user_id=user.id,
        csrf_token=credentials.new_token(),
        expires_at=now() + dt.timedelta(days=SESSION_DAYS),
    )
    db.add(session)
    db.commit()
    return token, session


def find_session(db: DbSession, token: str) -> Session | None:
    session = db.get(Session, credentials.token_hash(token))
    if session is None:
        return None
    if session.expires_at <= now():
        db.delete(session)
        db.commit()
        return None
    return session


def end_session(db: DbSession, token: str) -> None:
    session = db.get(Session, credentials.token_hash(token))
    if session is not None:
        db.delete(session)
        db.commit()


def server_secret(factory: sessionmaker[DbSession]) -> str:
    """The cookie signing secret: $CHATLENS_SECRET_KEY, else one generated and kept."""
    import os

    if os.environ.get("CHATLENS_SECRET_KEY"):
        return os.environ["CHATLENS_SECRET_KEY"]
    with factory() as db:
        row = db.get(Meta, "secret_key")
        if row is None:
            row = Meta(key="secret_key", value=credentials.new_token())
            db.add(row)
            db.commit()
        return row.value
