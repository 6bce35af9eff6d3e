"""Generated docs must match the code; regenerate with `make docs`."""

from __future__ import annotations

from pathlib import Path

from chatlens.events.docs import events_markdown
from chatlens.metrics.docs import metrics_markdown
from chatlens.store.facts import refresh_facts
from chatlens.store.facts_doc import FACT_COLUMNS, facts_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_events_doc_is_fresh():
    assert (DOCS / "events.md").read_text(encoding="utf-8") == events_markdown(), (
        "docs/events.md is stale: run `make docs`"
    )


def test_facts_doc_is_fresh():
    assert (DOCS / "facts.md").read_text(encoding="utf-8") == facts_markdown(), (
        "docs/facts.md is stale: run `make docs`"
    )


def test_metrics_doc_is_fresh():
    assert (DOCS / "metrics.md").read_text(encoding="utf-8") == metrics_markdown(), (
        "docs/metrics.md is stale: run `make docs`"
    )


def test_every_fact_column_is_documented(store):
    refresh_facts(store)
    columns = [d[0] for d in store.con.execute("SELECT * FROM conversation_facts").description]
    assert columns == list(FACT_COLUMNS)
