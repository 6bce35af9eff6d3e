"""Helpers that keep the catalogue declarative, shared by its section modules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from chatlens.metrics import measures as m
from chatlens.metrics.model import (
    Derived,
    DerivedContext,
    Measure,
    Metric,
    Unit,
)

V = "1. Volume and engagement"
B = "2. Chatbot performance"
L = "3. Live chat and agents"
F = "4. Customer feedback"
I = "5. Business impact"  # noqa: E741


def metric(
    id: str,
    label: str,
    unit: Unit,
    section: str,
    measure: Measure | Derived,
    description: str,
    **kw: Any,
) -> Metric:
    return Metric(
        id=id,
        label=label,
        description=description,
        unit=unit,
        section=section,
        measure=measure,
        **kw,
    )


def durations(
    id: str,
    label: str,
    section: str,
    column: m.Col,
    description: str,
    source: str = m.CONVERSATIONS,
    **kw: Any,
) -> list[Metric]:
    """Mean, median and p90 of a duration in seconds."""
    kw.setdefault("increase_is_bad", True)
    return [
        metric(
            id,
            f"{label} (mean)",
            "seconds",
            section,
            m.mean(column, source),
            description,
            **kw,
        ),
        metric(
            f"{id}_median",
            f"{label} (median)",
            "seconds",
            section,
            m.quantile(column, 0.5, source),
            f"Median of {id}.",
            **kw,
        ),
        metric(
            f"{id}_p90",
            f"{label} (p90)",
            "seconds",
            section,
            m.quantile(column, 0.9, source),
            f"90th percentile of {id}.",
            **kw,
        ),
    ]


def derived(needs: tuple[str, ...], fn: Any) -> Derived:
    return Derived(needs, fn)


def points_between(now: Any, before: Any) -> float | None:
    """The change of a rate in percentage points (0.8 -> 0.9: 10.0); null without both."""
    if now is None or before is None:
        return None
    points: float = round((now - before) * 100, 9)  # 10.0, not 10.000000000000002
    return points


def div(a: float | None, b: float | None, scale: float = 1.0) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b * scale


def tag_share_of(v: Mapping[str, Any], ctx: DerivedContext) -> float | None:
    """Conversations of the row (one tag or category) / the conversations of its bucket and
    other dimensions counted once; null unless the query splits by tag or tag_category."""
    if not {"tag", "tag_category"} & set(ctx.dimensions):
        return None
    return div(v["conversations"], ctx.unsplit.get("conversations"))


def goal_rate_of(v: Mapping[str, Any], ctx: DerivedContext) -> float | None:
    """Conversations with a goal credited / conversations; split by goal, those with the
    row's goal / the conversations of its bucket and other dimensions counted once."""
    if "goal" in ctx.dimensions:
        return div(v["goal_conversations"], ctx.unsplit.get("conversations"))
    return div(v["goal_conversations"], v["conversations"])


def cost_savings_of(v: Mapping[str, Any], ctx: DerivedContext) -> float | None:
    settings = ctx.settings
    agent, bot = settings.cost_per_agent_conversation, settings.cost_per_bot_conversation
    if agent is None or v["conversations"] is None:
        return None
    bot = bot or 0.0
    without_bot = v["conversations"] * agent
    with_bot = v["human_conversations"] * agent + v["bot_only_conversations"] * bot
    return float(without_bot - with_bot)


def message_bin(low: int, high: int | None) -> Measure:
    def inside(t: Any) -> Any:
        upper = t.messages <= high if high is not None else ibis.literal(True)
        return (t.messages >= low) & upper

    return m.share(inside)


def _within_sla(t: Any, s: Any) -> tuple[Any, Any]:
    return (
        t.count(where=t.first_response_seconds <= s.sla_first_response_seconds),
        t.count(where=t.first_response_seconds.notnull()),
    )


FIRST_RESPONSES = "conversations:first_responses"
"""Per conversation; by agent, per stint (sources.first_responses)."""
MISSED = "conversations:missed"
"""Per conversation; by agent, the chats the agent handled or was offered (sources.missed_chats)."""

WITHIN_SLA = Measure(
    FIRST_RESPONSES, lambda t, s: _within_sla(t, s)[0] / _within_sla(t, s)[1].nullif(0), _within_sla
)


def canned_time_saved_seconds(t: Any, s: Any) -> Any:
    seconds = s.canned_seconds_saved
    if seconds is None:
        return ibis.null("float64")
    return t.canned_messages.sum().fill_null(0) * seconds


def nps_score(t: Any, s: Any) -> Any:
    answered = t.count(where=t.nps.notnull())
    promoters = t.count(where=t.nps >= 9)
    detractors = t.count(where=t.nps <= 6)
    return (promoters - detractors) * 100.0 / answered.nullif(0)


def goal_rate(goal: str) -> Metric:
    return metric(
        f"goal_completion_rate_{goal}",
        f"Goal completion: {goal}",
        "rate",
        B,
        m.share(lambda t: t.goals.contains(goal)),
        f"Conversations with a `{goal}` goal credited / conversations.",
    )


human = m.col("has_human_part")


def equals(column: str, wanted: str) -> m.Pred:
    return lambda t: t[column] == wanted


def closed_with_resolution(t: ir.Table) -> ir.BooleanValue:
    """The FCR cohort: closed, and the close says how (`resolution`)."""
    return t.is_closed & t.resolution.notnull()


def closed_by_agent(t: ir.Table) -> ir.BooleanValue:
    """The FCR cohort, by agent only the chats the row's agent closed (the last stint)."""
    return closed_with_resolution(t) & t.credited_close


def not_fcr(reason: m.Pred) -> m.Pred:
    return lambda t: closed_by_agent(t) & ~t.first_contact_resolved & reason(t)


MESSAGE_BINS: list[tuple[str, str, Unit, Measure, str]] = [
    (
        "messages_per_conversation",
        "mean",
        "ratio",
        m.mean(m.col("messages")),
        "Mean messages per conversation.",
    ),
    (
        "messages_per_conversation_median",
        "median",
        "ratio",
        m.quantile(m.col("messages"), 0.5),
        "Median messages per conversation.",
    ),
    (
        "messages_per_conversation_p90",
        "p90",
        "ratio",
        m.quantile(m.col("messages"), 0.9),
        "90th percentile of messages per conversation.",
    ),
    (
        "messages_1_2_share",
        "1-2",
        "rate",
        message_bin(1, 2),
        "Share of conversations with 1-2 messages.",
    ),
    (
        "messages_3_5_share",
        "3-5",
        "rate",
        message_bin(3, 5),
        "Share of conversations with 3-5 messages.",
    ),
    (
        "messages_6_10_share",
        "6-10",
        "rate",
        message_bin(6, 10),
        "Share of conversations with 6-10 messages.",
    ),
    (
        "messages_11_20_share",
        "11-20",
        "rate",
        message_bin(11, 20),
        "Share of conversations with 11-20 messages.",
    ),
    (
        "messages_over_20_share",
        "over 20",
        "rate",
        message_bin(21, None),
        "Share of conversations with more than 20 messages.",
    ),
]
