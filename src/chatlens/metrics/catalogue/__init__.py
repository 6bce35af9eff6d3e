"""The KPI catalogue: every metric of docs/metrics.md sections 1-5 (and the
figures of the agent performance report, docs/server.md), declared as data.

Adding a metric = one declaration in its section's module + its test. Ids are those of
docs/metrics.md; for a duration `<id>` is the mean and `<id>_median`, `<id>_p90` the
percentiles; rates are fractions 0-1. docs/metrics.md is generated from these declarations
(`chatlens docs metrics`).
"""

from __future__ import annotations

from chatlens.metrics.catalogue.bot import BOT
from chatlens.metrics.catalogue.business import BUSINESS
from chatlens.metrics.catalogue.feedback import FEEDBACK
from chatlens.metrics.catalogue.live import LIVE
from chatlens.metrics.catalogue.volume import VOLUME
from chatlens.metrics.model import Metric

METRICS_LIST: list[Metric] = [*VOLUME, *BOT, *LIVE, *FEEDBACK, *BUSINESS]

METRICS: dict[str, Metric] = {}
for _metric in METRICS_LIST:
    if _metric.id in METRICS:
        raise ValueError(f"metric {_metric.id} declared twice")
    METRICS[_metric.id] = _metric

__all__ = ["METRICS", "METRICS_LIST"]
