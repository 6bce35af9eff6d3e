"""Goals and benchmark bands: what a metric's value is measured against (docs/metrics.md
"Benchmark bands" and the `goals` setting).

A goal is a workspace target, `{"min": x}`, `{"max": x}` or both; the shorthand `x` means
`max` for a metric whose increase is bad and `min` otherwise. `check_goals` is the one
validation of the setting (CLI, API and the goals form all reach it through
`chatlens.store.settings.save_setting`); `usable_goals` reads goals stored before it existed
without failing: a bad one is left out, with the reason.

A band is a published industry figure as data: the edge of `typical`, `above average` and
`exceptional`, each reached at or beyond its value (`strict`: only beyond it, for a published
"> 90%"), in the metric's direction (lower is better when `increase_is_bad`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chatlens.errors import InputError, did_you_mean
from chatlens.metrics.catalogue import METRICS
from chatlens.metrics.model import Metric
from chatlens.store.settings import INDUSTRIES, register_check

BAND_CLASSES = ("below typical", "typical", "above average", "exceptional")
"""The classes of a value against its band, worst first."""


@dataclass(frozen=True)
class Edge:
    """Where a class starts: a value reaches it at `at` (or only beyond it when `strict`)."""

    at: float
    strict: bool = False

    def reached(self, value: float, increase_is_bad: bool) -> bool:
        if increase_is_bad:
            return value < self.at if self.strict else value <= self.at
        return value > self.at if self.strict else value >= self.at


@dataclass(frozen=True)
class Band:
    """One published band of a metric. `industries` empty: it holds for every industry.
    An absent `typical` edge: nothing is below typical; an absent `above_average`: nothing
    lies between typical and exceptional but typical."""

    metric: str
    text: str
    """The figures as published (docs/metrics.md, "Benchmark bands"), in the metric's unit as
    people read it."""
    typical: Edge | None = None
    above_average: Edge | None = None
    exceptional: Edge | None = None
    industries: tuple[str, ...] = ()
    currency: str | None = None
    """Money bands are figures in this currency: they classify only values in it (or in
    a workspace that set no currency)."""
    note: str = ""

    def classify(self, value: float, increase_is_bad: bool) -> str:
        name: str
        for name, edge in zip(
            reversed(BAND_CLASSES[1:]),
            (self.exceptional, self.above_average, self.typical),
            strict=True,
        ):
            if edge is not None and edge.reached(value, increase_is_bad):
                return name
        return "below typical" if self.typical is not None else "typical"

    def as_dict(self) -> dict[str, Any]:
        """The band as the API shows it: each edge's value (null when not published)."""
        edges = {
            "typical": self.typical,
            "above_average": self.above_average,
            "exceptional": self.exceptional,
        }
        return {
            "industries": list(self.industries) or None,
            "text": self.text,
            **{
                name: None if e is None else {"at": e.at, "strict": e.strict}
                for name, e in edges.items()
            },
            "currency": self.currency,
            "note": self.note,
        }

    def default_goal(self, increase_is_bad: bool) -> dict[str, float]:
        """The target offered when a goal is set: reaching the industry's typical figure
        (the above-average one where no typical figure is published)."""
        edge = self.typical or self.above_average or self.exceptional
        assert edge is not None
        return {"max" if increase_is_bad else "min": edge.at}


E = Edge
BANDS: tuple[Band, ...] = (
    Band(
        "bot_success_rate",
        "typical 60-80%, above average 80-90%, exceptional > 90%",
        E(0.60),
        E(0.80),
        E(0.90, strict=True),
        industries=("retail", "e-commerce"),
    ),
    Band("uss", "typical ~85, exceptional >= 90", E(85), None, E(90), industries=("retail",)),
    Band(
        "uss",
        "typical ~80, above average 85, exceptional 90",
        E(80),
        E(85),
        E(90),
        industries=("healthcare",),
    ),
    # "4-5 min": typical up to 5 min, better than 4 min is above average
    Band(
        "resolution_time",
        "typical 4-5 min, exceptional 3 min",
        E(300),
        E(240, strict=True),
        E(180),
        industries=("retail",),
    ),
    Band(
        "resolution_time",
        "typical 6-7 min, exceptional 4-5 min",
        E(420),
        E(360, strict=True),
        E(300),
        industries=("healthcare",),
    ),
    Band("learning_rate", "above average 15-30%, exceptional >= 40%", None, E(0.15), E(0.40)),
    Band(
        "fcr_rate",
        "typical 70-75%, above average 80-85%, exceptional > 90%",
        E(0.70),
        E(0.80),
        E(0.90, strict=True),
    ),
    Band(
        "retention_rate",
        "typical ~80%, exceptional >= 90%",
        E(0.80),
        None,
        E(0.90),
        industries=("retail",),
    ),
    Band(
        "retention_rate",
        "typical ~70%, exceptional >= 85%",
        E(0.70),
        None,
        E(0.85),
        industries=("healthcare",),
    ),
    Band(
        "cost_savings_per_conversation",
        "typical ~2.50 USD, exceptional 5 USD",
        E(2.5),
        None,
        E(5),
        industries=("retail",),
        currency="USD",
    ),
    Band(
        "cost_savings_per_conversation",
        "typical ~3 USD, exceptional 7 USD",
        E(3),
        None,
        E(7),
        industries=("finance",),
        currency="USD",
    ),
    Band(
        "first_response_time",
        "typical 30-45 s average; under 1 min matters to buyers",
        E(45),
        E(30, strict=True),
        note="live chat",
    ),
    Band("chats_per_online_hour", "typical 3-5", E(3), E(5, strict=True)),
    Band("containment_rate", "up to 80% reported", E(0), E(0.80, strict=True)),
)


