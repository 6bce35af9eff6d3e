"""The dimension registry is the one list the engine, the API, the docs and the page menus
read."""

from __future__ import annotations

from chatlens.metrics import DIMENSIONS, METRICS
from chatlens.metrics.dimensions import LIST_COLUMNS, MENU, REGISTRY, dimension, is_dimension
from chatlens.metrics.sources import SOURCES
from chatlens.server.pages.kit import FILTERS


def test_the_registry_lists_every_dimension_once_in_report_order():
    assert DIMENSIONS == tuple(REGISTRY) == (
        "channel", "bot_id", "agent_id", "team", "tag", "tag_category", "goal", "topic",
        "initiated_by", "outcome", "hour_of_day", "weekday", "ticket_category", "ticket_urgency",
    )  # fmt: skip
    assert LIST_COLUMNS == {
        "agent_id": "agents", "tag": "tags", "tag_category": "tag_categories", "goal": "goals",
    }  # fmt: skip


def test_the_page_menus_are_the_registry_s():
    assert FILTERS == MENU == ("channel", "bot_id", "team", "agent_id", "tag", "topic")


def test_attributes_are_dimensions_made_on_demand():
    assert is_dimension("attrs.segment") and not is_dimension("attrs.")
    assert not is_dimension("region")
    made = dimension("attrs.segment")
    assert (made.name, made.kind, made.column) == ("attrs.segment", "attribute", "segment")


def test_every_metric_splits_by_what_its_source_carries():
    for metric in METRICS.values():
        measure = metric.measure
        source = getattr(measure, "source", None)
        if source is not None:
            assert metric.dimensions == SOURCES[source].dimensions, metric.id
            assert metric.attrs_dimensions == SOURCES[source].attrs, metric.id
    # a few by hand: tickets split by their category, urgency, agent and team only;
    # health checks by nothing; conversations by every conversation dimension
    assert METRICS["tickets_created"].dimensions == {
        "ticket_category", "ticket_urgency", "agent_id", "team",
    }  # fmt: skip
    assert METRICS["availability"].dimensions == frozenset()
    assert METRICS["conversations"].dimensions == set(DIMENSIONS[:12])
