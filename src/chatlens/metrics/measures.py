"""Small builders that keep the catalogue declarative: each returns a Measure."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir

from chatlens.metrics.model import Measure
from chatlens.store.settings import Settings

Pred = Callable[[ir.Table], ir.BooleanValue]
Col = Callable[[ir.Table], ir.Value]

CONVERSATIONS = "conversations"


def _all(t: ir.Table) -> ir.BooleanValue:
    return ibis.literal(True)


def count(where: Pred | None = None, source: str = CONVERSATIONS) -> Measure:
    """Rows (conversations, events...) matching `where`."""
    return Measure(source, lambda t, s: t.count(where=where(t) if where else None))


def total(column: str, source: str = CONVERSATIONS) -> Measure:
    """Sum of a column (0 when there are rows but nothing to add)."""
    return Measure(source, lambda t, s: t[column].sum().fill_null(0))


def share(where: Pred, of: Pred | None = None, source: str = CONVERSATIONS) -> Measure:
    """Rows matching `where` among rows matching `of` (null when `of` matches none)."""
    base = of or _all

    def build(t: ir.Table, s: Settings) -> ir.Value:
        return t.count(where=where(t) & base(t)) / t.count(where=base(t)).nullif(0)

    return Measure(source, build)


def ratio(numerator: Col, denominator: Col, source: str = CONVERSATIONS) -> Measure:
    def build(t: ir.Table, s: Settings) -> ir.Value:
        return numerator(t).sum() / denominator(t).sum().nullif(0)

    return Measure(source, build)


def mean(column: Col, source: str = CONVERSATIONS) -> Measure:
    return Measure(source, lambda t, s: column(t).mean())


def quantile(column: Col, q: float, source: str = CONVERSATIONS) -> Measure:
    """Continuous quantile (linear interpolation), as metrics.md requires."""
    return Measure(source, lambda t, s: column(t).quantile(q))


def col(name: str) -> Col:
    return lambda t: t[name]


def value(t: ir.Table) -> ir.Value:
    """The element column of a `list:` source."""
    return t.value


def seconds_between(later: str, earlier: str) -> Col:
    return lambda t: t[later].epoch_seconds() - t[earlier].epoch_seconds()


def with_settings(source: str, build: Callable[[ir.Table, Settings], ir.Value]) -> Measure:
    return Measure(source, build)
