"""docs/facts.md, from the declaration of the facts' columns (facts_columns.py).

A test checks that the declared columns are exactly the columns the facts table holds.
"""

from __future__ import annotations

from chatlens.store.facts_columns import FACT_COLUMNS as DECLARED

FACT_COLUMNS: dict[str, str] = {column.name: column.doc for column in DECLARED}
"""Each column's meaning, by name, in the order of the facts table."""


DECLARATION = """## How the facts are declared

The facts and the stints have one definition, rendered for DuckDB (the store) and for Spark
(`chatlens report --engine spark`):

- `store/facts_columns.py`: `FACT_COLUMNS`, one `FactColumn(name, expression, doc)` per
  column: its SQL over the last step of the query (`f`, the conversation's state, and the
  goals, follow-ups, queue status and visit joined to it) and its meaning (the table above).
  An expression the engines spell differently is a function of the dialect.
- `store/facts_sql.py`: the steps that derive a conversation's state from its events, written
  once in SQL; `facts_query(dialect, settings)` and `stints_sql(dialect)` render them.
- `store/facts_dialect.py`: what the engines spell differently, said once as methods of
  `FactsDialect` (DuckDB) and `SparkFacts`: the first or last value by an order (`first`,
  `arg_max` / `min_by`, `max_by`), ordered lists (`list(x ORDER BY k)` / sorted
  `collect_list` of structs), sorted sets, seconds since 1970 (`epoch` /
  `unix_micros / 1e6`), windows of days, empty lists, the key-by-key merge of `attrs` (JSON /
  VARIANT), the parameter marker (`$` / `:`) and the conversations a run reads (`_scope` on
  DuckDB, for the incremental refresh; all on Spark).
- The version of the stored facts (`derived_state`) is a hash of the rendered stints and
  facts SQL and of the values bound to it: any change to the declaration, or to a setting
  the facts depend on, rebuilds them at the next refresh. Nothing is bumped by hand.

## Add a fact column

1. One `FactColumn` in `store/facts_columns.py`, where it belongs in the table: name, SQL,
   meaning. If it needs a value no step carries yet, add it to the step that reads those
   events in `store/facts_sql.py` (a `count(*) FILTER (...)` in `base`, say) and to the
   columns `f1` passes on; if the engines spell it differently, use (or add) a method of
   `store/facts_dialect.py`.
2. `make docs` (this page).
3. A test with values worked out by hand in `tests/test_facts.py`.
   `tests/test_docs.py` checks that the table holds exactly the declared columns,
   `tests/test_facts_declaration.py` that both renderings hold them, and `make test-spark`
   that Spark gives the same rows as DuckDB.

Files touched: 2 (`facts_columns.py` and the generated `docs/facts.md`), 3 when a step needs a
new value, plus the test. Before (two hand-written copies): `facts_sql.py`,
`spark_facts.py`, `facts_doc.py`, the version in `facts.py` and `docs/facts.md`, plus the
test, and nothing but `make test-spark` compared the copies.

## Why a declaration rendered per dialect (measured)

Three ways to write the facts once were weighed (bench/bench_facts.py; docs/benchmarks.md
"Conversation facts, declared once"):

- **Data rendered per dialect (chosen).** The SQL DuckDB runs is the SQL it ran before,
  step for step, so it costs the same: 20,000 simulated conversations (349,379 events),
  stints and facts built in one process, alternating, 5 runs each: 5.83 s with the
  hand-written SQL, 5.86 s declared (1.00x), the same rows (EXCEPT ALL both ways). On Spark
  it renders the former Spark copy's SQL but for spelling: 5,000 conversations in
  85 s against 98 s (a loaded machine; the same rows). Rendering takes well under a
  millisecond.
- **The DuckDB SQL transpiled to Spark with sqlglot** (30.30, shipped with ibis 12). It
  parses, but what it writes is wrong for Spark in at least nine places, some silently:
  `epoch(ts)` becomes `UNIX_TIMESTAMP(ts)` (whole seconds: response times lose their
  fractions), `list(x ORDER BY k)` becomes `COLLECT_LIST(x)` (the order is lost),
  `first(x ORDER BY k)` stays as DuckDB writes it, `arg_max(x, (ts, seq))` becomes
  `MAX_BY(x, (ts, seq))` (a tuple, where Spark needs a struct), `to_microseconds`,
  `CAST(attrs AS MAP<STRING, JSON>)` and untyped `ARRAY()` have no Spark meaning, and
  DuckDB's `arg_max` skipping NULL values is not carried over. Run on Spark, the transpiled
  facts query is rejected (ParseException) and the transpiled stints run but give `seconds`
  as whole-second integers where DuckDB gives a double. Fixing them means writing the
  DuckDB SQL in the forms sqlglot maps right and checking every release of sqlglot against
  Spark, and a transpile took 1.3 s per rendering here: the dialect rules would live in
  another tool, unseen.
- **ibis expressions**, like the metrics: not built. The facts need ordered list aggregates
  with filters, first and last values by a composite key, window frames from the next row
  on, inequality joins grouped back to one row and a key-by-key JSON merge; ibis 12 has no
  operation for the merge (it would stay SQL per dialect), and the rest would be a second
  language for the same ~300 lines of SQL, compiled at 1.01-1.20x hand-written SQL for the
  metrics (docs/benchmarks.md). The declaration keeps the SQL readable as SQL.
"""


