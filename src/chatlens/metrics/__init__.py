"""The KPI engine: the catalogue of docs/metrics.md compiled by ibis over the conversation facts."""

from chatlens.metrics.catalogue import METRICS
from chatlens.metrics.model import DIMENSIONS, GRAINS, Metric
from chatlens.metrics.query import Engine, Query, Result

__all__ = ["DIMENSIONS", "GRAINS", "METRICS", "Engine", "Metric", "Query", "Result"]
