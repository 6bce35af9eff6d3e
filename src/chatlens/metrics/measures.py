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


def total(column: str, source: str = CONVERSATIONS, where: Pred | None = None) -> Measure:
    """Sum of a column over rows matching `where` (0 when there are rows but nothing to
    add)."""
    return Measure(
        source, lambda t, s: t[column].sum(where=where(t) if where else None).fill_null(0)
    )


def share(where: Pred, of: Pred | None = None, source: str = CONVERSATIONS) -> Measure:
    """Rows matching `where` among rows matching `of` (null when `of` matches none)."""
    base = of or _all

    def parts(t: ir.Table, s: Settings) -> tuple[ir.Value, ir.Value]:
        return t.count(where=where(t) & base(t)), t.count(where=base(t))

    def build(t: ir.Table, s: Settings) -> ir.Value:
        hits, rows = parts(t, s)
        return hits / rows.nullif(0)

    return Measure(source, build, parts)


def ratio(numerator: Col, denominator: Col, source: str = CONVERSATIONS) -> Measure:
    """Sum over sum; as a rate, the sums count items (messages...) of which the numerator's
    are a part."""

    def parts(t: ir.Table, s: Settings) -> tuple[ir.Value, ir.Value]:
        return numerator(t).sum(), denominator(t).sum()

    def build(t: ir.Table, s: Settings) -> ir.Value:
        hits, rows = parts(t, s)
        return hits / rows.nullif(0)

    return Measure(source, build, parts)


def mean(column: Col, source: str = CONVERSATIONS) -> Measure:
    return Measure(source, lambda t, s: column(t).mean())


def quantile(column: Col, q: float, source: str = CONVERSATIONS) -> Measure:
    """Continuous quantile (linear interpolation), as docs/metrics.md says."""
    return Measure(source, lambda t, s: column(t).quantile(q))


def col(name: str) -> Col:
    return lambda t: t[name]


def value(t: ir.Table) -> ir.Value:
    """The element column of a `list:` source."""
    return t.value


def seconds_between(later: str, earlier: str) -> Col:
    return lambda t: t[later].epoch_seconds() - t[earlier].epoch_seconds()
