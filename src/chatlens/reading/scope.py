"""What a seat may read, decided here and nowhere else (the `Reader` applies it to every
read it makes).

- Admins, managers and read keys read every figure and every conversation of their workspace.
- An agent reads its own agent-level figures and the aggregates its workspace's
  `agent_access` allows (`own`: only its own; `team`: its team's; `workspace`: all), and only
  the conversations it took part in (lists, transcripts, comments, topics' questions).
- Team reports name other agents: agents are refused them.
- The live view shows the whole workspace: agents only with `agent_access` workspace; ingest
  keys read nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Protocol

from chatlens.errors import Forbidden
from chatlens.metrics import Query


class Seat(Protocol):
    """Who reads (the server's `auth.Principal` is one)."""

    @property
    def workspace(self) -> str: ...
    @property
    def role(self) -> str:
        """admin, manager or agent for people; ingest or read for API keys."""
        ...

    @property
    def agent_id(self) -> str | None: ...
    @property
    def team(self) -> str | None: ...
    @property
    def agent_access(self) -> str: ...


Filters = Mapping[str, tuple[str, ...]]


def figure_filters(
    seat: Seat, filters: Filters, dimensions: tuple[str, ...] = ()
) -> dict[str, tuple[str, ...]]:
    """The filters figures are computed with for `seat` (an agent's narrowed to what it may
    see)."""
    scoped = dict(filters)
    if seat.role != "agent":
        return scoped
    own = seat.agent_id or ""
    asked = scoped.get("agent_id")
    if asked is not None and set(asked) != {own}:
        raise Forbidden("agents can read only their own agent-level figures")
    names_agents = asked is not None or "agent_id" in dimensions
    own_team_only = seat.team is not None and scoped.get("team") == (seat.team,)
    aggregate_allowed = seat.agent_access == "workspace" or (
        seat.agent_access == "team" and own_team_only
    )
    if names_agents or not aggregate_allowed:
        scoped["agent_id"] = (own,)
    return scoped


def figure_query(seat: Seat, query: Query) -> Query:
    """`query` as `seat` may run it."""
    filters = figure_filters(seat, query.filters, query.dimensions)
    return dataclasses.replace(query, filters=filters)


def conversation_filters(seat: Seat, filters: Filters) -> dict[str, tuple[str, ...]]:
    """Conversation lists, exports, comments: an agent sees only the chats it took part in."""
    scoped = dict(filters)
    if seat.role == "agent":
        asked = scoped.get("agent_id")
        if asked is not None and set(asked) != {seat.agent_id}:
            raise Forbidden("agents can read only their own conversations")
        scoped["agent_id"] = (seat.agent_id or "",)
    return scoped


def narrowed(seat: Seat) -> bool:
    """Whether what `seat` reads may be narrowed to its own (pages say so)."""
    return seat.role == "agent"


def conversations_agent(seat: Seat) -> str | None:
    """The agent whose conversations alone `seat` reads (topics, questions); None: all."""
    return (seat.agent_id or "") if seat.role == "agent" else None


def may_read_conversation(seat: Seat, facts: Mapping[str, Any]) -> bool:
    """Whether `seat` may read the conversation of these facts (agents: if they took part)."""
    return seat.role != "agent" or seat.agent_id in (facts["agents"] or [])


def check_team_reports(seat: Seat) -> None:
    """A team's figures and its ranking name other agents: not for agent seats."""
    if seat.role == "agent":
        raise Forbidden("agents see only their own report: /agents/<your agent id>")


def reads_live(seat: Seat) -> bool:
    """The live view shows the whole workspace: agents only with `agent_access` workspace."""
    return seat.role != "ingest" and (seat.role != "agent" or seat.agent_access == "workspace")


def filter_options(seat: Seat, found: dict[str, list[str]]) -> dict[str, list[str]]:
    """The filter menus offered to `seat` (an agent is offered only itself)."""
    if seat.role == "agent":
        return {**found, "agent_id": [seat.agent_id or ""]}
    return found
