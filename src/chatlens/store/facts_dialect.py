"""How the one facts declaration (facts_sql.py, facts_columns.py) is written in each engine.

The facts are declared once in plain SQL; the few constructs the two engines spell
differently go through a `FactsDialect` method, so the difference is stated once here:

- `first(x ORDER BY k)` and `arg_max(x, k)` are Spark's `min_by`/`max_by` over a struct key;
  DuckDB's `arg_max` skips rows whose value is NULL, so on Spark `last` adds `x IS NOT NULL`.
- `list(x ORDER BY k)` is the sorted `collect_list` of `struct(k, x)`, keeping `x`.
- `epoch(ts)` is `unix_micros(ts) / 1e6` (the same double DuckDB computes), and a window of
  days `CAST(days * 86400e6 AS BIGINT)` microseconds, rounded half to even as DuckDB does.
- DuckDB reads the conversations of the temp table `_scope` (an incremental refresh);
  Spark reads every conversation of the `events` view.
- the segment attributes (a JSON object merged key by key) need each engine's own JSON
  functions: the two `attr_*` CTEs are written per dialect.

Settings are bound as named parameters: `$grace` on DuckDB, `:grace` on Spark.
"""

from __future__ import annotations

from typing import ClassVar


def _keys(keys: str) -> list[str]:
    return [key.strip() for key in keys.split(",")]


class FactsDialect:
    """DuckDB's spelling (the default); `SparkFacts` overrides what Spark writes otherwise."""

    name: ClassVar[str] = "duckdb"
    marker: ClassVar[str] = "$"
    apostrophe: ClassVar[str] = "''''"
    """An apostrophe inside a SQL string (the fallback-phrase test)."""
    far_future: ClassVar[str] = "TIMESTAMPTZ '9999-12-31 00:00:00+00'"
    in_scope: ClassVar[str] = "conversation_id IN (SELECT conversation_id FROM _scope)"
    """The conversations a run derives."""

    def param(self, name: str) -> str:
        return f"{self.marker}{name}"

    def epoch(self, ts: str) -> str:
        """Seconds since 1970 of an instant, as a double."""
        return f"epoch({ts})"

    def instant(self, ts: str) -> str:
        """An instant in the unit `days` adds to."""
        return ts

    def days(self, param: str) -> str:
        """The parameter `param` (a number of days) as something to add to an `instant`."""
        return f"to_microseconds(CAST({self.param(param)} * 86400e6 AS BIGINT))"

    def first(self, value: str, keys: str, where: str) -> str:
        """The value of the first row by `keys` among the rows `where` holds."""
        return f"first({value} ORDER BY {keys}) FILTER (WHERE {where})"

    def last(self, value: str, keys: str, where: str | None = None) -> str:
        """The value of the last row by `keys` among the rows `where` holds and whose value is
        not NULL."""
        found = f"arg_max({value}, ({keys}))"
        return f"{found} FILTER (WHERE {where})" if where else found

    def arg_min(self, value: str, keys: str) -> str:
        return f"arg_min({value}, ({keys}))"

    def arg_max(self, value: str, keys: str) -> str:
        return f"arg_max({value}, ({keys}))"

    def ordered_list(self, value: str, keys: str, where: str | None = None) -> str:
        """The values in the order of `keys` (of the rows `where` holds)."""
        items = f"list({value} ORDER BY {keys})"
        return f"{items} FILTER (WHERE {where})" if where else items

    def sorted_list(self, value: str) -> str:
        return f"list({value} ORDER BY {value})"

    def sorted_set(self, value: str, where: str | None = None) -> str:
        """The distinct values, sorted (of the rows `where` holds)."""
        items = f"list({value}) FILTER (WHERE {where})" if where else f"list({value})"
        return f"list_sort(list_distinct({items}))"

    def empty(self, item: str) -> str:
        """An empty list of `item` (string, double or timestamp) values."""
        return "[]"

    def first_item(self, items: str) -> str:
        return f"{items}[1]"

    attr_ctes: ClassVar[str] = """
attr_pairs AS (  -- attrs merge key by key: each key's first value (conversation_started first)
  SELECT conversation_id, a.key, arg_min(a.value, (late, ts, seq)) AS value
  FROM (
    SELECT conversation_id, type <> 'conversation_started' AS late, ts, seq,
      unnest(map_entries(CAST(attrs AS MAP(VARCHAR, JSON)))) AS a
    FROM ev WHERE attrs IS NOT NULL
  )
  WHERE a.value IS NOT NULL
  GROUP BY conversation_id, a.key
),
attr_merged AS (
  SELECT conversation_id,
    CAST(map_from_entries(list(struct_pack(k := key, v := value) ORDER BY key)) AS JSON)
      AS attrs
  FROM attr_pairs GROUP BY conversation_id
),"""


