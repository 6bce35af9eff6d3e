"""An independent reference for every KPI of docs/metrics.md, computed from raw event dicts.

Nothing here imports chatlens: each definition is re-derived in plain Python from the
product's KPI catalogue and event model (docs/metrics.md, docs/events.md) and docs/facts.md
(where docs/facts.md makes a definition precise, it is followed). The engine's results are
compared with these values in test_metrics_reference.py, so a disagreement means one of the
two misreads the docs.

Time: events are instants (UTC); periods and buckets are local wall-clock days of the
workspace zone, turned into instants with zoneinfo (so a day can last 23 or 25 hours). A
conversation belongs to the bucket in which it started; event counts (tickets, knowledge
items, declines) to the bucket of their own time; state intervals (health checks, agent
status) are cut at bucket bounds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

UTC = dt.UTC

DEFAULT_SETTINGS: dict[str, Any] = {
    # docs/metrics.md, "Workspace settings", with their documented defaults
    "timezone": "UTC",
    "sla_first_response_seconds": 60,
    "missed_chat_grace_seconds": 60,
    "fcr_followup_days": 7,
    "attribution_days": 7,
    "conversion_goals": ["purchase", "signup", "lead"],
    "returning_window_days": 30,
    "cost_per_agent_conversation": None,
    "cost_per_bot_conversation": None,
    "canned_seconds_saved": None,
    "fallback_phrases": [],
    "business_hours": None,  # {"mon": ["09:00", "17:00"], ...}
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

# docs/metrics.md ("Workspace settings") lists the multilingual default phrases; the
# fixtures only rely on phrases listed there.
FALLBACK_PHRASES = (
    "sorry, i didn't understand",
    "en ymmärtänyt",
    "jag förstod inte",
    "je n'ai pas compris",
    "saya tidak mengerti",
)
PRIORITY_RANK = {"low": 1, "medium": 2, "normal": 2, "high": 3, "urgent": 4}


def instant(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def seconds(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds()


# ---------------------------------------------------------------------------------------
# plain statistics


def mean(values: Iterable[float | None]) -> float | None:
    xs = [float(v) for v in values if v is not None]
    return sum(xs) / len(xs) if xs else None


def quantile(values: Iterable[float | None], q: float) -> float | None:
    """Continuous quantile: linear interpolation between the two nearest values."""
    xs = sorted(float(v) for v in values if v is not None)
    if not xs:
        return None
    h = (len(xs) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(xs) - 1)
    return xs[low] + (h - low) * (xs[high] - xs[low])


def share(hits: int, of: int) -> float | None:
    return hits / of if of else None


def pearson(pairs: list[tuple[float, float]]) -> float | None:
    if len(pairs) < 2:
        return None
    mx = sum(x for x, _ in pairs) / len(pairs)
    my = sum(y for _, y in pairs) / len(pairs)
    sxy = sum((x - mx) * (y - my) for x, y in pairs)
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    syy = sum((y - my) ** 2 for _, y in pairs)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


# ---------------------------------------------------------------------------------------
# one conversation, derived from its events (docs/facts.md)


@dataclass
class Ev:
    at: dt.datetime
    order: int  # position in the input: breaks ties between equal times
    raw: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.raw.get(key)

    @property
    def type(self) -> str:
        return self.raw["type"]


def is_counted_message(e: Ev) -> bool:
    return e.type == "message" and e["sender"] in ("customer", "bot", "agent") and not e["private"]


@dataclass
class Conversation:
    cid: str
    events: list[Ev]
    settings: dict[str, Any]
    # filled in by the cross-conversation pass of Reference
    followup_contact: bool = False
    is_followup: bool = False
    credited_goals: list[Ev] = field(default_factory=list)
    visit_started_at: dt.datetime | None = None
    bounced: bool = False

    def __post_init__(self) -> None:
        ev = self.events
        s = self.settings
        started = [e for e in ev if e.type == "conversation_started"]
        self.started_at = started[0].at if started else ev[0].at
        self.initiated_by = (started[0]["initiated_by"] if started else None) or "customer"
        self.customer_id = self._dimension("customer_id")
        channel = self._dimension("channel")
        self.channel = channel.strip().lower() if channel else None

        self.msgs = [e for e in ev if is_counted_message(e)]
        by = defaultdict(list)
        for m in self.msgs:
            by[m["sender"]].append(m)
        self.customer_msgs, self.bot_msgs, self.agent_msgs = by["customer"], by["bot"], by["agent"]
        self.messages = len(self.msgs)
        self.first_message_at = self.msgs[0].at if self.msgs else None
        self.last_message_at = self.msgs[-1].at if self.msgs else None

        phrases = [*FALLBACK_PHRASES, *(p.lower() for p in s["fallback_phrases"])]

        def fallback(m: Ev) -> bool:
            if m["fallback"] is not None:
                return bool(m["fallback"])
            text = (m["text"] or "").lower().replace("\u2019", "'")
            return any(p in text for p in phrases)

        self.fallbacks = sum(1 for m in self.bot_msgs if fallback(m))
        self.last_bot_turn_fallback = bool(self.bot_msgs) and fallback(self.bot_msgs[-1])
        welcomes = [m for m in self.bot_msgs if m["welcome"]]
        if welcomes:
            self.engaged = any(c.at > welcomes[0].at for c in self.customer_msgs)
        else:
            self.engaged = bool(self.customer_msgs)

        self.bot_involved = bool(self.bot_msgs)
        handoffs = [e for e in ev if e.type == "handoff_requested"]
        joins = [e for e in ev if e.type == "agent_joined"]
        self.has_human_part = bool(handoffs or joins or self.agent_msgs or not self.bot_involved)
        self.bot_only = self.bot_involved and not self.has_human_part

        # the human queue: the handoff, else the start when no bot took part, else the
        # first pickup or agent message (fixtures never have an agent write before joining)
        self.queue_entry_at: dt.datetime | None = None
        if self.has_human_part:
            if handoffs:
                self.queue_entry_at = handoffs[0].at
            elif not self.bot_involved:
                self.queue_entry_at = self.started_at
            else:
                self.queue_entry_at = (joins or self.agent_msgs)[0].at
        q = self.queue_entry_at
        pickups = [e.at for e in joins if q is not None and e.at >= q]
        replies = [m.at for m in self.agent_msgs if q is not None and m.at >= q]
        self.picked_up_at = pickups[0] if pickups else None
        self.first_response_at = replies[0] if replies else None

        # open/closed state, in event order
        closed_now, last_close = False, None
        for e in ev:
            if e.type == "conversation_closed":
                closed_now, last_close = True, e
            elif e.type == "conversation_reopened":
                closed_now = False
        self.closes = sum(1 for e in ev if e.type == "conversation_closed")
        self.reopens = sum(1 for e in ev if e.type == "conversation_reopened")
        self.is_closed = closed_now
        self.closed_at = last_close.at if closed_now and last_close else None
        self.resolution = last_close["resolution"] if closed_now and last_close else None
        self.resolved_by = last_close["resolved_by"] if closed_now and last_close else None
        self.escalated = any(
            e.type == "conversation_closed" and e["resolution"] == "escalated" for e in ev
        )
        if self.closed_at is not None:
            self.ended_at = self.closed_at
        else:
            self.ended_at = max(e.at for e in ev if e.type != "rating")

        # docs/facts.md `unanswered`: no agent message before the conversation ended
        self.unanswered = self.has_human_part and not any(
            m.at <= self.ended_at for m in self.agent_msgs
        )
        # docs/metrics.md "Boundaries": within N includes N
        self.left_within_grace = (
            q is not None and seconds(self.ended_at, q) <= s["missed_chat_grace_seconds"]
        )
        self.missed = self.unanswered and not self.left_within_grace
        declines = [e for e in ev if e.type == "chat_declined"]
        self.missed_reason = None
        if self.missed:
            if any(e["reason"] == "timeout" for e in declines):
                self.missed_reason = "timeout"
            elif declines:
                self.missed_reason = "declined"
            else:
                self.missed_reason = "customer_left"
        self.wait_seconds = (
            seconds(self.picked_up_at, q)
            if self.picked_up_at is not None and q is not None and not self.missed
            else None
        )
        self.first_response_seconds = (
            seconds(self.first_response_at, q) if self.first_response_at and q else None
        )
        self.response_spans = self._response_spans()
        self.response_times = [seconds(z, a) for a, z in self.response_spans]
        self.bot_response_times = [
            seconds(b.at, a.at)
            for a, b in zip(self.msgs, self.msgs[1:], strict=False)
            if a["sender"] == "customer" and b["sender"] == "bot"
        ]
        self.transfers = sum(1 for e in ev if e.type == "transferred")
        self.stints = self._stints()
        self.handle_seconds = sum(seconds(z, a) for _, a, z in self.stints) if self.stints else None
        self.agents = self._agents()
        self._credits(joins, q)

        tags: dict[str, Ev] = {}
        for e in ev:
            if e.type in ("tag_added", "tag_removed"):
                tags[e["tag"]] = e
        current = [e for e in tags.values() if e.type == "tag_added"]
        self.tags = sorted(e["tag"] for e in current)
        self.tag_categories = sorted({e["category"] for e in current if e["category"]})
        ranks = [PRIORITY_RANK[e["priority"]] for e in current if e["priority"]]
        self.top_priority_rank = max(ranks) if ranks else None
        self.canned_messages = sum(1 for m in self.agent_msgs if m["canned_response_id"])

        self.resolution_seconds = (
            seconds(self.closed_at, self.started_at)
            if self.resolution == "resolved" and self.closed_at
            else None
        )
        if self.first_message_at is None:
            self.duration_seconds = None
        else:
            end = max(t for t in (self.last_message_at, self.closed_at) if t is not None)
            self.duration_seconds = seconds(end, self.first_message_at)
        self.bot_resolved = self.bot_only and (
            (self.resolution == "resolved" and self.resolved_by in ("bot", "customer"))
            or (self.resolution is None and not self.last_bot_turn_fallback)
        )

        latest: dict[str, float] = {}
        for e in ev:
            if e.type == "rating":
                score = e["score"]
                if e["kind"] == "thumbs" and isinstance(score, str):
                    score = {"up": 1, "down": 0}[score]
                latest[e["kind"]] = float(score)
        self.csat, self.nps, self.ces = latest.get("csat"), latest.get("nps"), latest.get("ces")
        self.thumbs, self.uss = latest.get("thumbs"), latest.get("uss")
        self.rated_negative = (self.csat is not None and self.csat <= 2) or self.thumbs == 0

    def _credits(self, joins: list[Ev], q: dt.datetime | None) -> None:
        """docs/facts.md "Crediting agents": who gets which figure of the chat."""
        self.first_responses = [self.first_response_seconds]  # by agent: per stint
        self.credited_close = True  # by agent: the row's agent closed the chat
        self.pickup_agent = next((e["agent_id"] for e in joins if q and e.at >= q), None)
        self.first_response_agent = next(
            (m["agent_id"] for m in self.agent_msgs if q and m.at >= q), None
        )
        starts = [
            e for e in self.events if e.type in ("agent_joined", "transferred") and e["agent_id"]
        ]

        def agent_at(at: dt.datetime | None) -> str | None:
            """The agent of the last stint begun by `at`, else the last agent who wrote."""
            begun = [e for e in starts if at is None or e.at <= at]
            wrote = [m for m in self.agent_msgs if at is None or m.at <= at]
            last = (begun or wrote or [None])[-1]
            return last["agent_id"] if last is not None else None

        self.closing_agent = agent_at(None)
        self.rating_agents = {}
        for e in self.events:
            if e.type == "rating" and e["score"] is not None:
                self.rating_agents[e["kind"]] = agent_at(e.at)  # the latest rating wins
        declines = [e for e in self.events if e.type == "chat_declined"]
        self.offered_to = {e["agent_id"] for e in self.events if e.type == "chat_offered"}
        self.declined_by = {e["agent_id"] for e in declines}
        self.timed_out_by = {e["agent_id"] for e in declines if e["reason"] == "timeout"}
        self.offered_agents = set(self.agents) | self.offered_to | self.declined_by
        # per stint: from its start (the first stint: queue entry) to the agent's first
        # message inside it
        self.stint_responses: list[tuple[str, float | None]] = []
        for n, (who, a, z) in enumerate(self.stints):
            own = [m.at for m in self.agent_msgs if m["agent_id"] == who and a <= m.at <= z]
            if n == 0 and who == self.first_response_agent:
                # the first stint runs from queue entry: the answer may precede agent_joined
                self.stint_responses.append((who, self.first_response_seconds))
                continue
            since = q if n == 0 and q is not None else a
            self.stint_responses.append((who, seconds(own[0], since) if own else None))

    def _dimension(self, name: str) -> Any:
        """The value on conversation_started wins; later events fill in what it lacked."""
        for e in self.events:
            if e.type == "conversation_started" and e[name] is not None:
                return e[name]
        for e in self.events:
            if e[name] is not None:
                return e[name]
        return None

    def _response_spans(self) -> list[tuple[dt.datetime, dt.datetime]]:
        # docs/facts.md `response_times`: each run of consecutive customer messages answered
        # by an agent before the customer wrote again after another turn: run start -> the
        # agent's reply.
        runs = [
            i
            for i, m in enumerate(self.msgs)
            if m["sender"] == "customer" and (i == 0 or self.msgs[i - 1]["sender"] != "customer")
        ]
        out = []
        for number, i in enumerate(runs):
            reply = next((m for m in self.msgs[i + 1 :] if m["sender"] == "agent"), None)
            if reply is None:
                continue
            following = runs[number + 1] if number + 1 < len(runs) else None
            if following is not None and self.msgs[following].at < reply.at:
                continue  # the customer started another run before the agent answered
            out.append((self.msgs[i].at, reply.at))
        return out

    def _stints(self) -> list[tuple[str, dt.datetime, dt.datetime]]:
        # docs/facts.md "Agent stints": a stint runs from agent_joined (or a transfer to the
        # agent) to the next transfer or close, else to that agent's last message (an agent
        # who never wrote and was never relieved: a stint of 0 s)
        out = []
        for k, e in enumerate(self.events):
            if e.type not in ("agent_joined", "transferred") or not e["agent_id"]:
                continue
            end = next(
                (
                    x.at
                    for x in self.events[k + 1 :]
                    if x.type in ("transferred", "conversation_closed")
                ),
                None,
            )
            if end is None:
                own = [m.at for m in self.agent_msgs if m["agent_id"] == e["agent_id"]]
                own = [t for t in own if t >= e.at]
                end = own[-1] if own else e.at
            out.append((e["agent_id"], e.at, end))
        return out

    def _agents(self) -> list[str]:
        seen: list[str] = []
        for e in self.events:
            handled = e.type in ("agent_joined", "transferred") or (
                e.type == "message" and e["sender"] == "agent" and not e["private"]
            )
            if handled and e["agent_id"] and e["agent_id"] not in seen:
                seen.append(e["agent_id"])
        return seen

    # cross-conversation facts
    @property
    def first_contact_resolved(self) -> bool:
        return (
            self.is_closed
            and self.resolution == "resolved"
            and self.reopens == 0
            and self.transfers == 0
            and not self.escalated
            and not self.followup_contact
        )

    @property
    def goals(self) -> list[str]:
        return sorted({g["goal"] for g in self.credited_goals})

    @property
    def conversions(self) -> list[Ev]:
        return [g for g in self.credited_goals if g["goal"] in self.settings["conversion_goals"]]

    @property
    def leads(self) -> int:
        return sum(1 for g in self.credited_goals if g["goal"] == "lead")

    @property
    def revenue(self) -> float | None:
        values = [g["value"] for g in self.credited_goals if g["goal"] == "purchase"]
        values = [v for v in values if v is not None]
        return float(sum(values)) if values else None


# ---------------------------------------------------------------------------------------
# periods and buckets


@dataclass(frozen=True)
class Bucket:
    label: dt.datetime  # local wall-clock start (naive), as the engine names its rows
    start: dt.datetime  # instant
    end: dt.datetime  # instant
    closed: bool  # the end instant is included
    local_start: dt.datetime  # naive local bound (for windows counted in local days)
    local_end: dt.datetime

    @property
    def hours(self) -> float:
        return seconds(self.end, self.start) / 3600

    def holds(self, at: dt.datetime) -> bool:
        return self.start <= at <= self.end if self.closed else self.start <= at < self.end


def _bound(text: str, *, end: bool) -> tuple[dt.datetime, bool]:
    if len(text) == 10:  # a date: the whole day (an end date means the next midnight)
        day = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        return (day + dt.timedelta(days=1) if end else day), False
    return dt.datetime.fromisoformat(text), end  # a date-time end includes that instant


# ---------------------------------------------------------------------------------------
# the reference


class Reference:
    agent: str | None = None
    """Split by agent: that agent's own stints, status intervals and declines."""

    def __init__(self, events: list[dict[str, Any]], **settings: Any) -> None:
        unknown = set(settings) - set(DEFAULT_SETTINGS)
        assert not unknown, unknown
        self.settings = {**DEFAULT_SETTINGS, **settings}
        self.zone = ZoneInfo(self.settings["timezone"])
        evs = sorted(
            (Ev(instant(e["ts"]), n, e) for n, e in enumerate(events)),
            key=lambda e: (e.at, e.order),
        )
        self.events = evs
        grouped: dict[str, list[Ev]] = defaultdict(list)
        for e in evs:
            if e["conversation_id"] is not None:
                grouped[e["conversation_id"]].append(e)
        self.conversations = [Conversation(c, es, self.settings) for c, es in grouped.items()]
        self.every_conversation = self.conversations  # splits narrow `conversations` only
        self.offered: list[Any] = self.conversations  # missed chats' rows (by agent: Offered)
        self._cross_conversation()

    def _cross_conversation(self) -> None:
        by_customer: dict[str, list[Conversation]] = defaultdict(list)
        for c in self.conversations:
            if c.customer_id is not None:
                by_customer[c.customer_id].append(c)
        followup = dt.timedelta(days=self.settings["fcr_followup_days"])
        for c in self.conversations:
            # the same pairs from the later side: c follows an earlier conversation
            c.is_followup = any(
                n is not c and n.started_at < c.started_at <= n.ended_at + followup
                for n in by_customer.get(c.customer_id or "", [])
            )
            c.followup_contact = any(
                n is not c and c.started_at < n.started_at <= c.ended_at + followup
                for n in by_customer.get(c.customer_id or "", [])
            )
        window = dt.timedelta(days=self.settings["attribution_days"])
        for g in self.of_type("goal_completed"):
            candidates = [
                c
                for c in by_customer.get(g["customer_id"], [])
                if g.at - window <= c.started_at <= g.at
            ]
            if candidates:
                max(candidates, key=lambda c: (c.started_at, c.cid)).credited_goals.append(g)
        for c in self.conversations:
            if c.missed_reason == "customer_left" and self._nobody_online(c.queue_entry_at):
                c.missed_reason = "no_agent_online"
            self._visit(c)

    def _nobody_online(self, at: dt.datetime | None) -> bool:
        """Agents report their status and none was online at `at` (each agent's latest
        status at or before it holds); False when nobody had reported one yet."""
        latest: dict[str, str] = {}
        for e in self.of_type("agent_status"):  # in time order: the last one wins
            if at is not None and e.at <= at:
                latest[e["agent_id"]] = e["status"]
        return bool(latest) and "online" not in latest.values()

    def _visit(self, c: Conversation) -> None:
        """The visit the chat happened in (the customer's latest visit_started before it,
        still active: it or a page view of it at most 30 minutes before the chat), and
        whether a missed chat ended the visit (no page view of it afterwards)."""
        visits = [
            e
            for e in self.of_type("visit_started")
            if e["customer_id"] == c.customer_id and e.at <= c.started_at
        ]
        if c.customer_id is None or not visits:
            return
        visit = visits[-1]
        pages = [
            e
            for e in self.events
            if e.type in ("visit_started", "page_view")
            and e["customer_id"] == c.customer_id
            and e["session_id"] == visit["session_id"]
        ]
        last_seen = max(e.at for e in pages if visit.at <= e.at <= c.started_at)
        if seconds(c.started_at, last_seen) > 30 * 60:
            return
        c.visit_started_at = visit.at
        c.bounced = c.missed and not any(e.type == "page_view" and e.at > c.ended_at for e in pages)

    def of_type(self, event_type: str) -> list[Ev]:
        return [e for e in self.events if e.type == event_type]

    # -- periods -------------------------------------------------------------------------

    def to_instant(self, local: dt.datetime) -> dt.datetime:
        return local.replace(tzinfo=self.zone).astimezone(UTC)

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.zone).replace(tzinfo=None)

    def bucket(self, local_start: dt.datetime, local_end: dt.datetime, closed: bool) -> Bucket:
        return Bucket(
            local_start,
            self.to_instant(local_start),
            self.to_instant(local_end),
            closed,
            local_start,
            local_end,
        )

    def period(self, start: str, end: str) -> Bucket:
        (a, _), (b, closed) = _bound(start, end=False), _bound(end, end=True)
        return self.bucket(a, b, closed)

    def days(self, start: str, end: str) -> list[Bucket]:
        """The period cut into local days (the first and last clipped to the period)."""
        p = self.period(start, end)
        out = []
        label = p.local_start.replace(hour=0, minute=0, second=0, microsecond=0)
        while label < p.local_end:
            following = label + dt.timedelta(days=1)
            a, b = max(label, p.local_start), min(following, p.local_end)
            bucket = self.bucket(a, b, p.closed and b == p.local_end)
            out.append(dataclasses.replace(bucket, label=label))
            label = following
        return out

    def cohort(self, b: Bucket) -> list[Conversation]:
        """One cohort rule: the conversations that started in the bucket."""
        return [c for c in self.conversations if b.holds(c.started_at)]

    def missed_cohort(self, b: Bucket) -> list[Any]:
        """The rows of missed chats: the cohort; by agent, the chats the agent handled or
        was offered."""
        return [c for c in self.offered if b.holds(c.started_at)]

    def customers(self, b: Bucket) -> set[str]:
        return {c.customer_id for c in self.cohort(b) if c.customer_id is not None}

    def intervals(self, event_type: str, key: str, state: str, b: Bucket) -> dict[Any, float]:
        """Seconds per state inside the bucket; each event's state holds until the next
        event of the same key (the last one holds past the bucket: periods are past)."""
        out: dict[Any, float] = defaultdict(float)
        per_key: dict[Any, list[Ev]] = defaultdict(list)
        for e in self.of_type(event_type):
            per_key[e[key]].append(e)
        if self.agent is not None and key == "agent_id":
            per_key = {self.agent: per_key.get(self.agent, [])}
        for evs in per_key.values():
            for e, nxt in zip(evs, [*evs[1:], None], strict=True):
                until = nxt.at if nxt else dt.datetime.max.replace(tzinfo=UTC)
                a, z = max(e.at, b.start), min(until, b.end)
                if z > a:
                    out[e[state]] += seconds(z, a)
        return out

    def business_seconds(self, a: dt.datetime | None, z: dt.datetime | None) -> float | None:
        """Seconds of [a, z] inside the workspace's business hours (local wall-clock spans
        per day, so an hour of a DST day is a real hour)."""
        if not self.settings["business_hours"] or a is None or z is None:
            return None
        total = 0.0
        day = self.local(a).date() - dt.timedelta(days=1)
        while day <= self.local(z).date():
            midnight = dt.datetime.combine(day, dt.time())
            for span in self.open_spans(day):
                opens, closes = (
                    self.to_instant(midnight + dt.timedelta(hours=int(t[:2]), minutes=int(t[3:])))
                    for t in span
                )
                overlap = seconds(min(z, closes), max(a, opens))
                total += max(overlap, 0.0)
            day += dt.timedelta(days=1)
        return total

    def open_spans(self, day: dt.date) -> list[list[str]]:
        """docs/metrics.md "Business hours": per weekday one or more intervals, holidays
        (closed or their own hours), schedules from a date; {"mon": ["09:00", "17:00"]} is
        one plain week."""
        hours = self.settings["business_hours"]
        if "schedules" not in hours:
            hours = {"schedules": [{"hours": hours}]}
        if str(day) in hours.get("holidays", {}):
            spans = hours["holidays"][str(day)]
        else:
            in_force = [s for s in hours["schedules"] if s.get("from", "") <= str(day)]
            week = in_force[-1]["hours"] if in_force else {}
            spans = week.get(WEEKDAYS[day.weekday()], [])
        return [spans] if spans and isinstance(spans[0], str) else spans

    def agent_time(self, b: Bucket) -> tuple[float, float]:
        """(busy, chat) seconds inside the bucket: per agent the union of their stints, and
        the plain sum of the stints (two chats at once count twice). Stints of every
        conversation count, cut at the bucket's bounds."""
        per_agent: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
        for c in self.every_conversation:
            for who, a, z in self.own(c.stints):
                a, z = max(a, b.start), min(z, b.end)
                if z > a:
                    per_agent[who].append((a, z))
        busy = chat = 0.0
        for spans in per_agent.values():
            chat += sum(seconds(z, a) for a, z in spans)
            reach: dt.datetime | None = None
            for a, z in sorted(spans):
                if reach is None or a > reach:
                    busy += seconds(z, a)
                    reach = z
                elif z > reach:
                    busy += seconds(z, reach)
                    reach = z
        return busy, chat

    def own(self, stints: list[tuple[str, dt.datetime, dt.datetime]]) -> list[Any]:
        """The stints that count: all, or the split agent's."""
        return [s for s in stints if self.agent is None or s[0] == self.agent]

    def handle_seconds(self, c: Conversation) -> float | None:
        stints = self.own(c.stints)
        return sum(seconds(z, a) for _, a, z in stints) if stints else None

    def tickets(self, event_type: str) -> dict[str, dt.datetime]:
        first: dict[str, dt.datetime] = {}
        for e in self.of_type(event_type):
            first.setdefault(e["ticket_id"], e.at)
        return first

    # -- values --------------------------------------------------------------------------

    def value(self, metric: str, start: str, end: str) -> Any:
        return REFERENCE[metric](self, self.period(start, end))

    def series(self, metric: str, start: str, end: str) -> list[tuple[str, Any]]:
        return [(b.label.isoformat(), REFERENCE[metric](self, b)) for b in self.days(start, end)]

    def split(self, metric: str, start: str, end: str, dimension: str) -> dict[Any, Any]:
        """{value: metric over the period's conversations with that value}. By agent, a
        conversation counts for each agent who handled it."""
        b = self.period(start, end)
        if dimension == "agent_id":
            agents = {a for c in self.cohort(b) for a in c.offered_agents}
            agents |= {e["agent_id"] for e in self.of_type("chat_declined") if b.holds(e.at)}
            agents |= {k for k in self._agents_with_time(b)}
            return {
                a: REFERENCE[metric](
                    _Only(
                        self,
                        [Credited(c, a) for c in self.conversations if a in c.agents],
                        a,
                        [Offered(c, a) for c in self.conversations if a in c.offered_agents],
                    ),
                    b,
                )
                for a in agents
            }
        groups = defaultdict(list)
        for c in self.cohort(b):
            if dimension == "tag_category":  # a conversation counts in each of its categories
                for category in c.tag_categories:
                    groups[category].append(c)
            else:
                groups[getattr(c, dimension)].append(c)
        return {k: REFERENCE[metric](_Only(self, cs), b) for k, cs in groups.items()}

    def _agents_with_time(self, b: Bucket) -> set[str]:
        out = set()
        for a in {e["agent_id"] for e in self.of_type("agent_status")}:
            if sum(_Only(self, [], a).intervals("agent_status", "agent_id", "status", b).values()):
                out.add(a)
        return out


