"""Building the topics of a store (`rebuild`) and keeping them current (`refresh`).

`rebuild` re-clusters every question; `refresh` assigns the questions of conversations that
new events touched to the existing topics (nearest centroid of their language), so topics stay
stable between rebuilds and an import does not reshuffle history. Without any topics yet,
`refresh` builds them once enough questions exist.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from chatlens.errors import InputError, did_you_mean
from chatlens.store.db import Store
from chatlens.store.sql import run
from chatlens.topics.language import detect_languages
from chatlens.topics.model import (
    BACKENDS,
    TFIDF,
    Clustering,
    TopicModel,
    cluster,
    embedding_vectors,
    tfidf_vectors,
    top_terms,
)
from chatlens.topics.questions import Question, extract_questions
from chatlens.topics.rephrasings import rephrasing_pairs
from chatlens.topics.vectors import ngram_counts

MIN_QUESTIONS = 20
"""Fewer questions than this in the whole store: no topics yet (nothing to group)."""
AUTO_REBUILD_UNTIL = 20_000
"""`refresh` re-clusters by itself while the topics were built from fewer questions than
this and the questions have since doubled: topics fitted on the first 20 questions of a new
workspace should not stay forever. Past it (a rebuild takes seconds), rebuilds are asked for
(`chatlens topics rebuild`), so topics stay stable."""
_STATE = "topics"


@dataclass
class BuildResult:
    questions: int
    distinct: int
    topics: int
    conversations: int
    seconds: float


def _languages(texts: Sequence[str]) -> dict[str, str | None]:
    return dict(zip(texts, detect_languages(texts), strict=True))


def rebuild(store: Store, seed: int = 0, backend: str = TFIDF) -> BuildResult:
    """Re-cluster every question of the store into new topics (replacing the old ones).
    `backend`: "tfidf" (character n-grams, the default) or "embeddings" (sentence
    embeddings, English-oriented; needs the `chatlens[embeddings]` extra)."""
    if backend not in BACKENDS:
        hint = did_you_mean(backend, BACKENDS)
        raise InputError(
            f"unknown topic model {backend!r}{hint}; expected one of {', '.join(BACKENDS)}"
        )
    started = time.perf_counter()
    upto = store.max_seq()
    questions = extract_questions(store)
    distinct = list(dict.fromkeys(q.text for q in questions))
    if len(questions) < MIN_QUESTIONS:
        _replace(store, None, [], [], upto)
        return BuildResult(len(questions), len(distinct), 0, 0, time.perf_counter() - started)
    asked = Counter(q.text for q in questions)
    weights = [asked[t] for t in distinct]
    counts, vocabulary = ngram_counts(distinct)
    language = dict(zip(distinct, detect_languages(distinct, counts, seed), strict=True))
    vectors = tfidf_vectors(counts, vocabulary) if backend == TFIDF else embedding_vectors(distinct)
    del counts
    row = {text: i for i, text in enumerate(distinct)}
    rephrased = np.array([(row[a], row[b]) for a, b in rephrasing_pairs(questions)], np.int64)
    found = cluster(vectors, weights, [language[t] for t in distinct], seed, rephrased)
    topic_of = dict(zip(distinct, found.labels.tolist(), strict=True))
    similarity = dict(zip(distinct, found.similarity.tolist(), strict=True))
    names = _names(top_terms(distinct, weights, found.labels))
    representative = _representatives(distinct, weights, found, questions)
    spoken: dict[int, Counter[str]] = {}  # a topic's language: what most of it is asked in
    for text in distinct:
        spoken.setdefault(topic_of[text], Counter())[language[text] or "unknown"] += asked[text]
    topics = [
        (tid, names[tid][0], spoken[tid].most_common(1)[0][0], names[tid][1], representative[tid])
        for tid in sorted(spoken)
    ]
    rows = [(q, language[q.text], topic_of[q.text], similarity[q.text]) for q in questions]
    conversations = _replace(store, found.model, topics, rows, upto)
    return BuildResult(
        len(questions), len(distinct), len(topics), conversations, time.perf_counter() - started
    )


def _representatives(
    distinct: Sequence[str],
    weights: Sequence[int],
    found: Clustering,
    questions: Sequence[Question],
) -> dict[int, str]:
    """Each topic's most representative question (its first event): in the topic's most
    asked fine cluster, the question closest to that cluster's centroid (the most asked
    among equals)."""
    volume = np.bincount(found.fine, weights=np.asarray(weights, np.float64))
    first_event: dict[str, str] = {}
    for q in questions:
        first_event.setdefault(q.text, q.event_id)
    best: dict[int, tuple[float, float, int]] = {}
    chosen: dict[int, str] = {}
    for i, text in enumerate(distinct):
        topic, fine = int(found.labels[i]), int(found.fine[i])
        key = (volume[fine], round(float(found.similarity[i]), 4), weights[i])
        if topic not in best or key > best[topic]:
            best[topic], chosen[topic] = key, first_event[text]
    return chosen


def _names(terms: dict[int, list[str]]) -> dict[int, tuple[str, list[str]]]:
    """Each topic's name (its top words; unique, as it is the `topic` dimension's value)."""
    names: dict[int, tuple[str, list[str]]] = {}
    seen: set[str] = set()
    for tid in sorted(terms):
        name = " / ".join(terms[tid]) or f"topic {tid}"
        if name in seen:
            name = f"{name} #{tid}"
        seen.add(name)
        names[tid] = (name, terms[tid])
    return names


_QUESTION_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("conversation_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("language", pa.string()),
        ("is_first", pa.bool_()),
        ("before_fallback", pa.bool_()),
        ("before_handoff", pa.bool_()),
        ("topic_id", pa.int32()),
        ("similarity", pa.float32()),
    ]
)


def _question_table(rows: Sequence[tuple[Question, str | None, int, float]]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "event_id": q.event_id,
                "conversation_id": q.conversation_id,
                "ts": q.ts,
                "language": lang,
                "is_first": q.is_first,
                "before_fallback": q.before_fallback,
                "before_handoff": q.before_handoff,
                "topic_id": topic,
                "similarity": sim,
            }
            for q, lang, topic, sim in rows
        ],
        schema=_QUESTION_SCHEMA,
    )


# a conversation's topic: its first question's, else its earliest question's
_CONVERSATION_TOPICS = """
INSERT INTO conversation_topics
SELECT q.conversation_id, arg_min(q.topic_id, (NOT q.is_first, q.ts, q.event_id)),
  arg_min(t.name, (NOT q.is_first, q.ts, q.event_id))
