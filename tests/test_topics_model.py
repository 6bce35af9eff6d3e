"""The pieces of the topic model: n-gram counts, language detection at scale, topics joined
by rephrasings after bot fallbacks, the bound on topics per language, stored models."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from chatlens.topics import language as language_module
from chatlens.topics import list_topics, rebuild
from chatlens.topics.build import load_model
from chatlens.topics.model import TopicModel, _at_most
from chatlens.topics.questions import Question
from chatlens.topics.rephrasings import join_by_rephrasings, rephrasing_pairs
from chatlens.topics.vectors import ngram_counts
from tests.builders import DAY
from tests.conftest import load
from tests.test_topics import FALLBACK, talk


def test_ngram_counts_are_scikit_learns_char_wb_counts():
    texts = ["Where is my order", "order  order\tnumber", "ok", "tilaukseni on myöhässä"]
    reference = CountVectorizer(analyzer="char_wb", ngram_range=(2, 4))
    expected = reference.fit_transform(texts).toarray()
    counts, vocabulary = ngram_counts(texts)
    assert sorted(vocabulary) == list(reference.get_feature_names_out())
    columns = [reference.vocabulary_[term] for term in vocabulary]
    assert np.array_equal(counts.toarray(), expected[:, columns])
    # " or" once in "order" (3 words: 3 times in the second text), "ok" padded: " o", "ok", "k "
    assert counts[1, vocabulary.index(" or")] == 2
    assert counts[2].sum() == len([" o", "ok", "k ", " ok", "ok ", " ok "])
    # a given vocabulary: the same columns, unknown n-grams dropped
    again, same = ngram_counts(["order", "xyz"], vocabulary)
    assert same == vocabulary
    assert again[0, vocabulary.index("rde")] == 1 and again[1].sum() == 0


ENGLISH = [
    "where is my order",
    "i want a refund",
    "how do i reset my password",
    "when will my parcel arrive",
    "can i change my address",
    "do you ship abroad",
]
FINNISH = [
    "missä tilaukseni on",
    "haluan rahani takaisin",
    "miten vaihdan salasanan",
    "milloin paketti saapuu",
    "voinko muuttaa osoitettani",
    "toimitatteko ulkomaille",
]
SWEDISH = [
    "var är min beställning",
    "jag vill ha pengarna tillbaka",
    "hur återställer jag lösenordet",
    "när kommer mitt paket",
    "kan jag ändra min adress",
    "skickar ni utomlands",
]


def test_many_texts_are_labelled_by_what_lingua_taught(monkeypatch):
    """Past LINGUA_AT_MOST distinct texts, lingua labels a sample and a classifier over the
    n-gram counts labels the rest: here lingua sees 24 of 72 texts."""
    texts, truth = [], []
    for number in range(4):
        for lang, sentences in (("en", ENGLISH), ("fi", FINNISH), ("sv", SWEDISH)):
            texts += [f"{s} {number}" for s in sentences]
            truth += [lang] * len(sentences)
    read_by_lingua: list[int] = []
    lingua = language_module._lingua

    def counted(batch):
        read_by_lingua.append(len(batch))
        return lingua(batch)

    monkeypatch.setattr(language_module, "LINGUA_AT_MOST", 24)
    monkeypatch.setattr(language_module, "_lingua", counted)
    counts, _ = ngram_counts(texts)
    found = language_module.detect_languages(texts, counts)
    assert read_by_lingua[0] == 24
    assert sum(read_by_lingua) < len(texts)
    assert found == truth


def test_clusters_linked_by_rephrasings_are_one_topic():
    # fine clusters 0..3 (two rows each); rows 0-1 rephrased as rows 2-3 three times
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    assert join_by_rephrasings(labels, np.array([[0, 2], [1, 3], [0, 3]])).tolist() == [0, 0, 1, 2]
    # 0<->1 and 2<->3 ten times each, 1->2 once by chance: two topics, not one
    strong = [[0, 2]] * 10 + [[4, 6]] * 10 + [[3, 4]]
    assert join_by_rephrasings(labels, np.array(strong)).tolist() == [0, 0, 1, 1]
    assert join_by_rephrasings(labels, np.zeros((0, 2), np.int64)).tolist() == [0, 1, 2, 3]


def test_rephrasings_are_next_questions_after_a_fallback():
    def q(cid: str, text: str, fallback: bool) -> Question:
        return Question(f"{cid}-{text}", cid, DAY, text, False, fallback, False)

    questions = [
        q("c1", "i want a refund", True),
        q("c1", "how do i get my money back", False),
        q("c2", "where is my order", False),
        q("c2", "talk to a human", False),
        q("c3", "reset password", True),
        q("c4", "login broken", False),
        q("c5", "refund", True),
        q("c5", "refund", True),
    ]
    assert rephrasing_pairs(questions) == [("i want a refund", "how do i get my money back")]


def test_topics_beyond_the_bound_are_the_most_similar_joined():
    # four fine clusters, each its own topic; two point almost the same way
    centers = np.array([[1.0, 0.0, 0.0], [0.99, 0.14, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    assert _at_most(np.arange(4), centers, 3).tolist() == [0, 0, 1, 2]
    assert _at_most(np.arange(4), centers, 4).tolist() == [0, 1, 2, 3]


REFUND = [
    "i want a refund",
    "i want a refund now",
    "i want a refund please",
    "i want a refund today",
    "i want a refund asap",
]
MONEY_BACK = [
    "how do i get my money back",
    "how do i get my money back now",
    "how do i get my money back please",
    "how do i get my money back today",
    "how do i get my money back asap",
]
PASSWORD = [
    "forgot my password",
    "forgot my password now",
    "forgot my password please",
    "forgot my password today",
    "forgot my password asap",
]
SIGN_IN = [
    "cannot sign in to the account",
    "cannot sign in to the account now",
    "cannot sign in to the account please",
    "cannot sign in to the account today",
    "cannot sign in to the account asap",
]


def asked(rephrased: bool) -> list[dict]:
    """Each wording asked alone (the bot answers) and, when `rephrased`, each first wording
    rephrased as the second after a bot fallback (then a handoff: both are questions)."""
    events: list[dict] = []
    n = 0
    for first, second in ((REFUND, MONEY_BACK), (PASSWORD, SIGN_IN)):
        for text in first + second:
            n += 1
            start = DAY + dt.timedelta(minutes=n)
            events += talk(f"a{n:02}", f"customer: {text}", "bot: Here you go.", start=start)
        if rephrased:
            for a, b in zip(first, second, strict=True):
                n += 1
                start = DAY + dt.timedelta(minutes=n)
                events += talk(
                    f"r{n:02}",
                    f"customer: {a}",
                    f"bot: {FALLBACK}",
                    f"customer: {b}",
                    "handoff",
                    start=start,
                )
    return events


def topics_of(store) -> set[frozenset[str]]:
    """Each topic as the set of its distinct questions."""
    rows = store.con.execute(
        "SELECT q.topic_id, list(DISTINCT lower(e.text)) FROM topic_questions q "
        "JOIN events e USING (event_id) GROUP BY 1"
    ).fetchall()
    return {frozenset(texts) for _, texts in rows}


def test_wordings_sharing_no_words_join_through_rephrasings(store, tmp_path):
    load(store, asked(rephrased=True), tmp_path)
    rebuild(store)
    assert topics_of(store) == {frozenset(REFUND + MONEY_BACK), frozenset(PASSWORD + SIGN_IN)}
    # named after both wordings; the representative question: the unadorned wording
    named = {t["name"]: t["representative"] for t in list_topics(store)}
    assert named == {
        "refund / money / back": "how do i get my money back",
        "password / account / cannot": "cannot sign in to the account",
    }
    # a new question is assigned to the topic of its nearest fine centroid
    model = load_model(store)
    ids, _ = model.assign(["how do i get my money back tomorrow"], ["en"])
    refund = [t["id"] for t in list_topics(store) if "refund" in t["terms"]]
    assert ids.tolist() == refund


def test_without_rephrasings_each_wording_is_its_own_topic(store, tmp_path):
    load(store, asked(rephrased=False), tmp_path)
    rebuild(store)
    assert topics_of(store) == {
        frozenset(REFUND),
        frozenset(MONEY_BACK),
        frozenset(PASSWORD),
        frozenset(SIGN_IN),
    }


def test_a_model_stored_before_backends_loads_as_tfidf():
    import io

    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        vocabulary=np.array(["ab"]),
        idf=np.ones(1, np.float32),
        centroids=np.ones((1, 1), np.float32),
        topic_ids=np.array([1]),
        languages=np.array(["en"]),
    )
    model = TopicModel.from_bytes(buffer.getvalue())
    assert model.backend == "tfidf"
    assert model.assign(["ab"], ["en"])[0].tolist() == [1]


def test_an_unknown_model_is_refused(store, tmp_path):
    from chatlens.errors import ChatlensError

    load(store, asked(rephrased=False), tmp_path)
    with pytest.raises(ChatlensError, match="unknown topic model 'bert'"):
        rebuild(store, backend="bert")


def test_rebuild_command_takes_the_model(tmp_path):
    from typer.testing import CliRunner

    from chatlens.cli import app
    from tests.conftest import write_jsonl

    runner = CliRunner()
    db = str(tmp_path / "t.duckdb")
    events = write_jsonl(tmp_path / "e.jsonl", asked(rephrased=True))
    assert runner.invoke(app, ["import", str(events), "--db", db]).exit_code == 0
    result = runner.invoke(app, ["topics", "rebuild", "--model", "tfidf", "--db", db])
    assert result.exit_code == 0, result.output
    # 20 conversations ask one wording each, 10 ask a wording and rephrase it
    assert result.output.startswith("2 topics from 40 questions (20 distinct) of 30 conversations")
    refused = runner.invoke(app, ["topics", "rebuild", "--model", "bert", "--db", db])
    assert refused.exit_code == 2
    assert "unknown topic model 'bert'; expected one of tfidf, embeddings" in refused.output