def band_of(metric_id: str, industry: str) -> Band | None:
    """The metric's band for the industry (a band naming no industry holds for all)."""
    for band in BANDS:
        if band.metric == metric_id and (not band.industries or industry in band.industries):
            return band
    return None


def bands_of(metric_id: str) -> list[Band]:
    return [b for b in BANDS if b.metric == metric_id]


def classify(metric_id: str, value: Any, industry: str, currency: str | None = None) -> str | None:
    """The class of `value` against the metric's band for the industry; null without a
    value or a band (or a money band in another currency than the workspace's)."""
    band = band_of(metric_id, industry)
    if band is None or not _number(value):
        return None
    if band.currency and currency and currency.upper() != band.currency:
        return None
    return band.classify(float(value), METRICS[metric_id].increase_is_bad)


# -- goals ---------------------------------------------------------------------------------

_RANGES = {"rate": (0.0, 1.0), "nps": (-100.0, 100.0)}
_NON_NEGATIVE = {"count", "seconds", "money", "per_hour", "ratio"}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bound(metric: Metric, field: str, raw: Any) -> float:
    where = f"goals.{metric.id}.{field}"
    if not _number(raw):
        shown = raw if isinstance(raw, int | float) and not isinstance(raw, bool) else repr(raw)
        raise InputError(f"{where}: expected a finite number, got {shown}")
    value = float(raw)
    low, high = _RANGES.get(
        metric.unit, (0.0 if metric.unit in _NON_NEGATIVE else -math.inf, math.inf)
    )
    if not low <= value <= high:
        hint = " (rates are fractions: 0.8 for 80%)" if metric.unit == "rate" else ""
        span = f"between {low:g} and {high:g}" if high != math.inf else f"at least {low:g}"
        raise InputError(f"{where}: {value:g} is out of range, expected {span}{hint}")
    return value


def check_goal(metric_id: Any, raw: Any) -> dict[str, float]:
    """One goal, normalised to `{"min": x}`, `{"max": x}` or both; an InputError names the
    metric and the field."""
    if not isinstance(metric_id, str) or metric_id not in METRICS:
        hint = did_you_mean(metric_id, METRICS)
        raise InputError(
            f"goals: unknown metric {metric_id!r}{hint}; `chatlens metrics list` shows them all"
        )
    metric = METRICS[metric_id]
    if not isinstance(raw, Mapping):  # the shorthand `4.5`: the metric's direction
        side = "max" if metric.increase_is_bad else "min"
        return {side: _bound(metric, side, raw)}
    unknown = [k for k in raw if k not in ("min", "max")]
    if unknown:
        raise InputError(
            f"goals.{metric_id}: unknown field {unknown[0]!r}; expected min, max or both, "
            f'e.g. {{"{metric_id}": {{"min": 1}}}}'
        )
    if not raw:
        raise InputError(f"goals.{metric_id}: give min, max or both")
    goal = {k: _bound(metric, k, raw[k]) for k in ("min", "max") if k in raw}
    if "min" in goal and "max" in goal and goal["min"] > goal["max"]:
        raise InputError(
            f"goals.{metric_id}: min {goal['min']:g} is above max {goal['max']:g}; "
            "nothing could meet it"
        )
    return goal


def check_goals(raw: Any) -> dict[str, dict[str, float]]:
    """The `goals` setting validated and normalised (the check registered for it)."""
    if not isinstance(raw, Mapping):
        raise InputError(
            'goals: expected an object of metric id -> target, e.g. {"csat": {"min": 4.5}} '
            'or the shorthand {"csat": 4.5}'
        )
    return {mid: check_goal(mid, target) for mid, target in raw.items()}


def usable_goals(raw: Mapping[str, Any]) -> tuple[dict[str, dict[str, float]], dict[str, str]]:
    """The stored goals that are valid, and why each other one is ignored (by metric id):
    goals written before `check_goals` existed must not break a page."""
    good: dict[str, dict[str, float]] = {}
    ignored: dict[str, str] = {}
    for mid, target in raw.items():
        try:
            good[mid] = check_goal(mid, target)
        except InputError as exc:
            ignored[str(mid)] = f"the goal of {mid} is ignored: {exc}"
    return good, ignored


def goal_result(goal: Mapping[str, float], value: Any) -> dict[str, Any]:
    """`<id>__goal`: the target, `met` or `missed` (null without a value) and the progress:
    the value as a share of the way to the target, 0..1 (1 when met; a `min` is reached
    from 0, a `max` as target / value; null where 0 is no starting point: targets <= 0)."""
    out: dict[str, Any] = {"target": dict(goal), "status": None, "progress": None}
    if not _number(value):
        return out
    value = float(value)
    met = ("min" not in goal or value >= goal["min"]) and (
        "max" not in goal or value <= goal["max"]
    )
    out["status"] = "met" if met else "missed"
    shares: list[float | None] = []
    for side, target in goal.items():
        if (side == "min" and value >= target) or (side == "max" and value <= target):
            shares.append(1.0)
        elif target <= 0:
            shares.append(None)
        elif side == "min":
            shares.append(max(0.0, value / target))
        else:
            shares.append(target / value)
    out["progress"] = None if None in shares else min(s for s in shares if s is not None)
    return out


register_check("goals", check_goals)

__all__ = [
    "BANDS",
    "BAND_CLASSES",
    "INDUSTRIES",
    "Band",
    "Edge",
    "band_of",
    "check_goal",
    "check_goals",
    "classify",
    "goal_result",
    "usable_goals",
]