class _Only(Reference):
    """The same reference restricted to some conversations (and maybe to one agent)."""

    def __init__(
        self,
        parent: Reference,
        conversations: list[Any],
        agent: str | None = None,
        offered: list[Any] | None = None,
    ) -> None:
        self.__dict__.update(parent.__dict__)
        self.conversations = conversations
        self.offered = conversations if offered is None else offered
        self.agent = agent


class Credited:
    """A conversation seen from one of its agents (docs/facts.md "Crediting agents"): the
    figures credited to another agent of the chat are not this agent's."""

    def __init__(self, c: Conversation, agent: str) -> None:
        self._c = c
        mine = {
            "pickup": c.pickup_agent == agent,
            "first": c.first_response_agent == agent,
            "close": c.closing_agent == agent,
        }
        self.wait_seconds = c.wait_seconds if mine["pickup"] else None
        self.picked_up_at = c.picked_up_at if mine["pickup"] else None
        self.first_response_seconds = c.first_response_seconds if mine["first"] else None
        self.first_response_at = c.first_response_at if mine["first"] else None
        self.first_responses = [v for who, v in c.stint_responses if who == agent]
        if mine["first"] and all(who != agent for who, _, _ in c.stints):
            self.first_responses.append(c.first_response_seconds)  # wrote without a stint
        for kind in ("csat", "nps", "ces", "thumbs", "uss"):
            own = c.rating_agents.get(kind) == agent
            setattr(self, kind, getattr(c, kind) if own else None)
        self.rated_negative = (self.csat is not None and self.csat <= 2) or self.thumbs == 0
        self.credited_close = mine["close"]
        self.conversions = c.conversions if mine["close"] else []
        self.leads = c.leads if mine["close"] else 0
        self.revenue = c.revenue if mine["close"] else None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._c, name)