FROM _new_questions q JOIN topics t USING (topic_id)
GROUP BY q.conversation_id
"""


def _replace(
    store: Store,
    model: TopicModel | None,
    topics: Sequence[tuple[int, str, str, list[str], str | None]],
    rows: Sequence[tuple[Question, str | None, int, float]],
    upto: int,
) -> int:
    con = store.con
    run(con, "BEGIN")
    try:
        for table in ("topic_model", "topics", "topic_questions", "conversation_topics"):
            run(con, f"DELETE FROM {table}")
        if model is not None:
            run(
                con,
                "INSERT INTO topic_model VALUES (1, ?, ?, ?)",
                [dt.datetime.now(dt.UTC), len(rows), model.to_bytes()],
            )
            con.executemany("INSERT INTO topics VALUES (?, ?, ?, ?, ?)", topics)
            _insert_questions(store, rows)
        _set_state(store, upto)
        run(con, "COMMIT")
    except Exception:
        run(con, "ROLLBACK")
        raise
    return int(run(con, "SELECT count(*) FROM conversation_topics")[0][0])


def _insert_questions(
    store: Store, rows: Sequence[tuple[Question, str | None, int, float]]
) -> None:
    store.con.register("_new_questions", _question_table(rows))
    try:
        run(store.con, "INSERT INTO topic_questions SELECT * FROM _new_questions")
        run(store.con, _CONVERSATION_TOPICS)
    finally:
        store.con.unregister("_new_questions")


def _set_state(store: Store, upto: int) -> None:
    run(
        store.con,
        "INSERT OR REPLACE INTO derived_state VALUES (?, ?, ?)",
        [_STATE, "1", upto],
    )


def load_model(store: Store) -> TopicModel | None:
    found = run(store.con, "SELECT model FROM topic_model WHERE id = 1")
    return TopicModel.from_bytes(found[0][0]) if found else None


def refresh(store: Store) -> int:
    """Assign the questions of conversations touched by events that arrived since the last
    build or refresh to the existing topics (building topics when there are none yet);
    returns how many questions were (re)assigned."""
    found = run(store.con, "SELECT upto_seq FROM derived_state WHERE name = ?", [_STATE])
    since = int(found[0][0]) if found else 0
    upto = store.max_seq()
    if upto <= since:
        return 0
    model = load_model(store)
    if model is None:
        return rebuild(store).questions
    assigned = _assign(store, model, since, upto)
    built, now = run(
        store.con,
        "SELECT (SELECT questions FROM topic_model), (SELECT count(*) FROM topic_questions)",
    )[0]
    if built < AUTO_REBUILD_UNTIL and now >= 2 * built:
        return rebuild(store, backend=model.backend).questions
    return assigned


def _assign(store: Store, model: TopicModel, since: int, upto: int) -> int:
    scope = (
        "SELECT DISTINCT conversation_id FROM events "
        f"WHERE seq > {since} AND seq <= {upto} AND conversation_id IS NOT NULL"
    )
    questions = extract_questions(store, scope)
    distinct = list(dict.fromkeys(q.text for q in questions))
    language = _languages(distinct)
    ids, sims = model.assign(distinct, [language[t] for t in distinct])
    topic_of = dict(zip(distinct, ids.tolist(), strict=True))
    similarity = dict(zip(distinct, sims.tolist(), strict=True))
    rows = [(q, language[q.text], topic_of[q.text], similarity[q.text]) for q in questions]
    con = store.con
    run(con, "BEGIN")
    try:
        run(con, f"CREATE OR REPLACE TEMP TABLE _touched AS {scope}")
        for table in ("topic_questions", "conversation_topics"):
            run(
                con,
                f"DELETE FROM {table} WHERE conversation_id IN "
                "(SELECT conversation_id FROM _touched)",
            )
        _insert_questions(store, rows)
        _set_state(store, upto)
        run(con, "DROP TABLE _touched")
        run(con, "COMMIT")
    except Exception:
        run(con, "ROLLBACK")
        raise
    return len(rows)
