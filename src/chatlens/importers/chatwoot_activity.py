"""Chatwoot's activity messages: their templates, and a replay of a conversation's timeline
that turns them into the chatlens events they mean.

Chatwoot writes what happens to a conversation as messages of type `activity`, from the
templates of config/locales/en.yml (`conversations.activity`): "Assigned to Aino by Carla",
"Conversation was marked resolved by Aino", "Conversation was reopened by Helper Bot"... A
template's meaning can depend on the state before it (a reopen from `pending` is the bot handing
the conversation over; from `resolved` it is a reopen), so `Replay` walks the messages of a
conversation in order, keeping that state.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

AUTOMATION = "Automation System"  # the user_name of activities done by automation rules


# -- the templates -----------------------------------------------------------------------


@dataclass(frozen=True)
class Activity:
    """A recognised activity message: what happened and the names it mentions."""

    kind: str
    actor: str | None = None
    target: str | None = None  # "Assigned to <target>": an agent, a team or a bot
    team: str | None = None
    labels: tuple[str, ...] = ()
    reason: str | None = None


_LABELS = r"(?P<labels>[\w-]+(?:, [\w-]+)*)"  # label titles: letters, digits, _ and -
# (kind, pattern) in the order they are tried: the more specific first.
ACTIVITY_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (
            "inactivity",
            r"Conversation was marked resolved by (?P<actor>.+?) due to "
            r"(?:\d+ (?:days?|hours?|minutes?) of )?inactivity",
        ),
        ("resolved", r"Conversation was marked resolved by (?P<actor>.+?) \((?P<reason>.*)\)"),
        ("resolved", r"Conversation was marked resolved by (?P<actor>.+?): (?P<reason>.*)"),
        ("resolved", r"Conversation was marked resolved by (?P<actor>.+)"),
        ("contact_resolved", r"Conversation was resolved by (?P<actor>.+)"),
        ("reopened", r"Conversation was reopened by (?P<actor>.+)"),
        (
            "bot_error",
            r"Conversation was marked open by system due to an error with the agent bot\.",
        ),
        ("opened_by_reply", r"Conversation was marked open automatically after an agent reply"),
        ("reopened", r"Conversation was marked open by (?P<actor>.+?) \((?P<reason>.*)\)"),
        ("reopened", r"Conversation was marked open by (?P<actor>.+)"),
        ("system_reopened", r"System reopened the conversation due to a new incoming message\."),
        ("pending", r"Conversation was marked as pending by (?P<actor>.+)"),
        ("snoozed", r"Conversation was snoozed by (?P<actor>.+)"),
        ("self_assigned", r"(?P<actor>.+) self-assigned this conversation"),
        ("assigned_via_team", r"Assigned to (?P<target>.+?) via (?P<team>.+?) by (?P<actor>.+)"),
        ("assigned", r"Assigned to (?P<target>.+?) by (?P<actor>.+)"),
        ("unassigned", r"Conversation unassigned by (?P<actor>.+)"),
        ("team_unassigned", r"Unassigned from (?P<team>.+?) by (?P<actor>.+)"),
        ("labels_added", r"(?P<actor>.+?) added " + _LABELS),
        ("labels_removed", r"(?P<actor>.+?) removed " + _LABELS),
    )
)


def parse_activity(content: Any) -> Activity | None:
    """The activity an English activity message records; None for the ones chatlens has no
    event for (priority, SLA, mute, Linear issues...) and for other locales."""
    if not isinstance(content, str):
        return None
    text = content.strip()
    for kind, pattern in ACTIVITY_PATTERNS:
        match = pattern.fullmatch(text)
        if match:
            found = match.groupdict()
            labels = tuple(found["labels"].split(", ")) if found.get("labels") else ()
            return Activity(
                kind,
                actor=found.get("actor"),
                target=found.get("target"),
                team=found.get("team"),
                labels=labels,
                reason=found.get("reason") or None,
            )
    return None


# -- what a run has learnt -----------------------------------------------------------------


@dataclass
class Directory:
    """Names seen so far in the run: activity messages name people, events need ids."""

    agents: dict[str, str] = field(default_factory=dict)  # user name -> user id
    bots: dict[str, str] = field(default_factory=dict)  # bot name -> chatlens bot_id
    teams: set[str] = field(default_factory=set)

    def agent_id(self, name: str) -> str:
        """The agent's id, or the name itself when the run never saw that agent's id."""
        return self.agents.get(name, name)

    def target_kind(self, name: str) -> str:
        """What "Assigned to <name>" assigned to: Chatwoot writes agent and team assignments
        with the same template. Known names decide; else an all-lowercase name is a team
        (Chatwoot lower-cases team names) and anything else an agent."""
        if name in self.teams:
            return "team"
        if name in self.agents:
            return "agent"
        if name in self.bots:
            return "bot"
        if name == name.lower() and any(c.isalpha() for c in name):
            return "team"
        return "agent"


@dataclass(frozen=True)
class Entry:
    """One message on its conversation's timeline."""

    message: str  # the message id
    ts: str
    order: tuple[float, int]
    kind: str  # customer, agent, bot, system, private or activity
    activity: Activity | None = None


@dataclass
class Plan:
    """The replay's result: the events of each activity (or reopening) message."""

    events: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    closed: bool = False
    human: bool = False
    bot_seen: bool = False