class Offered(Credited):
    """For missed chats by agent: missed when this agent declined the chat or let the offer
    time out."""

    def __init__(self, c: Conversation, agent: str) -> None:
        super().__init__(c, agent)
        self.missed = agent in c.declined_by
        self.missed_reason = (
            "timeout" if agent in c.timed_out_by else "declined" if agent in c.declined_by else None
        )


# ---------------------------------------------------------------------------------------
# the catalogue, one reference function per metric id

Fn = Callable[[Reference, Bucket], Any]
REFERENCE: dict[str, Fn] = {}
VALUES: dict[str, Callable[[Reference, Bucket], list[float]]] = {}
"""For mean metrics: the values averaged in a bucket (for recombination checks)."""


def ref(*ids: str) -> Callable[[Fn], Fn]:
    def register(fn: Fn) -> Fn:
        for mid in ids:
            assert mid not in REFERENCE, mid
            REFERENCE[mid] = fn
        return fn

    return register


def count(where: Callable[[Conversation], Any]) -> Fn:
    return lambda r, b: sum(1 for c in r.cohort(b) if where(c))


def rate(where: Callable[[Conversation], Any], of: Callable[[Conversation], Any] = bool) -> Fn:
    def fn(r: Reference, b: Bucket) -> float | None:
        base = [c for c in r.cohort(b) if of(c)]
        return share(sum(1 for c in base if where(c)), len(base))

    return fn


