"""Step 4 of a query: the rows each statement returned become the result's rows.

In order: `merge` the statements' rows by key (every bucket gets a row when there are no
dimensions), `derive` the derived metrics and fill counts with 0 where a source counted
nothing, `shaped` keeps the asked columns and adds the Wilson bounds; then, over the whole
result, `attach_previous` (comparison), `attach_targets` (goals and bands) and `meta`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from chatlens.metrics.catalogue import METRICS
from chatlens.metrics.dimensions import LIST_COLUMNS
from chatlens.metrics.model import Derived, DerivedContext
from chatlens.metrics.periods import Bucket
from chatlens.metrics.plan import Plan, Query
from chatlens.metrics.targets import band_of, classify, goal_result, usable_goals
from chatlens.store.settings import Settings

Row = dict[str, Any]
Keyed = dict[tuple[Any, ...], Row]

WILSON_Z = 1.959963984540054
"""The standard normal quantile of a two-sided 95% interval."""


def wilson_lower(hits: float | None, rows: float | None, z: float = WILSON_Z) -> float | None:
    """The lower bound of the Wilson score interval of a proportion hits / rows (null
    without rows): small samples are pulled towards 0, so rankings by it are fair."""
    if hits is None or not rows:
        return None
    if hits == 0:
        return 0.0  # exactly, not a rounding error away from it
    p = hits / rows
    spread = z * math.sqrt(p * (1 - p) / rows + z * z / (4 * rows * rows))
    return max(0.0, (p + z * z / (2 * rows) - spread) / (1 + z * z / rows))


def plain(value: Any) -> Any:
    """Plain JSON numbers: Decimal sums become int or float; NaN becomes null."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value != value:  # NaN from an empty correlation
        return None
    return value