class SparkFacts(FactsDialect):
    """Spark SQL (Spark 4: `min_by`, `VARIANT`, named parameters)."""

    name = "spark"
    marker = ":"
    apostrophe = "chr(39)"
    far_future = "TIMESTAMP '9999-12-31 00:00:00'"
    in_scope = "conversation_id IS NOT NULL"

    def epoch(self, ts: str) -> str:
        return f"unix_micros({ts}) / 1e6"

    def instant(self, ts: str) -> str:
        return f"unix_micros({ts})"

    def days(self, param: str) -> str:
        return f"CAST(rint({self.param(param)} * 86400e6) AS BIGINT)"

    def first(self, value: str, keys: str, where: str) -> str:
        return f"min_by({value}, struct({keys})) FILTER (WHERE {where})"

    def last(self, value: str, keys: str, where: str | None = None) -> str:
        test = f"{where} AND {value} IS NOT NULL" if where else f"{value} IS NOT NULL"
        return f"max_by({value}, struct({keys})) FILTER (WHERE {test})"

    def arg_min(self, value: str, keys: str) -> str:
        return f"min_by({value}, struct({keys}))"

    def arg_max(self, value: str, keys: str) -> str:
        return f"max_by({value}, struct({keys}))"

    def ordered_list(self, value: str, keys: str, where: str | None = None) -> str:
        # collect_list drops NULLs: a struct holding the value keeps NULL values, and a NULL
        # struct (the rows `where` rejects) drops the row
        fields = "".join(f"'k{i}', {key}, " for i, key in enumerate(_keys(keys)))
        item = f"named_struct({fields}'v', {value})"
        if where:
            item = f"CASE WHEN {where} THEN {item} END"
        return f"transform(array_sort(collect_list({item})), x -> x.v)"

    def sorted_list(self, value: str) -> str:
        return f"array_sort(collect_list({value}))"

    def sorted_set(self, value: str, where: str | None = None) -> str:
        item = f"CASE WHEN {where} THEN {value} END" if where else value
        return f"array_sort(array_distinct(collect_list({item})))"

    def empty(self, item: str) -> str:
        return f"CAST(array() AS ARRAY<{item.upper()}>)"

    def first_item(self, items: str) -> str:
        return f"try_element_at({items}, 1)"

    attr_ctes = """
attr_pairs AS (  -- attrs merge key by key (VARIANT: Spark 4's JSON values kept as they are)
  SELECT conversation_id, a.key,
    min_by(to_json(a.value), struct(late, ts, seq)) AS value
  FROM (
    SELECT conversation_id, type <> 'conversation_started' AS late, ts, seq,
      parse_json(attrs) AS parsed
    FROM ev WHERE attrs IS NOT NULL
  ) e, LATERAL variant_explode(e.parsed) AS a
  WHERE NOT is_variant_null(a.value)
  GROUP BY conversation_id, a.key
),
attr_merged AS (  -- the object written as DuckDB writes it: keys in order, no spaces
  SELECT conversation_id,
    concat('{', array_join(transform(array_sort(collect_list(struct(key, value))),
      x -> concat(substring(to_json(array(x.key)), 2, length(to_json(array(x.key))) - 2),
                  ':', x.value)), ','), '}') AS attrs
  FROM attr_pairs GROUP BY conversation_id
),"""


DUCKDB = FactsDialect()
SPARK = SparkFacts()
DIALECTS: dict[str, FactsDialect] = {d.name: d for d in (DUCKDB, SPARK)}
"""The engines the facts are rendered for, by the name of their SQL dialect."""