def total(column: Callable[[Conversation], float]) -> Fn:
    return lambda r, b: sum(column(c) for c in r.cohort(b))


def durations(mid: str, values: Callable[[Conversation], Iterable[float | None]]) -> None:
    def collect(r: Reference, b: Bucket) -> list[float]:
        return [v for c in r.cohort(b) for v in values(c) if v is not None]

    VALUES[mid] = collect
    REFERENCE[mid] = lambda r, b: mean(collect(r, b))
    REFERENCE[f"{mid}_median"] = lambda r, b: quantile(collect(r, b), 0.5)
    REFERENCE[f"{mid}_p90"] = lambda r, b: quantile(collect(r, b), 0.9)


def one(column: Callable[[Conversation], float | None]) -> Callable[[Conversation], list]:
    return lambda c: [column(c)]


def _all(c: Conversation) -> bool:
    return True


# 1. Volume and engagement
REFERENCE["conversations"] = count(_all)
REFERENCE["conversations_per_hour"] = lambda r, b: share(len(r.cohort(b)), b.hours)


def _peak(r: Reference, b: Bucket, part: Callable[[dt.datetime], int]) -> int | None:
    n: dict[int, int] = defaultdict(int)
    for c in r.cohort(b):
        n[part(r.local(c.started_at))] += 1
    return min(n, key=lambda k: (-n[k], k)) if n else None  # ties: the earlier one


