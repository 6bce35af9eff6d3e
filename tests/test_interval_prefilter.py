"""Agent stints are narrowed to those near the period before their union is taken; busy
and chat time must be what the whole history gives."""

from __future__ import annotations

import pytest

from chatlens.metrics import sources

from .conftest import report
from .test_metrics_reference import load_fixture

IDS = ("busy_hours", "chat_hours", "utilization", "concurrency")


@pytest.mark.parametrize(
    ("start", "end", "grain"),
    [("2026-10-27", "2026-10-27", None), ("2026-10-26", "2026-10-28", "day")],
)
def test_narrowed_stints_give_the_same_time(store, tmp_path, monkeypatch, start, end, grain):
    load_fixture(store, tmp_path)  # stints from 24 to 27 October
    narrowed = report(store, IDS, start, end, grain=grain, dimensions=("agent_id",)).rows
    monkeypatch.setattr(sources, "_near_period", lambda ctx, t, start, end: t)
    whole = report(store, IDS, start, end, grain=grain, dimensions=("agent_id",)).rows
    assert narrowed == whole
    assert any(row["busy_hours"] for row in narrowed)
