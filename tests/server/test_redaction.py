"""Redaction at the door on a real server: texts carrying each kind of personal data in each
language are ingested over the API; nothing detected reaches the store, the journal or the
server's log, and a new workspace redacts card numbers without being told."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from chatlens.events.redact import KINDS, Redactor
from chatlens.store import open_store
from tests.builders import iso
from tests.redaction_corpus import LANGUAGES, lines
from tests.serverkit import LiveServer, provision

pytestmark = pytest.mark.server
START = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
PATTERNS = {"order": r"ORD-\d{6}"}


def corpus_events() -> tuple[list[dict], list[str], list[str]]:
    """One conversation per corpus line carrying personal data (its text as a message, a
    rating comment and in the page URL's query); the texts sent and their redacted form."""
    redactor = Redactor(KINDS, PATTERNS)
    events, sent, redacted = [], [], []
    number = 0
    for language in LANGUAGES:
        for line in lines(language):
            if not line["spans"]:
                continue
            number += 1
            text = f"{line['text']} ORD-{number:06d}"
            at = iso(START + dt.timedelta(minutes=number))
            cid = f"{language}-{number}"
            events += [
                {"type": "conversation_started", "ts": at, "conversation_id": cid,
                 "page_url": f"https://shop.example/help?ref={number}&mail={language}.{number}%40example.fi"},
                {"type": "message", "ts": at, "conversation_id": cid, "sender": "customer",
                 "text": text},
                {"type": "rating", "ts": at, "conversation_id": cid, "kind": "csat",
                 "score": 4, "comment": text},
            ]  # fmt: skip
            sent.append(text)
            redacted.append(redactor.text(text))
    return events, sent, redacted


def found_values(texts: list[str]) -> set[str]:
    """Every piece of personal data the detectors find in `texts` (what must go)."""
    redactor = Redactor(KINDS, PATTERNS)
    return {text[s.start : s.end] for text in texts for s in redactor.spans(text)}


def files_holding(folder: Path, values: set[str]) -> dict[str, list[str]]:
    """Files in `folder` (journal, log, stores) holding any of `values` as written; not
    beta's, the workspace that redacts cards only (another test of the module sends it a
    phone number, which it keeps as written)."""
    hits = {}
    for path in folder.iterdir():
        if path.is_file() and not path.name.startswith("chatlens.beta."):
            data = path.read_bytes()
            held = [v for v in values if v.encode() in data]
            if held:
                hits[path.name] = held[:3]
    return hits


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    store = tmp_path_factory.mktemp("redaction") / "chatlens.duckdb"
    seats = provision(
        store,
        {
            "acme": {"users": {"root": ("admin", None, None)}, "keys": {"acme-in": "ingest"}},
            "beta": {"keys": {"beta-in": "ingest"}},
        },
    )
    return store, seats


def test_nothing_detected_reaches_store_journal_or_log(deployment):
    store, seats = deployment
    server = LiveServer(store).start(timeout=120)
    try:
        root = server.login(seats.emails["root"])
        changed = root.patch(
            "/api/v1/settings", json={"redact": list(KINDS), "redact_patterns": PATTERNS}
        )
        assert changed.status_code == 200, changed.text
        bad = root.patch("/api/v1/settings", json={"redact_patterns": {"x": "ORD-(\\d"}})
        assert bad.status_code == 400, bad.text
        assert "setting redact_patterns: pattern 'x' is not a valid regular expression" in bad.text

        events, sent, redacted = corpus_events()
        assert len(sent) == 5 * 42  # 42 lines with personal data per language
        sender = server.client(seats.keys["acme-in"])
        for at in range(0, len(events), 200):
            answer = sender.post("/api/v1/events", json=events[at : at + 200])
            assert answer.status_code == 200, answer.text
    finally:
        server.kill()  # a crash right after the answers: what is still journalled stays there
    values = found_values(sent) | {"%40example.fi"}
    assert {"4111 1111 1111 1111", "FI21 1234 5600 0007 85", "040 123 4567"} <= values
    assert files_holding(store.parent, values) == {}

    server = LiveServer(store).start(timeout=120)  # opening the workspace replays its journal
    assert server.login(seats.emails["root"]).get("/api/v1/settings").status_code == 200
    server.stop()
    assert files_holding(store.parent, values) == {}
    with open_store(store.with_name("chatlens.acme.duckdb")) as acme:
        rows = acme.con.execute(
            "SELECT conversation_id, page_url, text, comment FROM events ORDER BY seq"
        ).fetchall()
    texts = [r[2] for r in rows if r[2] is not None]
    comments = [r[3] for r in rows if r[3] is not None]
    urls = [r[1] for r in rows if r[1] is not None]
    assert texts == redacted and comments == redacted
    assert urls[0] == "https://shop.example/help?ref=1&mail=en.1@example.fi".replace(
        "en.1@example.fi", "[email]"
    )
    assert len(urls) == len(sent) and all(url.endswith("[email]") for url in urls)
    stored = " ".join(texts + comments + urls)
    assert not any(value in stored for value in values)
    for placeholder in ("[card]", "[iban]", "[email]", "[phone]", "[custom:order]"):
        assert placeholder in stored


def test_a_new_workspace_redacts_card_numbers_only(deployment):
    store, seats = deployment
    server = LiveServer(store).start(timeout=120)
    try:
        text = "card 4111 1111 1111 1111, mail anna@example.se, ring 070-123 45 67"
        event = {"type": "message", "ts": iso(START), "conversation_id": "b1",
                 "sender": "customer", "text": text}  # fmt: skip
        answer = server.client(seats.keys["beta-in"]).post("/api/v1/events", json=[event])
        assert answer.json() == {"accepted": 1, "duplicates": 0}
    finally:
        server.stop()
    with open_store(store.with_name("chatlens.beta.duckdb")) as beta:
        stored = beta.con.execute("SELECT text FROM events").fetchall()
    assert stored == [("card [card], mail anna@example.se, ring 070-123 45 67",)]
    assert b"4111 1111" not in server.log.read_bytes()
