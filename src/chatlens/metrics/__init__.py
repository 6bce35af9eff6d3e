"""The KPI engine: the catalogue of docs/metrics.md compiled by ibis over the conversation facts."""

from chatlens.metrics.cache import Caches
from chatlens.metrics.catalogue import METRICS
from chatlens.metrics.model import DIMENSIONS, GRAINS, Metric
from chatlens.metrics.plan import Query
from chatlens.metrics.query import Engine, Result

__all__ = ["DIMENSIONS", "GRAINS", "METRICS", "Caches", "Engine", "Metric", "Query", "Result"]
