"""A person's rights on a real server: an admin's access export and erasure over the API,
refused to other seats and keys, invisible to another workspace's admin; after the erasure
no byte of the customer is left in the data folder (store, journal, app state, server
log); an erasure killed mid-way completes when the server starts again."""

from __future__ import annotations

import signal

import httpx
import pytest

from chatlens.events import parse_event, to_row
from chatlens.server.runtime.workspace import Closing, Writer
from chatlens.store import Store, open_store
from tests.privacy_data import (
    AINO,
    AINO_EMAIL,
    AINO_NAME,
    BO,
    BO_NAME,
    aino_events,
    bo_events,
    hits,
)
from tests.serverkit import RUNNING, LiveServer, provision
from tests.test_privacy_crash import CHILD
from tests.waiting import wait_until

pytestmark = pytest.mark.server

SPEC = {
    "acme": {
        "users": {
            "root": ("admin", None, None),
            "boss": ("manager", None, None),
            "ann": ("agent", "ann", "sales"),
        },
        "keys": {"in": "ingest", "read": "read"},
    },
    "beta": {"users": {"zed": ("admin", None, None)}},
}
FIGURES = {
    "metrics": [
        "conversations",
        "csat",
        "fallback_messages",
        "conversations_per_customer",
        "revenue",
    ],
    "from": "2026-11-01",
    "to": "2026-11-30",
}


def exported(client: httpx.Client, customer: str = AINO) -> httpx.Response:
    return client.get(f"/api/v1/privacy/customers/{customer}", params={"workspace": "acme"})


def figures(client: httpx.Client) -> list[dict]:
    answer = client.post("/api/v1/query", params={"workspace": "acme"}, json=FIGURES)
    assert answer.status_code == 200, answer.text
    return answer.json()["rows"]


def seed(server: LiveServer, key: str, root: httpx.Client) -> None:
    sent = server.client(key).post("/api/v1/events", json=aino_events() + bo_events())
    assert sent.json() == {"accepted": 21, "duplicates": 0}, sent.text
    wait_until(
        lambda: (got := exported(root)).status_code == 200 and len(got.json()["events"]) == 15,
        120,
        what="Aino's events in the store",
    )