REFERENCE["peak_hour"] = lambda r, b: _peak(r, b, lambda t: t.hour)
REFERENCE["peak_weekday"] = lambda r, b: _peak(r, b, lambda t: t.weekday())
REFERENCE["engaged_conversations"] = count(lambda c: c.engaged)
REFERENCE["engagement_rate"] = rate(lambda c: c.engaged)
REFERENCE["unique_customers"] = lambda r, b: len(r.customers(b))
REFERENCE["conversations_per_customer"] = lambda r, b: share(len(r.cohort(b)), len(r.customers(b)))


def _returning(r: Reference, b: Bucket) -> set[str]:
    # customers of the period with a conversation in the returning window before its start
    window = b.local_start - dt.timedelta(days=r.settings["returning_window_days"])
    before = r.bucket(window, b.local_start, False)
    return r.customers(b) & r.customers(before)


REFERENCE["returning_customers"] = lambda r, b: len(_returning(r, b))
REFERENCE["returning_rate"] = lambda r, b: share(len(_returning(r, b)), len(r.customers(b)))
REFERENCE["messages"] = total(lambda c: c.messages)
durations("messages_per_conversation", one(lambda c: c.messages))
for _low, _high, _mid in [
    (1, 2, "messages_1_2_share"),
    (3, 5, "messages_3_5_share"),
    (6, 10, "messages_6_10_share"),
    (11, 20, "messages_11_20_share"),
    (21, 10**9, "messages_over_20_share"),
]:
    # a conversation without any message is in the denominator and in no bin
    REFERENCE[_mid] = rate(lambda c, lo=_low, hi=_high: lo <= c.messages <= hi)