def sort_key(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(
        (v is None, v if v is not None else "") if not isinstance(v, dt.datetime) else (False, v)
        for v in key
    )


def merge(plan: Plan, results: Iterable[Sequence[Mapping[str, Any]]]) -> Keyed:
    """The statements' rows merged by key (bucket + dimensions); without dimensions every
    bucket has a row, even an empty one."""
    keys = ["bucket", *plan.query.dimensions]
    merged: Keyed = {}
    for records in results:
        for record in records:
            key = tuple(record[k] for k in keys)
            merged.setdefault(key, dict(zip(keys, key, strict=True))).update(
                {name: v for name, v in record.items() if name not in keys}
            )
    if not plan.query.dimensions:
        for bucket in plan.calendar:
            merged.setdefault((bucket.label,), {"bucket": bucket.label})
    return merged


def _group_key(row: Mapping[str, Any], dimensions: Sequence[str]) -> tuple[Any, ...]:
    return (row["bucket"], *[row.get(d) for d in dimensions if d != "channel"])


def _group_totals(rows: Iterable[Row], dimensions: Sequence[str]) -> dict[tuple[Any, ...], float]:
    totals: dict[tuple[Any, ...], float] = defaultdict(float)
    for row in rows:
        totals[_group_key(row, dimensions)] += row.get("conversations") or 0
    return totals


def unsplit_dimensions(plan: Plan) -> tuple[str, ...] | None:
    """The dimensions the `unsplit` metrics are computed by (the query's without its list
    dimensions); None when the query splits by no list dimension."""
    dims = plan.query.dimensions
    if not any(d in LIST_COLUMNS for d in dims):
        return None
    return tuple(d for d in dims if d not in LIST_COLUMNS)


def derive(
    plan: Plan,
    merged: Keyed,
    computed: set[str],
    *,
    settings: Settings,
    unsplit: Keyed,
    before: Keyed,
) -> list[Row]:
    """Rows in key order with every wanted metric: derived ones computed (`unsplit` and
    `before` as in chatlens.metrics.model.Derived), a count 0 where its source has rows for
    other keys but counted nothing here."""
    query = plan.query
    hours = {b.label: b.hours for b in plan.calendar}
    totals = _group_totals(merged.values(), query.dimensions)
    kept = unsplit_dimensions(plan) or ()
    rows = []
    for key in sorted(merged, key=sort_key):
        row = merged[key]
        for mid in plan.wanted:
            metric = METRICS[mid]
            measure = metric.measure
            value = row.get(mid)
            if isinstance(measure, Derived):
                value = None
                if plan.applies(metric):
                    at = row["bucket"].isoformat() if query.grain else None
                    context = DerivedContext(
                        hours=hours.get(row["bucket"]),
                        settings=settings,
                        group_total=totals.get(_group_key(row, query.dimensions)),
                        unsplit=unsplit.get((at, *[row[d] for d in kept]), {}),
                        dimensions=query.dimensions,
                        previous=before.get(
                            (row["bucket"], *[row[d] for d in query.dimensions]), {}
                        ),
                    )
                    value = measure.compute(row, context)
            elif value is None and metric.unit == "count" and measure.source in computed:
                value = 0  # the source has rows for other keys: nothing counted here
            row[mid] = plain(value)
        rows.append(row)
    return rows


def shaped(plan: Plan, rows: Iterable[Row]) -> list[Row]:
    """The asked columns only (bucket as ISO text), with `<id>__lower` per rate when the
    query asks for bounds."""
    query = plan.query
    out = []
    for row in rows:
        shaped: Row = {"bucket": row["bucket"].isoformat()} if query.grain else {}
        shaped.update({d: row[d] for d in query.dimensions})
        shaped.update({mid: row[mid] for mid in query.metrics})
        if query.bounds:
            for mid in query.metrics:
                if METRICS[mid].unit == "rate":
                    # null where the rate is no proportion of counted rows (utilization)
                    # or has no rows here
                    shaped[f"{mid}__lower"] = wilson_lower(
                        plain(row.get(f"{mid}__hits")), plain(row.get(f"{mid}__rows"))
                    )
        out.append(shaped)
    return out


def _by_position(query: Query, rows: list[Row], calendar: Sequence[Bucket]) -> Keyed:
    """Shaped rows by (position of their bucket in the calendar, dimension values): the
    rows of two periods of equal length line up by position (day 1 with day 1)."""
    index = {b.label.isoformat(): i for i, b in enumerate(calendar)}
    return {
        (index.get(r["bucket"]) if query.grain else 0, *[r.get(d) for d in query.dimensions]): r
        for r in rows
    }


def attach_previous(plan: Plan, rows: list[Row], previous: list[Row], earlier: Plan) -> None:
    """`<id>__previous` and the change: each row with the previous period's row at the same
    bucket position and dimension values. With dimensions a value may have no row on one
    side: a count is then 0 there (nothing counted), any other metric null; a value that
    had a row only in the previous period gets a row of its own (a drop to 0 is a change)."""
    query, calendar = plan.query, plan.calendar
    before = _by_position(query, previous, earlier.calendar)
    now_at = _by_position(query, rows, calendar)
    gone = [key for key in before if key not in now_at and key[0] is not None]
    for key in gone:
        row: Row = {"bucket": calendar[key[0]].label.isoformat()} if query.grain else {}
        row.update(zip(query.dimensions, key[1:], strict=True))
        for mid in query.metrics:
            metric = METRICS[mid]
            counted = metric.unit == "count" and plan.applies(metric)
            row[mid] = 0 if counted else None
            if query.bounds and metric.unit == "rate":
                row[f"{mid}__lower"] = None
        now_at[key] = row
    if gone:
        rows[:] = [now_at[k] for k in sorted(now_at, key=sort_key)]
    for key, row in now_at.items():
        old = before.get(key)
        for mid in query.metrics:
            metric = METRICS[mid]
            now = row.get(mid)
            if old is not None:
                then = old.get(mid)
            elif metric.unit == "count" and plan.applies(metric):
                then = 0
            else:
                then = None
            row[f"{mid}__previous"] = then
            change = None if now is None or then is None else now - then
            row[f"{mid}__change"] = change
            row[f"{mid}__change_pct"] = change / abs(then) if change is not None and then else None


def attach_targets(query: Query, rows: list[Row], settings: Settings) -> list[str]:
    """`<id>__goal` and `<id>__band` on every row; returns the notes of ignored goals."""
    goals, ignored = usable_goals(settings.goals)
    for mid in query.metrics:
        goal = goals.get(mid)
        banded = band_of(mid, settings.industry) is not None
        for row in rows:
            if goal is not None:
                row[f"{mid}__goal"] = goal_result(goal, row.get(mid))
            if banded:
                row[f"{mid}__band"] = classify(
                    mid, row.get(mid), settings.industry, settings.currency
                )
    return [ignored[mid] for mid in query.metrics if mid in ignored]


def meta(plan: Plan, settings: Settings, notes: list[str]) -> dict[str, Any]:
    """What a result says about itself (Result.meta)."""
    query, period = plan.query, plan.period
    out: dict[str, Any] = {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "timezone": period.timezone,
        "grain": query.grain,
        "dimensions": list(query.dimensions),
        "filters": {k: list(v) for k, v in query.filters.items()},
        "metrics": {
            mid: {
                "label": METRICS[mid].label,
                "unit": METRICS[mid].unit,
                "increase_is_bad": METRICS[mid].increase_is_bad,
            }
            for mid in query.metrics
        },
        "industry": settings.industry,
        "notes": notes,
    }
    if query.compare:
        previous_period = period.previous()
        out["previous"] = {
            "from": previous_period.start.isoformat(),
            "to": previous_period.end.isoformat(),
        }
    return out