class Replay:
    """Walks a conversation's timeline in order, keeping its state (closed, with the bot,
    assignee, team), and turns each activity message into the event it means."""

    def __init__(self, directory: Directory, pending_at_start: bool):
        self.names = directory
        self.plan = Plan()
        self.bot = pending_at_start  # Chatwoot's `pending`: the bot has the conversation
        self.assignee: str | None = None
        self.previous: str | None = None  # the last agent ever assigned
        self.team: str | None = None

    def run(self, entries: Iterable[Entry]) -> Plan:
        for entry in sorted(entries, key=lambda e: e.order):
            self.step(entry)
        return self.plan

    def emit(self, entry: Entry, type_: str, suffix: tuple[str, ...] = (), **fields: Any) -> None:
        event = {"type": type_, "ts": entry.ts, "_key": ("msg", entry.message, *suffix)}
        event.update({k: v for k, v in fields.items() if v is not None})
        self.plan.events.setdefault(entry.message, []).append(event)

    def step(self, entry: Entry) -> None:
        if entry.kind == "bot":
            self.bot = self.plan.bot_seen = True
        elif entry.kind == "agent":
            self.bot, self.plan.human = False, True
        elif entry.kind == "customer" and self.plan.closed:
            # Chatwoot reopens a resolved conversation on a new incoming message (older
            # versions wrote no activity for it; newer ones add "System reopened ...").
            self.reopen(entry, ("reopen",))
        elif entry.activity is not None:
            self.activity(entry, entry.activity)

    def activity(self, entry: Entry, act: Activity) -> None:
        kind = act.kind
        if kind in ("resolved", "contact_resolved", "inactivity"):
            self.close(entry, act)
        elif kind in ("reopened", "bot_error"):
            if self.plan.closed:
                self.reopen(entry)
            elif self.bot:  # pending -> open: the bot handed over (or a human took over)
                reason = "bot_error" if kind == "bot_error" else None
                self.emit(entry, "handoff_requested", reason=reason, team=self.team)
                self.bot, self.plan.human = False, True
        elif kind in ("system_reopened", "snoozed"):
            if self.plan.closed:
                self.reopen(entry)
        elif kind == "pending":
            if self.plan.closed:
                self.reopen(entry)
            self.bot = True
        elif kind == "opened_by_reply":
            self.bot = False
        elif kind == "self_assigned" and act.actor:
            self.assign(entry, self.names.agent_id(act.actor))
        elif kind == "assigned" and act.target:
            self.assigned(entry, act.target)
        elif kind == "assigned_via_team" and act.target and act.team:
            self.names.teams.add(act.team)
            self.assign(entry, self.names.agent_id(act.target), team=act.team)
        elif kind == "unassigned":
            self.assignee = None
        elif kind == "team_unassigned":
            self.team = None
        elif kind in ("labels_added", "labels_removed"):
            type_ = "tag_added" if kind == "labels_added" else "tag_removed"
            for label in act.labels:
                self.emit(entry, type_, ("tag", label), tag=label)

    def close(self, entry: Entry, act: Activity) -> None:
        by: str | None = None
        agent: str | None = None
        bot: str | None = None
        reason = act.reason
        if act.kind == "contact_resolved":
            by = "customer"
        elif act.kind == "inactivity":
            reason = "inactivity"
        elif act.actor in self.names.bots:
            by, bot = "bot", self.names.bots[act.actor]
        elif act.actor != AUTOMATION and act.actor:
            by, agent = "agent", self.names.agent_id(act.actor)
        # A close with no human part (the bot's, or nobody's) carries no outcome of its own:
        # chatlens judges those conversations by the bot's last turn / the missed-chat rule.
        outcome = "resolved" if self.plan.human or not self.plan.bot_seen or by else None
        self.emit(
            entry,
            "conversation_closed",
            resolution=outcome,
            resolved_by=by,
            agent_id=agent,
            bot_id=bot,
            reason=reason[:512] if reason else None,
            team=self.team,
        )
        self.plan.closed = True

    def reopen(self, entry: Entry, suffix: tuple[str, ...] = ()) -> None:
        self.emit(entry, "conversation_reopened", suffix, team=self.team)
        self.plan.closed = False

    def assigned(self, entry: Entry, target: str) -> None:
        kind = self.names.target_kind(target)
        if kind == "bot":
            self.bot = True
        elif kind == "agent":
            self.assign(entry, self.names.agent_id(target))
        elif self.team is not None and target != self.team:
            self.emit(entry, "transferred", team=target, from_agent_id=self.assignee)
            self.team = target
        else:
            self.team = target  # the first team: carried by the events that follow

    def assign(self, entry: Entry, agent: str, team: str | None = None) -> None:
        team_changed = team is not None and team != self.team
        self.team = team or self.team
        if agent == self.assignee and not team_changed:
            return
        if self.previous is not None and (agent != self.previous or team_changed):
            self.emit(
                entry, "transferred", agent_id=agent, from_agent_id=self.previous, team=self.team
            )
        else:
            self.emit(entry, "agent_joined", agent_id=agent, team=self.team)
        self.assignee = self.previous = agent
        self.bot, self.plan.human = False, True