def facts_markdown() -> str:
    lines = [
        "# Conversation facts",
        "",
        "<!-- generated by `chatlens docs facts --out docs/facts.md`; do not edit -->",
        "",
        "One row per conversation, derived from its events (and, for follow-ups, goal",
        "attribution and visits, from the other conversations, goals, visits and page views of",
        "the same customer; for the missed reason, from the agents' statuses). Every KPI is an",
        "aggregate over these rows. The table is kept up to date after each import: only the",
        "conversations touched by new events, and the other conversations of their customers,",
        "are recomputed (a new agent status touches the missed chats queued from its time on).",
        "The settings it depends on (`missed_chat_grace_seconds`,",
        "`fcr_followup_days`, `attribution_days`, `fallback_phrases`, `conversion_goals`)",
        "rebuild it when changed, so history always follows the current settings. Times are",
        'UTC; durations in seconds. "Within N" always includes N: a duration exactly at a',
        "limit is within it (grace period, SLA, follow-up and attribution windows).",
        "",
        "| column | meaning |",
        "|---|---|",
    ]
    lines += [f"| `{column.name}` | {column.doc} |" for column in DECLARED]
    lines += [
        "",
        "## Agent stints",
        "",
        "Beside the facts, the table `agent_stints` holds one row per agent stint: from",
        "`agent_joined` (or a transfer to the agent) until the next transfer or close of the",
        "conversation, else until that agent's last message (`conversation_id`, `agent_id`,",
        "`team`, `started_at`, `ended_at`, `seconds`), whether it is the conversation's",
        "`first_stint`, and the agent's first message inside it (`first_message_at`). Handle",
        "time, busy time, utilization and concurrency are computed from it, and the per-agent",
        "first response time: per stint, from its start (the first stint: from queue entry) to",
        "`first_message_at`. It is refreshed with the facts.",
        "",
        "## Crediting agents",
        "",
        "Split or filtered by `agent_id`, a conversation counts for every agent who handled it",
        '(`agents`), but its figures are credited as metrics.md "Crediting agents" says:',
        "",
        "- `first_response_time` (and `frt_within_sla`): the agent's own stints, each from its",
        "  start (the first stint: queue entry) to the agent's first message in it (for the",
        "  first stint's agent who answered first, even before joining: the chat's FRT); an",
        "  agent who answered first without any stint keeps the chat's FRT. The",
        "  conversation-level FRT (its business-hours variant too) goes to",
        "  `first_response_agent_id` only.",
        "- `wait_time`: `pickup_agent_id`. `handle_time`: each agent's own stints.",
        "- `csat`, `nps`, `ces`, thumbs and `uss`: `csat_agent_id` ... `uss_agent_id`.",
        "- `missed_chats`, `missed_rate` and the missed reasons: the chats offered to the agent",
        "  and declined or timed out (`declined_by`, `timed_out_by`), among the chats the agent",
        "  handled or was offered; a chat nobody was offered is missed by the team, not an",
        "  agent.",
        "- `fcr_rate`, the not-FCR reasons, `transfer_rate`, conversions (`conversion_rate`,",
        "  `conversions`, `leads`, `revenue`, `time_to_conversion`): `closing_agent_id`, over",
        "  the chats the agent closed.",
    ]
    lines += ["", *DECLARATION.splitlines()]
    return "\n".join(lines) + "\n"
