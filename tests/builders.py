"""Readable builders of small event lists for metric tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

DAY = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)  # a Monday


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def chat(
    cid: str,
    start: dt.datetime = DAY,
    *,
    customer: str | None = None,
    bot: bool = False,
    fallback_last: bool = False,
    handoff_after: float | None = None,
    agent: str | None = None,
    pickup_after: float = 20.0,
    reply_after: float = 30.0,
    close_after: float | None = None,
    resolution: str | None = "resolved",
    resolved_by: str | None = None,
    reopen_after: float | None = None,
    transfer_to: str | None = None,
    ratings: dict[str, Any] | None = None,
    channel: str = "web",
    **envelope: Any,
) -> list[dict[str, Any]]:
    """One conversation: optional bot turn, optional handoff + agent, close, ratings.

    Times are seconds after `start`.
    """

    def at(seconds: float) -> str:
        return iso(start + dt.timedelta(seconds=seconds))

    base = {"conversation_id": cid, **envelope}
    if customer:
        base["customer_id"] = customer
    events: list[dict[str, Any]] = [
        {"type": "conversation_started", "ts": at(0), "channel": channel, **base},
        {"type": "message", "ts": at(2), "sender": "customer", "text": "hello", **base},
    ]
    if bot:
        text = "Sorry, I didn't understand." if fallback_last else "Here you go."
        events.append(
            {
                "type": "message",
                "ts": at(3),
                "sender": "bot",
                "text": text,
                "bot_id": "bot1",
                **base,
            }
        )
    if handoff_after is not None:
        events.append({"type": "handoff_requested", "ts": at(handoff_after), **base})
    if agent:
        queue = handoff_after or 0.0
        events.append(
            {"type": "agent_joined", "ts": at(queue + pickup_after), "agent_id": agent, **base}
        )
        events.append(
            {
                "type": "message",
                "ts": at(queue + reply_after),
                "sender": "agent",
                "agent_id": agent,
                "text": "hi, how can I help",
                **base,
            }
        )
        if transfer_to:
            events.append(
                {
                    "type": "transferred",
                    "ts": at(queue + reply_after + 1),
                    "agent_id": transfer_to,
                    "from_agent_id": agent,
                    **base,
                }
            )
    if close_after is not None:
        close: dict[str, Any] = {"type": "conversation_closed", "ts": at(close_after), **base}
        if resolution:
            close["resolution"] = resolution
        close["resolved_by"] = resolved_by or ("agent" if agent else "bot")
        events.append(close)
        if reopen_after is not None:
            events.append({"type": "conversation_reopened", "ts": at(reopen_after), **base})
            events.append(
                {
                    "type": "conversation_closed",
                    "ts": at(reopen_after + 60),
                    "resolution": "resolved",
                    **base,
                }
            )
    last = max(e["ts"] for e in events)
    for number, (kind, score) in enumerate((ratings or {}).items(), start=1):
        rated = dt.datetime.fromisoformat(last) + dt.timedelta(seconds=number)
        events.append({"type": "rating", "ts": iso(rated), "kind": kind, "score": score, **base})
    return events