durations("conversation_duration", one(lambda c: c.duration_seconds))
# channel_mix without a split is the share of all conversations: 1 (checked split by channel)
REFERENCE["channel_mix"] = lambda r, b: share(len(r.cohort(b)), len(r.cohort(b)))

# 2. Chatbot performance
REFERENCE["bot_conversations"] = count(lambda c: c.bot_involved)
REFERENCE["bot_only_conversations"] = count(lambda c: c.bot_only)
REFERENCE["fallback_messages"] = total(lambda c: c.fallbacks)
REFERENCE["fallback_rate"] = lambda r, b: share(
    sum(c.fallbacks for c in r.cohort(b)), sum(len(c.bot_msgs) for c in r.cohort(b))
)
REFERENCE["conversations_with_fallback"] = count(lambda c: c.fallbacks > 0)
REFERENCE["handoff_rate"] = rate(lambda c: c.has_human_part, of=lambda c: c.bot_involved)
REFERENCE["containment_rate"] = rate(lambda c: not c.has_human_part, of=lambda c: c.bot_involved)
REFERENCE["bot_resolution_rate"] = rate(lambda c: c.bot_resolved, of=lambda c: c.bot_involved)
REFERENCE["bot_success_rate"] = rate(
    lambda c: c.bot_resolved and not c.rated_negative, of=lambda c: c.bot_involved
)
REFERENCE["goal_completion_rate"] = rate(lambda c: bool(c.goals))
REFERENCE["goal_conversations"] = count(lambda c: bool(c.goals))
for _goal in ("purchase", "signup", "lead", "add_to_cart"):
    REFERENCE[f"goal_completion_rate_{_goal}"] = rate(lambda c, g=_goal: g in c.goals)
durations("bot_response_time", lambda c: c.bot_response_times)


def _knowledge(r: Reference, b: Bucket) -> int:
    return sum(1 for e in r.of_type("knowledge_item_added") if b.holds(e.at))


REFERENCE["knowledge_items_added"] = _knowledge
REFERENCE["learning_rate"] = lambda r, b: share(_knowledge(r, b), len(r.cohort(b)))


def _health(r: Reference, b: Bucket) -> dict[Any, float]:
    return r.intervals("health_check", "component", "up", b)


REFERENCE["availability"] = lambda r, b: share(_health(r, b)[True], sum(_health(r, b).values()))
# observed and never down is 0 s of downtime; nothing observed at all is null
REFERENCE["downtime_seconds"] = lambda r, b: _health(r, b)[False] if _health(r, b) else None


def _incidents(r: Reference, b: Bucket) -> int:
    # an incident starts at a component's down check that follows an up one (or none)
    was_up: dict[Any, bool] = {}
    started = 0
    for e in r.of_type("health_check"):
        if not e["up"] and was_up.get(e["component"], True) and b.holds(e.at):
            started += 1
        was_up[e["component"]] = bool(e["up"])
    return started


REFERENCE["downtime_incidents"] = _incidents

# 3. Live chat and agents
REFERENCE["human_conversations"] = count(lambda c: c.has_human_part)
durations("wait_time", one(lambda c: c.wait_seconds))
durations("first_response_time", lambda c: c.first_responses)


def _frt_within_sla(r: Reference, b: Bucket) -> float | None:
    frts = [f for c in r.cohort(b) for f in c.first_responses if f is not None]
    return share(sum(1 for f in frts if f <= r.settings["sla_first_response_seconds"]), len(frts))


REFERENCE["frt_within_sla"] = _frt_within_sla
durations("response_time", lambda c: c.response_times)
REFERENCE["missed_chats"] = lambda r, b: sum(1 for c in r.missed_cohort(b) if c.missed)
REFERENCE["missed_rate"] = lambda r, b: share(
    sum(1 for c in r.missed_cohort(b) if c.missed and c.has_human_part),
    sum(1 for c in r.missed_cohort(b) if c.has_human_part),
)
for _reason in ("declined", "timeout", "no_agent_online", "customer_left"):
    REFERENCE[f"missed_chats_{_reason}"] = lambda r, b, w=_reason: sum(
        1 for c in r.missed_cohort(b) if c.missed_reason == w
    )
REFERENCE["chats_declined"] = lambda r, b: sum(
    1 for e in r.of_type("chat_declined") if b.holds(e.at) and r.agent in (None, e["agent_id"])
)
REFERENCE["successful_chats"] = count(
    lambda c: (
        c.has_human_part and c.resolution == "resolved" and c.resolved_by in ("agent", "customer")
    )
)
# per chat the sum of its stints (split by agent: that agent's own stints in the chat)
VALUES["handle_time"] = lambda r, b: [
    h for c in r.cohort(b) if (h := r.handle_seconds(c)) is not None
]
REFERENCE["handle_time"] = lambda r, b: mean(VALUES["handle_time"](r, b))
REFERENCE["handle_time_median"] = lambda r, b: quantile(VALUES["handle_time"](r, b), 0.5)
REFERENCE["handle_time_p90"] = lambda r, b: quantile(VALUES["handle_time"](r, b), 0.9)
REFERENCE["transfer_rate"] = rate(
    lambda c: c.transfers > 0, of=lambda c: c.has_human_part and c.credited_close
)
durations("resolution_time", one(lambda c: c.resolution_seconds))


