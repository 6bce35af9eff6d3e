"""FAQ topics: which messages are questions, clustering, `topic` as a report dimension,
incremental assignment, what the bot should learn next, and agreement with the simulator's
true topics."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from chatlens.metrics import Engine, Query
from chatlens.reports.export import export_conversations
from chatlens.store.facts import refresh_facts
from chatlens.store.settings import save_setting
from chatlens.topics import learn_next, learn_next_csv, list_topics, rasa_nlu_yaml, rebuild
from chatlens.topics import refresh as refresh_topics
from chatlens.topics.quality import agreement
from chatlens.topics.questions import clean, extract_questions
from tests.builders import DAY, iso
from tests.conftest import load, report

FALLBACK = "Sorry, I didn't understand."


def talk(cid: str, *turns: str, start: dt.datetime = DAY, **envelope) -> list[dict]:
    """A conversation from turns "customer: ...", "bot: ...", "agent: ..." or "handoff",
    one second apart."""
    base = {"conversation_id": cid, **envelope}
    events = [{"type": "conversation_started", "ts": iso(start), "channel": "web", **base}]
    for n, turn in enumerate(turns, start=1):
        ts = iso(start + dt.timedelta(seconds=n))
        if turn == "handoff":
            events.append({"type": "handoff_requested", "ts": ts, **base})
            continue
        sender, _, text = turn.partition(": ")
        event = {"type": "message", "ts": ts, "sender": sender, "text": text, **base}
        if sender == "bot":
            event["bot_id"] = "bot1"
        if sender == "agent":
            event["agent_id"] = envelope.get("agent", "ann")
        events.append(event)
    return events


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [
        ("hi", ""),
        ("moi", ""),
        ("hej hej", ""),
        ("Bonjour !", ""),
        ("selamat pagi", ""),
        ("ok thanks", ""),
        ("Moi, missä tilaukseni on?", "missä tilaukseni on?"),
        (
            "hi @acme, mail me at a@b.example: where is my order https://x.example/1",
            "mail me at where is my order",
        ),
    ],
)
def test_greetings_and_small_talk_are_no_questions(text, cleaned):
    assert clean(text) == cleaned


def test_questions_are_first_substantive_and_before_fallback_or_handoff(store, tmp_path):
    save_setting(store.con, "fallback_phrases", ["no idea, sorry"])
    events = (
        talk(
            "c1",
            "customer: hello",
            "customer: where is my order?",
            f"bot: {FALLBACK}",
            "customer: my parcel never came",
            "bot: Let me check.",
            "handoff",
            "customer: thanks",
        )
        + talk("c2", "customer: moi", "bot: Hei!")
        + talk("c3", "customer: hej", "customer: var är min order?", "bot: No idea, sorry!")
        + talk("c4", "customer: reset my password", "bot: Here is the link.")
    )
    load(store, events, tmp_path)
    got = {
        (q.conversation_id, q.text, q.is_first, q.before_fallback, q.before_handoff)
        for q in extract_questions(store)
    }
    assert got == {
        ("c1", "where is my order?", True, True, False),
        # the handoff came after a bot reply: still this message's handoff
        ("c1", "my parcel never came", False, False, True),
        # a workspace fallback phrase counts, as it does in the facts
        ("c3", "var är min order?", True, True, False),
        ("c4", "reset my password", True, False, False),
    }


ORDER = [
    "where is my order",
    "where is my order now",
    "where is my order please",
    "where is my order today",
    "where is my order already",
    "where is my order again",
]
PASSWORD = [
    "reset my password",
    "reset my password now",
    "reset my password please",
    "reset my password today",
    "reset my password already",
    "reset my password again",
]


def two_topics() -> list[dict]:
    """12 order questions the bot answers (6 wordings x 2; ann joins the first 4; closed
    resolved after 60 s) and 12 password questions it fails on and hands off to bob (closed
    after 120 s)."""
    events: list[dict] = []
    for n in range(12):
        start = DAY + dt.timedelta(minutes=n)
        joined = ["agent: ann here"] if n < 4 else []
        events += talk(
            f"o{n:02}", f"customer: {ORDER[n % 6]}", "bot: It is on its way.", *joined, start=start
        )
        events.append(
            {
                "type": "conversation_closed",
                "conversation_id": f"o{n:02}",
                "ts": iso(start + dt.timedelta(seconds=60)),
                "resolution": "resolved",
                "resolved_by": "bot",
            }
        )
        events += talk(
            f"p{n:02}",
            f"customer: hi {PASSWORD[n % 6]}",
            f"bot: {FALLBACK}",
            "handoff",
            "agent: bob here",
            start=start,
            agent="bob",
        )
        events.append(
            {
                "type": "conversation_closed",
                "conversation_id": f"p{n:02}",
                "ts": iso(start + dt.timedelta(seconds=120)),
                "resolution": "resolved",
                "resolved_by": "agent",
            }
        )
    return events


@pytest.fixture
def clustered(store, tmp_path):
    load(store, two_topics(), tmp_path)
    result = rebuild(store)
    assert (result.questions, result.distinct, result.topics) == (24, 12, 2)
    topics = {("order" if "order" in t["name"] else "password"): t for t in list_topics(store)}
    return store, topics


def test_two_clear_topics_are_found_and_labelled(clustered):
    _, topics = clustered
    order, password = topics["order"], topics["password"]
    assert order["terms"][0] == "order" and password["terms"][0] == "password"
    assert (order["questions"], order["conversations"]) == (12, 12)
    assert (password["fallback_questions"], password["handoff_questions"]) == (12, 12)
    assert (order["fallback_questions"], order["handoff_questions"]) == (0, 0)
    # the question nearest the centroid: the wording every other one extends
    assert order["representative"] == "where is my order"
    assert password["representative"] == "hi reset my password"
    assert order["language"] == password["language"] == "en"


def test_topic_is_a_report_dimension_and_filter(clustered):
    store, topics = clustered
    metrics = ["conversations", "fallback_rate", "handoff_rate", "resolution_time"]
    rows = {r["topic"]: r for r in report(store, metrics, dimensions=["topic"]).rows}
    order, password = rows[topics["order"]["name"]], rows[topics["password"]["name"]]
    # a 1 min resolution time is exceptional (retail: 3 min or less)
    assert order == {
        "topic": topics["order"]["name"],
        "conversations": 12,
        "fallback_rate": 0.0,
        "handoff_rate": 4 / 12,
        "resolution_time": 60.0,
        "resolution_time__band": "exceptional",
    }
    assert password["fallback_rate"] == 1.0 and password["handoff_rate"] == 1.0
    assert password["resolution_time"] == 120.0
    by_id = report(store, "conversations", filters={"topic": (str(topics["password"]["id"]),)})
    by_name = report(store, "conversations", filters={"topic": (topics["order"]["name"],)})
    assert by_id.rows[0]["conversations"] == by_name.rows[0]["conversations"] == 12


def test_export_has_a_topic_column(clustered, tmp_path):
    store, topics = clustered
    out = tmp_path / "conversations.csv"
    query = Query(metrics=("conversations",), start="2026-11-01", end="2026-11-30")
    export_conversations(Engine(store), query, "csv", out)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert {r["conversation_id"][0]: r["topic"] for r in rows} == {
        "o": topics["order"]["name"],
        "p": topics["password"]["name"],
    }


def test_new_conversations_join_existing_topics(clustered, tmp_path):
    store, topics = clustered
    more = talk("n1", "customer: where is my order again please", start=DAY + dt.timedelta(1))
    load(store, more, tmp_path, name="more.jsonl")
    assert refresh_topics(store) == 1
    after = {t["id"]: t for t in list_topics(store)}
    assert set(after) == {t["id"] for t in topics.values()}  # no re-clustering
    assert after[topics["order"]["id"]]["conversations"] == 13
    assert refresh_topics(store) == 0  # nothing new


def test_learn_next_ranks_failed_topics_and_exports(clustered):
    store, topics = clustered
    ranked = learn_next(store, examples=2)
    assert [r["id"] for r in ranked] == [topics["password"]["id"]]  # order never failed
    top = ranked[0]
    assert top["failed_questions"] == 12
    texts = [e["text"] for e in top["examples"]]
    assert len(texts) == 2 and all("reset my password" in t for t in texts)
    lines = list(csv.reader(io.StringIO(learn_next_csv(ranked))))
    assert lines[0][:4] == ["rank", "topic_id", "topic", "failed_questions"]
    assert [line[-1] for line in lines[1:]] == texts
    intent = f"topic_{top['id']}_" + top["name"].replace(" / ", "_")
    assert rasa_nlu_yaml(ranked) == (
        f'version: "3.1"\nnlu:\n- intent: {intent}\n  examples: |\n'
        f"    - {texts[0]}\n    - {texts[1]}\n"
    )


def test_an_agent_sees_topics_of_its_own_conversations(clustered):
    store, topics = clustered
    mine = {t["id"]: t["conversations"] for t in list_topics(store, agent_id="ann")}
    assert mine == {topics["order"]["id"]: 4, topics["password"]["id"]: 0}


def test_no_topics_below_the_minimum(store, tmp_path):
    load(store, talk("c1", "customer: where is my order"), tmp_path)
    assert rebuild(store).topics == 0
    assert list_topics(store) == []
    rows = report(store, "conversations", dimensions=["topic"]).rows
    assert rows == [{"topic": None, "conversations": 1}]


@pytest.mark.slow
def test_topics_agree_with_the_simulators_true_topics(store, tmp_path):
    """Floors a little under what is measured here (docs/topics.md): per language NMI
    0.80-0.89 and ARI 0.57-0.79 in at most 25 topics per language (20 true topics each);
    overall lower, as topics are found per language."""
    from chatlens.ingest import import_file
    from chatlens.simulate import SimConfig, write_events

    path = tmp_path / "sim.parquet"
    write_events(SimConfig(conversations=2000, days=10, seed=3, end=dt.date(2026, 11, 20)), path)
    import_file(store, path)
    refresh_facts(store)
    rebuild(store)
    scores = agreement(store)
    assert set(scores) == {"en", "fi", "sv", "fr", "id", "overall"}
    for language in ("en", "fi", "sv", "fr", "id"):
        assert scores[language]["nmi"] >= 0.75, scores
        assert scores[language]["ari"] >= 0.5, scores
    assert scores["overall"]["nmi"] >= 0.62, scores
    per_language = dict(
        store.con.execute("SELECT language, count(*) FROM topics GROUP BY 1").fetchall()
    )
    assert set(per_language) == {"en", "fi", "sv", "fr", "id"}
    assert max(per_language.values()) <= 25, per_language