def test_an_admin_exports_and_erases_a_customer(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    seats = provision(store, SPEC)
    server = LiveServer(store).start(timeout=180)
    try:
        root = server.login(seats.emails["root"])
        seed(server, seats.keys["in"], root)
        before = wait_until(
            lambda: (got := figures(root))[0]["conversations"] == 3 and got,
            120,
            what="the facts of the three conversations",
        )

        held = exported(root).json()
        assert held["customer_id"] == AINO
        assert [e["event_id"] for e in held["events"]] == [f"a{n}" for n in range(1, 16)]
        assert held["ratings"][0]["comment"] == f"Kiitos! t. {AINO_NAME}"
        assert held["events"][1]["attrs"]["email"] == AINO_EMAIL

        # only the workspace's admins: not a manager, an agent or an API key
        for label in ("boss", "ann"):
            person = server.login(seats.emails[label])
            assert exported(person).status_code == 403, label
            erase = person.post(
                "/api/v1/privacy/erase", params={"workspace": "acme"}, json={"customer_id": AINO}
            )
            assert erase.status_code == 403, label
            requests = person.get("/api/v1/privacy/requests", params={"workspace": "acme"})
            assert requests.status_code == 403, label
        assert exported(server.client(seats.keys["read"])).status_code == 403
        # beta's admin: acme is not theirs (403), and beta holds nothing of Aino (404)
        zed = server.login(seats.emails["zed"])
        assert exported(zed).status_code == 403
        missing = zed.get(f"/api/v1/privacy/customers/{AINO}")
        assert missing.status_code == 404, missing.text
        assert AINO in missing.json()["error"]["message"]
        assert zed.post("/api/v1/privacy/erase", json={"customer_id": AINO}).json()["counts"] == {
            "journal_rows": 0,
            "events": 0,
            "topics": 0,
        }
        assert exported(root).status_code == 200  # acme's data untouched by beta's request

        refused = root.post(
            "/api/v1/privacy/erase",
            params={"workspace": "acme"},
            json={"customer_id": AINO, "agent_id": "ann"},
        )
        assert refused.status_code == 400
        assert "give customer_id or agent_id" in refused.json()["error"]["message"]

        done = root.post(
            "/api/v1/privacy/erase", params={"workspace": "acme"}, json={"customer_id": AINO}
        )
        assert done.status_code == 200, done.text
        erased = done.json()
        assert erased["result"] == "erased" and erased["counts"]["events"] == 10
        assert erased["token"].startswith("erased-")
        assert exported(root).status_code == 404
        assert exported(root, BO).json()["events"][1]["text"] == f"Hej, jag heter {BO_NAME}"
        assert figures(root) == before

        log = root.get("/api/v1/privacy/requests", params={"workspace": "acme"}).json()
        newest = [(r["kind"], r["result"], r["target"]) for r in log["requests"]][:3]
        assert newest[0][:2] == ("export", "answered")  # Bo's, under a token of his
        assert newest[0][2] not in (erased["token"], BO)
        assert newest[1:] == [
            ("export", "not_found", erased["token"]),
            ("erase", "erased", erased["token"]),
        ]
        assert {r["operator"] for r in log["requests"]} == {f"seat:{seats.emails['root']}"}
        assert AINO not in str(log)
    finally:
        server.stop()
    assert hits(tmp_path) == {}  # store, journal, app state, the server's log
    assert set(hits(tmp_path, (BO, BO_NAME))) == {BO, BO_NAME}


def test_an_erasure_killed_mid_way_completes_when_the_server_starts_again(tmp_path):
    store = tmp_path / "chatlens.duckdb"
    seats = provision(store, SPEC)
    server = LiveServer(store)
    server.entry = ("-c", CHILD, "store")  # SIGKILL once the store step is done
    server.start(timeout=180)
    try:
        root = server.login(seats.emails["root"])
        seed(server, seats.keys["in"], root)
        with pytest.raises(httpx.TransportError):  # the server dies mid-request
            root.post(
                "/api/v1/privacy/erase", params={"workspace": "acme"}, json={"customer_id": AINO}
            )
        assert server.process is not None
        assert server.process.wait(timeout=60) == -signal.SIGKILL
    finally:
        RUNNING.discard(server)
    acme = tmp_path / "chatlens.acme.duckdb"
    assert acme.with_suffix(".erasing").exists()  # the erasure is known to be unfinished

    again = LiveServer(store).start(timeout=180)
    try:
        root = again.login(seats.emails["root"])
        log = root.get("/api/v1/privacy/requests", params={"workspace": "acme"}).json()
        # newest first: the erasure, then the exports the seeding waited on
        first = log["requests"][0]
        assert (first["kind"], first["result"]) == ("erase", "erased")
        assert {r["kind"] for r in log["requests"][1:]} == {"export"}
        assert log["requests"][0]["detail"]["events"] == 10
        assert exported(root).status_code == 404
    finally:
        again.stop()
    assert not acme.with_suffix(".erasing").exists()
    assert hits(tmp_path) == {}


def test_a_batch_sent_to_a_closed_writer_is_refused_not_left_waiting(tmp_path):
    # an erasure closes the workspace: a request that took its writer just before must get
    # an answer (503: send again), never wait forever on a writer that is gone
    with open_store(tmp_path / "w.duckdb") as store:
        writer = Writer(
            Store(store.con.cursor(), store.path),
            Store(store.con.cursor(), store.path),
            tmp_path / "w.journal",
        )
        sent = writer.submit([to_row(parse_event(e)) for e in bo_events()[:2]])
        assert sent.result(timeout=60).accepted == 2
        writer.close()
        late = writer.submit([to_row(parse_event(e)) for e in bo_events()[2:]])
        with pytest.raises(Closing, match="send the batch again"):
            late.result(timeout=5)
        assert Closing.status == 503
        assert store.con.execute("SELECT count(*) FROM events").fetchone() == (2,)