def _known_close(c: Conversation) -> bool:
    """Closed, with a resolution on the close (FCR's cohort)."""
    return bool(c.is_closed) and c.resolution is not None


REFERENCE["fcr_rate"] = rate(
    lambda c: c.first_contact_resolved, of=lambda c: _known_close(c) and c.credited_close
)


def _not_fcr(reason: Callable[[Conversation], bool]) -> Fn:
    return count(
        lambda c: (
            _known_close(c) and c.credited_close and not c.first_contact_resolved and reason(c)
        )
    )


REFERENCE["not_fcr_reopened"] = _not_fcr(lambda c: c.reopens > 0)
REFERENCE["not_fcr_transferred"] = _not_fcr(lambda c: c.transfers > 0)
REFERENCE["not_fcr_escalated"] = _not_fcr(lambda c: c.escalated)
REFERENCE["not_fcr_followup"] = _not_fcr(lambda c: c.followup_contact)
# closed without a `resolved` outcome: unresolved, escalated, or no resolution given at all
REFERENCE["not_fcr_unresolved"] = _not_fcr(lambda c: c.resolution != "resolved")
REFERENCE["handled_conversations"] = count(lambda c: bool(c.agents))


def _active_agents(r: Reference, b: Bucket) -> int:
    agents = {a for c in r.cohort(b) for a in c.agents}
    return len(agents if r.agent is None else agents & {r.agent})  # by agent: just that one


REFERENCE["active_agents"] = _active_agents
REFERENCE["chats_per_agent"] = lambda r, b: share(
    REFERENCE["handled_conversations"](r, b), _active_agents(r, b)
)


def _online_hours(r: Reference, b: Bucket) -> float:
    return r.intervals("agent_status", "agent_id", "status", b)["online"] / 3600


REFERENCE["online_hours"] = _online_hours
REFERENCE["chats_per_online_hour"] = lambda r, b: share(
    REFERENCE["handled_conversations"](r, b), _online_hours(r, b)
)
REFERENCE["busy_hours"] = lambda r, b: r.agent_time(b)[0] / 3600
REFERENCE["chat_hours"] = lambda r, b: r.agent_time(b)[1] / 3600
# catalogue: busy time / online time, both pooled over agents (chats outside online time
# still count as busy)
REFERENCE["utilization"] = lambda r, b: share(r.agent_time(b)[0] / 3600, _online_hours(r, b))
REFERENCE["concurrency"] = lambda r, b: share(r.agent_time(b)[1], r.agent_time(b)[0])
REFERENCE["tag_usage"] = rate(lambda c: bool(c.tags))
# a share of the bucket only when split by tag or tag_category (checked split by category)
REFERENCE["tag_share"] = lambda r, b: None
REFERENCE["tags_per_conversation"] = lambda r, b: mean(len(c.tags) for c in r.cohort(b))
REFERENCE["high_priority_share"] = rate(lambda c: (c.top_priority_rank or 0) >= 3)
REFERENCE["canned_usage"] = rate(lambda c: c.canned_messages > 0, of=lambda c: c.agent_msgs)
REFERENCE["canned_per_chat"] = lambda r, b: share(
    sum(c.canned_messages for c in r.cohort(b)), sum(1 for c in r.cohort(b) if c.agent_msgs)
)
REFERENCE["csat_with_canned"] = lambda r, b: mean(
    c.csat for c in r.cohort(b) if c.canned_messages > 0
)
REFERENCE["csat_without_canned"] = lambda r, b: mean(
    c.csat for c in r.cohort(b) if c.agent_msgs and c.canned_messages == 0
)


def _canned_time_saved(r: Reference, b: Bucket) -> float | None:
    per = r.settings["canned_seconds_saved"]
    if per is None or not r.cohort(b):
        return None
    return sum(c.canned_messages for c in r.cohort(b)) * per


REFERENCE["canned_time_saved"] = _canned_time_saved
REFERENCE["escalation_rate"] = rate(lambda c: c.resolution == "escalated", of=_known_close)


# 4. Customer feedback
def _scores(mid: str, column: Callable[[Conversation], float | None]) -> None:
    VALUES[mid] = lambda r, b: [v for c in r.cohort(b) if (v := column(c)) is not None]
    REFERENCE[mid] = lambda r, b: mean(VALUES[mid](r, b))


_scores("csat", lambda c: c.csat)
REFERENCE["csat_satisfied_rate"] = rate(lambda c: c.csat >= 4, of=lambda c: c.csat is not None)
REFERENCE["csat_very_satisfied_rate"] = rate(lambda c: c.csat == 5, of=lambda c: c.csat is not None)
REFERENCE["negative_feedback"] = count(lambda c: c.rated_negative)
REFERENCE["csat_response_rate"] = rate(lambda c: c.csat is not None, of=lambda c: c.is_closed)
_scores("uss", lambda c: c.uss)


def _nps(r: Reference, b: Bucket) -> float | None:
    answers = [c.nps for c in r.cohort(b) if c.nps is not None]
    if not answers:
        return None
    promoters = sum(1 for a in answers if a >= 9)
    detractors = sum(1 for a in answers if a <= 6)
    return (promoters - detractors) * 100 / len(answers)


REFERENCE["nps"] = _nps
REFERENCE["nps_promoters"] = count(lambda c: c.nps is not None and c.nps >= 9)
REFERENCE["nps_passives"] = count(lambda c: c.nps is not None and 7 <= c.nps <= 8)
REFERENCE["nps_detractors"] = count(lambda c: c.nps is not None and c.nps <= 6)
_scores("ces", lambda c: c.ces)
REFERENCE["ces_csat_correlation"] = lambda r, b: pearson(
    [(c.ces, c.csat) for c in r.cohort(b) if c.ces is not None and c.csat is not None]
)
for _score in range(1, 8):
    REFERENCE[f"ces_{_score}_share"] = rate(
        lambda c, n=_score: c.ces == n, of=lambda c: c.ces is not None
    )
REFERENCE["positive_rating_rate"] = rate(lambda c: c.thumbs == 1, of=lambda c: c.thumbs is not None)
REFERENCE["negative_rating_rate"] = rate(lambda c: c.thumbs == 0, of=lambda c: c.thumbs is not None)

