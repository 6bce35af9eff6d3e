"""What an agent seat may see: its own agent-level figures and transcripts, plus the
aggregates its workspace's `agent_access` allows (own | team | workspace).

Admins, managers and read keys see every figure of their workspace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

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
