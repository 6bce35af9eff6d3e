"""What a click on a figure narrows a conversation list to, beyond its period and filters:
the conversations a count metric counts (`counted`: a funnel stage, a "missed chats" tile),
or those whose CSAT answer is one score (a bar of the CSAT distribution).

`counted` reuses the metric's own declaration (its measure evaluated per conversation), so a
list never drifts from the figure it came from."""

from __future__ import annotations

from dataclasses import dataclass

import ibis.expr.types as ir

from chatlens.errors import InputError
from chatlens.metrics import METRICS
from chatlens.metrics.measures import CONVERSATIONS
from chatlens.metrics.model import Measure
from chatlens.store.settings import Settings

CSAT_SCORES = (1, 2, 3, 4, 5)


def countable(metric_id: str) -> bool:
    """A count over conversations (conversations, bot_conversations, missed_chats, ...)."""
    metric = METRICS.get(metric_id)
    return (
        metric is not None
        and metric.unit == "count"
        and isinstance(metric.measure, Measure)
        # `conversations:<variant>`: one row per conversation too, unless by agent
        and metric.measure.source.split(":")[0] == CONVERSATIONS
    )


COUNTED = tuple(mid for mid in METRICS if countable(mid))


@dataclass(frozen=True)
class Drill:
    counted: str | None = None
    """A count metric over conversations: keep the conversations it counts (for a sum such
    as `conversions`, those that add to it)."""
    csat: int | None = None
    """Keep the conversations whose (last) CSAT answer is this score."""

    def __post_init__(self) -> None:
        if self.counted is not None and not countable(self.counted):
            raise InputError(
                f"counted={self.counted!r}: not a count of conversations; one of "
                f"{', '.join(COUNTED)}"
            )
        if self.csat is not None and self.csat not in CSAT_SCORES:
            raise InputError(f"csat={self.csat!r}: a CSAT score is a whole number from 1 to 5")

    def __bool__(self) -> bool:
        return self.counted is not None or self.csat is not None

    def narrow(self, table: ir.Table, settings: Settings) -> ir.Table:
        """`table`: one row per conversation of the period (the metrics' `conversations`)."""
        if self.csat is not None:
            table = table.filter(table.csat == self.csat)
        if self.counted is not None:
            measure = METRICS[self.counted].measure
            assert isinstance(measure, Measure)
            per = table.group_by("conversation_id").aggregate(_n=measure.build(table, settings))
            hits = per.filter(per._n > 0).select("conversation_id")
            table = table.semi_join(hits, "conversation_id")
        return table

    def params(self) -> dict[str, str]:
        """The URL parameters that carry it."""
        found = {"counted": self.counted, "csat": self.csat}
        return {k: str(v) for k, v in found.items() if v is not None}


def read_drill(counted: str | None, csat: str | int | None) -> Drill:
    """From URL parameters (empty means absent)."""
    score: int | None = None
    if csat not in (None, ""):
        try:
            score = int(csat)
        except ValueError:
            raise InputError(f"csat={csat!r}: a CSAT score is a whole number from 1 to 5") from None
    return Drill(counted or None, score)
