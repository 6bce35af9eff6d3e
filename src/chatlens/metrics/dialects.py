"""Compiling a source's ibis expression to the SQL of one engine.

DuckDB uses ibis' own compiler unchanged. Spark uses ibis' PySpark compiler with two rules
replaced so that it means what DuckDB means:

- `local_time(zone, ts)` (DuckDB's `timezone(zone, ts)`) becomes `from_utc_timestamp(ts, zone)`;
  the Spark session runs in UTC, so a TIMESTAMP value is a UTC instant and the result is the
  wall-clock time in the zone.
- epoch seconds keep their microseconds (`unix_micros(ts) / 1e6`, as DuckDB's `epoch(ts)`);
  ibis' `unix_timestamp` would drop the fraction.

Quantiles need no change: ibis compiles `quantile` to Spark's exact `percentile` (linear
interpolation, like DuckDB's `quantile_cont`), never to `approx_percentile`; a test checks it.
Compiling needs ibis and sqlglot only, not pyspark.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ibis
import ibis.expr.datatypes as dtypes
import ibis.expr.types as ir
from ibis.backends.sql.compilers.pyspark import PySparkCompiler


class SparkCompiler(PySparkCompiler):
    """ibis' PySpark compiler with chatlens' two Spark rules (see the module docstring)."""

    def visit_ScalarUDF(self, op: Any, **kw: Any) -> Any:
        if op.__func_name__ == "timezone":
            zone, ts = kw.values()
            return self.f.from_utc_timestamp(ts, zone)
        return super().visit_ScalarUDF(op, **kw)

    def visit_ExtractEpochSeconds(self, op: Any, *, arg: Any) -> Any:
        return self.f.unix_micros(self.cast(arg, dtypes.timestamp)) / 1e6


_SPARK = SparkCompiler()


def _duckdb(expr: ir.Table) -> str:
    return str(ibis.to_sql(expr, dialect="duckdb"))


def _spark(expr: ir.Table) -> str:
    query = _SPARK.to_sqlglot(expr.unbind())
    return str(query.sql(dialect=_SPARK.dialect, pretty=True))


COMPILERS: dict[str, Callable[[ir.Table], str]] = {"duckdb": _duckdb, "spark": _spark}
"""SQL dialect name -> how an expression is compiled to it."""
