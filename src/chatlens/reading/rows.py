"""The rows the Reader lists (conversations page by page, one conversation's facts and
events, the filter menus), each statement rendered in the SQL of the engine's backend
(`chatlens.metrics.dialects.render`) and run on it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chatlens.metrics import Engine
from chatlens.metrics.dialects import render
from chatlens.metrics.dimensions import MENU, REGISTRY
from chatlens.metrics.sources_base import TOPICS_TABLE


def _rows(engine: Engine, sql: str, **values: Any) -> list[dict[str, Any]]:
    return engine.backend.sql(render(sql, engine.backend.dialect, **values))


def page_of(
    engine: Engine, sql: str, page: int, per_page: int, columns: Sequence[str] = ()
) -> tuple[int, list[dict[str, Any]]]:
    """How many rows `sql` (a SELECT in the engine's dialect) has, and its `page`-th page of
    `per_page` rows (from 1), only `columns` if given."""
    total = engine.backend.sql(f"SELECT count(*) AS n FROM ({sql}) AS listed")[0]["n"]
    chosen = ", ".join(f"listed.{c}" for c in columns) or "*"
    offset = (page - 1) * per_page
    rows = engine.backend.sql(
        f"SELECT {chosen} FROM ({sql}) AS listed LIMIT {int(per_page)} OFFSET {int(offset)}"
    )
    return int(total), rows


def conversation_facts(engine: Engine, conversation_id: str) -> dict[str, Any] | None:
    """The facts of one conversation (None if there is none of that id)."""
    sql = f"SELECT * FROM {engine.facts_table} WHERE conversation_id = :id"
    found = _rows(engine, sql, id=conversation_id)
    return found[0] if found else None


_LAST = ("attrs", "extra")


def conversation_events(engine: Engine, conversation_id: str) -> list[dict[str, Any]]:
    """The events of one conversation in order (`ts`, then `seq`), every column, `attrs` and
    `extra` (JSON text) last."""
    sql = "SELECT * FROM events WHERE conversation_id = :id ORDER BY ts, seq"
    return [
        {**{k: v for k, v in row.items() if k not in _LAST}, **{k: row[k] for k in _LAST}}
        for row in _rows(engine, sql, id=conversation_id)
    ]


def filter_values(engine: Engine) -> dict[str, list[str]]:
    """The values each filter menu offers, from the facts: read once per state of the data
    (chatlens.metrics.cache); topics each time (they are re-clustered without new events,
    and their table is small)."""
    facts = engine.facts_table

    def read() -> dict[str, list[str]]:
        found = {}
        for name in MENU:  # the registry's menus (chatlens.metrics.dimensions); topics below
            column, kind = REGISTRY[name].column, REGISTRY[name].kind
            if kind == "value":
                sql = (
                    f"SELECT DISTINCT {column} AS value FROM {facts} "
                    f"WHERE {column} IS NOT NULL ORDER BY 1 LIMIT 200"
                )
            elif kind == "list":
                sql = f"SELECT DISTINCT unnest({column}) AS value FROM {facts} ORDER BY 1 LIMIT 500"
            else:
                continue
            found[name] = [r["value"] for r in _rows(engine, sql)]
        return found

    data = engine.data_key()
    results = engine.caches.results
    found = read() if data is None else results.get_or_compute(("filter_choices", data), read)
    sql = f"SELECT DISTINCT topic AS value FROM {TOPICS_TABLE} ORDER BY 1 LIMIT 500"
    return {**found, "topic": [r["value"] for r in _rows(engine, sql)]}
