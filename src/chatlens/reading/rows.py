"""The rows the Reader lists (conversations page by page, one conversation's facts and
events, the filter menus), as ibis expressions compiled for the engine's backend
(`chatlens.metrics.dialects`) and run on it: no SQL dialect is assumed here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from chatlens.metrics import Engine
from chatlens.metrics.cache import RESULTS
from chatlens.metrics.dialects import COMPILERS
from chatlens.metrics.sources_base import TOPICS_TABLE


def _table(engine: Engine, name: str) -> ir.Table:
    return ibis.table(engine.schemas[name], name=name)


def _rows(engine: Engine, expr: ir.Table) -> list[dict[str, Any]]:
    return engine.backend.sql(COMPILERS[engine.backend.dialect](expr))


def page_of(
    engine: Engine, sql: str, page: int, per_page: int, columns: Sequence[str] = ()
) -> tuple[int, list[dict[str, Any]]]:
    """How many rows `sql` (a SELECT of the engine's dialect) has, and its `page`-th page of
    `per_page` rows (from 1), only `columns` if given."""
    total = engine.backend.sql(f"SELECT count(*) AS n FROM ({sql}) AS listed")[0]["n"]
    chosen = ", ".join(f'"{c}"' for c in columns) or "*"
    offset = (page - 1) * per_page
    rows = engine.backend.sql(
        f"SELECT {chosen} FROM ({sql}) AS listed LIMIT {int(per_page)} OFFSET {int(offset)}"
    )
    return int(total), rows


def conversation_facts(engine: Engine, conversation_id: str) -> dict[str, Any] | None:
    """The facts of one conversation (None if there is none of that id)."""
    facts = _table(engine, engine.facts_table)
    found = _rows(engine, facts.filter(facts.conversation_id == conversation_id))
    return found[0] if found else None


def conversation_events(engine: Engine, conversation_id: str) -> list[dict[str, Any]]:
    """The events of one conversation in order (`ts`, then `seq`), every column, `attrs` and
    `extra` (JSON text) last."""
    events = _table(engine, "events")
    last = ("attrs", "extra")
    order = [c for c in events.columns if c not in last] + [c for c in last if c in events.columns]
    expr = events.filter(events.conversation_id == conversation_id).select(*order)
    return _rows(engine, expr.order_by("ts", "seq"))


def _distinct(engine: Engine, column: ir.Column, limit: int) -> list[Any]:
    expr = column.name("value").as_table().distinct().order_by("value").limit(limit)
    return [r["value"] for r in _rows(engine, expr)]


def filter_values(engine: Engine) -> dict[str, list[str]]:
    """The values each filter menu offers, from the facts: read once per state of the data
    (chatlens.metrics.cache); topics each time (they are re-clustered without new events,
    and their table is small)."""
    facts = _table(engine, engine.facts_table)

    def read() -> dict[str, list[str]]:
        found = {}
        for name in ("channel", "bot_id", "team"):
            present = facts.filter(facts[name].notnull())
            found[name] = _distinct(engine, present[name], 200)
        for name, column in (("agent_id", "agents"), ("tag", "tags")):
            found[name] = _distinct(engine, facts[column].unnest(), 500)
        return found

    data = engine.data_key()
    found = read() if data is None else RESULTS.get_or_compute(("filter_choices", data), read)
    found = dict(found)
    if TOPICS_TABLE in engine.schemas:
        found["topic"] = _distinct(engine, _table(engine, TOPICS_TABLE).topic, 500)
    return found
