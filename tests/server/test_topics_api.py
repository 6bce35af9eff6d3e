"""The topics API over real HTTP: topics built by the server as events arrive, learn-next,
a missing topic, and an agent seat limited to its own conversations."""

from __future__ import annotations

import pytest

from tests.serverkit import LiveServer, provision
from tests.test_topics import two_topics
from tests.waiting import wait_until

pytestmark = pytest.mark.server


def test_topics_api(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "default": {
                "users": {"ann": ("agent", "ann", None)},
                "keys": {"in": "ingest", "read": "read"},
            }
        },
    )
    server = LiveServer(store).start()
    try:
        sent = server.client(seats.keys["in"]).post("/api/v1/events", json=two_topics())
        assert sent.status_code == 200, sent.text
        reader = server.client(seats.keys["read"])

        def two_topics_built() -> list | None:
            topics = reader.get("/api/v1/topics").json()["topics"]
            return topics if len(topics) == 2 else None

        # the refresher builds topics once 20 questions exist
        topics = wait_until(two_topics_built, timeout=60, interval=0.2, what="two topics")
        by_term = {t["terms"][0]: t for t in topics}
        assert {k: t["questions"] for k, t in by_term.items()} == {"order": 12, "password": 12}
        ranked = reader.get("/api/v1/topics/learn-next", params={"examples": 1}).json()
        assert [t["id"] for t in ranked["topics"]] == [by_term["password"]["id"]]
        assert len(ranked["topics"][0]["examples"]) == 1
        one = reader.get(f"/api/v1/topics/{by_term['order']['id']}").json()
        assert one["conversations"] == 12 and len(one["examples"]) == 6  # 6 distinct wordings
        assert reader.get("/api/v1/topics/999").status_code == 404
        agent = server.login(seats.emails["ann"])
        mine = {
            t["terms"][0]: t["conversations"] for t in agent.get("/api/v1/topics").json()["topics"]
        }
        assert mine == {"order": 4, "password": 0}
    finally:
        server.stop()