# 5. Business impact
REFERENCE["conversion_rate"] = rate(lambda c: bool(c.conversions), of=lambda c: c.credited_close)
REFERENCE["conversions"] = total(lambda c: len(c.conversions))
durations(
    "time_to_conversion",
    one(lambda c: seconds(c.conversions[0].at, c.started_at) if c.conversions else None),
)
REFERENCE["leads"] = total(lambda c: c.leads)
# conversions credited to conversations that were themselves a follow-up contact
REFERENCE["followup_conversions"] = total(lambda c: len(c.conversions) if c.is_followup else 0)
REFERENCE["followup_conversion_rate"] = rate(
    lambda c: bool(c.conversions), of=lambda c: c.is_followup and c.credited_close
)
durations(
    "time_on_site_before_chat",
    one(lambda c: seconds(c.started_at, c.visit_started_at) if c.visit_started_at else None),
)
REFERENCE["chat_bounces"] = count(lambda c: c.bounced)
REFERENCE["chat_bounce_rate"] = rate(
    lambda c: c.bounced, of=lambda c: c.missed and c.visit_started_at is not None
)


def _revenue(r: Reference, b: Bucket) -> float | None:
    values = [c.revenue for c in r.cohort(b) if c.revenue is not None]
    return sum(values) if values else None  # no attributed purchase: null, not 0


REFERENCE["revenue"] = _revenue
REFERENCE["bot_resolved_conversations"] = count(lambda c: c.bot_resolved)


def _time_saved(r: Reference, b: Bucket) -> float | None:
    aht = REFERENCE["handle_time"](r, b)
    return None if aht is None else REFERENCE["bot_resolved_conversations"](r, b) * aht


REFERENCE["time_saved"] = _time_saved


def _cost_savings(r: Reference, b: Bucket) -> float | None:
    agent, bot = r.settings["cost_per_agent_conversation"], r.settings["cost_per_bot_conversation"]
    if agent is None:
        return None
    cohort = r.cohort(b)
    # every conversation is either human (it has a human part) or bot-only
    without_bot = len(cohort) * agent
    with_bot = sum(agent if c.has_human_part else (bot or 0) for c in cohort)
    # the catalogue's formula: an empty period saves 0, not null
    return float(without_bot - with_bot)


REFERENCE["cost_savings"] = _cost_savings
REFERENCE["cost_savings_per_conversation"] = lambda r, b: (
    None if _cost_savings(r, b) is None else share(_cost_savings(r, b), len(r.cohort(b)))  # type: ignore[arg-type]
)


def _visitors(r: Reference, b: Bucket) -> set[str]:
    return {e["customer_id"] for e in r.of_type("visit_started") if b.holds(e.at)}


REFERENCE["visitors"] = lambda r, b: len(_visitors(r, b))
REFERENCE["visitor_chat_rate"] = lambda r, b: share(
    len(_visitors(r, b) & r.customers(b)), len(_visitors(r, b))
)


def _previous(r: Reference, b: Bucket) -> set[str]:
    before = r.bucket(b.local_start - (b.local_end - b.local_start), b.local_start, False)
    return r.customers(before)


REFERENCE["previous_customers"] = lambda r, b: len(_previous(r, b))
REFERENCE["retention_rate"] = lambda r, b: share(
    len(_previous(r, b) & r.customers(b)), len(_previous(r, b))
)


def _retention_change(r: Reference, b: Bucket) -> float | None:
    """Retention of the bucket minus that of the window of its length just before, in
    percentage points."""
    before = r.bucket(b.local_start - (b.local_end - b.local_start), b.local_start, False)
    now, then = REFERENCE["retention_rate"](r, b), REFERENCE["retention_rate"](r, before)
    return None if now is None or then is None else (now - then) * 100


REFERENCE["retention_change"] = _retention_change
REFERENCE["tickets_created"] = lambda r, b: sum(
    1 for e in r.of_type("ticket_created") if b.holds(e.at)
)
REFERENCE["tickets_resolved"] = lambda r, b: sum(
    1 for e in r.of_type("ticket_resolved") if b.holds(e.at)
)


def _ticket_times(r: Reference, b: Bucket) -> list[float]:
    # tickets first resolved in the bucket; one whose creation is unknown has no duration
    created = r.tickets("ticket_created")
    return [
        seconds(at, created[t])
        for t, at in r.tickets("ticket_resolved").items()
        if b.holds(at) and t in created
    ]


VALUES["ticket_resolution_time"] = _ticket_times

REFERENCE["ticket_resolution_time"] = lambda r, b: mean(_ticket_times(r, b))
REFERENCE["ticket_resolution_time_median"] = lambda r, b: quantile(_ticket_times(r, b), 0.5)
REFERENCE["ticket_resolution_time_p90"] = lambda r, b: quantile(_ticket_times(r, b), 0.9)


def _backlog(r: Reference, b: Bucket) -> int:
    resolved = r.tickets("ticket_resolved")
    return sum(
        1
        for t, at in r.tickets("ticket_created").items()
        if at < b.end and not (t in resolved and resolved[t] < b.end)
    )


REFERENCE["ticket_backlog"] = _backlog


# business-hours variants: the same spans, counting only the seconds inside business hours
# (null when the workspace has none)
def _business_durations(mid: str, span: Callable[[Conversation], tuple[Any, Any]]) -> None:
    def collect(r: Reference, b: Bucket) -> list[float]:
        values = [r.business_seconds(*span(c)) for c in r.cohort(b)]
        return [v for v in values if v is not None]

    VALUES[mid] = collect
    REFERENCE[mid] = lambda r, b: mean(collect(r, b))
    REFERENCE[f"{mid}_median"] = lambda r, b: quantile(collect(r, b), 0.5)
    REFERENCE[f"{mid}_p90"] = lambda r, b: quantile(collect(r, b), 0.9)


_business_durations(
    "first_response_time_business_hours", lambda c: (c.queue_entry_at, c.first_response_at)
)
_business_durations(
    "wait_time_business_hours",
    lambda c: (c.queue_entry_at, None if c.missed else c.picked_up_at),
)
VALUES["response_time_business_hours"] = lambda r, b: [
    v
    for c in r.cohort(b)
    for a, z in c.response_spans
    if (v := r.business_seconds(a, z)) is not None
]
REFERENCE["response_time_business_hours"] = lambda r, b: mean(
    VALUES["response_time_business_hours"](r, b)
)
REFERENCE["response_time_business_hours_median"] = lambda r, b: quantile(
    VALUES["response_time_business_hours"](r, b), 0.5
)
REFERENCE["response_time_business_hours_p90"] = lambda r, b: quantile(
    VALUES["response_time_business_hours"](r, b), 0.9
)
_business_durations(
    "resolution_time_business_hours",
    lambda c: (c.started_at, c.closed_at if c.resolution == "resolved" else None),
)
