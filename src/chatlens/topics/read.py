"""Reading topics: the list with volumes, one topic with example questions, what the bot
should learn next (topics ranked by fallback + handoff questions), and its exports (CSV, Rasa
NLU YAML). `agent_id` limits every figure to the conversations that agent took part in (the
server's agent seats)."""

from __future__ import annotations

import io
import re
from typing import Any

from chatlens.reports.format import write_csv
from chatlens.store.db import Store
from chatlens.topics.questions import redact

_COUNTS = """
SELECT t.topic_id AS id, t.name, t.language, t.terms, r.text AS representative,
  count(q.event_id) AS questions,
  count(DISTINCT q.conversation_id) AS conversations,
  count(q.event_id) FILTER (WHERE q.before_fallback) AS fallback_questions,
  count(q.event_id) FILTER (WHERE q.before_handoff) AS handoff_questions,
  count(q.event_id) FILTER (WHERE q.before_fallback OR q.before_handoff) AS failed_questions
FROM topics t
LEFT JOIN (
  SELECT q.* FROM topic_questions q
  WHERE ($start IS NULL OR q.ts >= $start) AND ($end IS NULL OR q.ts < $end)
    AND ($agent IS NULL OR q.conversation_id IN (
      SELECT conversation_id FROM conversation_facts WHERE list_contains(agents, $agent)))
) q USING (topic_id)
LEFT JOIN events r ON r.event_id = t.representative_event_id
WHERE $topic IS NULL OR t.topic_id = $topic
GROUP BY ALL
"""

_EXAMPLES = """
SELECT q.topic_id, e.text, q.conversation_id, q.ts, q.language, q.is_first,
  q.before_fallback, q.before_handoff
FROM topic_questions q JOIN events e USING (event_id)
WHERE q.topic_id IN (SELECT unnest($topics::INTEGER[]))
  AND ($failed_only = false OR q.before_fallback OR q.before_handoff)
  AND ($agent IS NULL OR q.conversation_id IN (
    SELECT conversation_id FROM conversation_facts WHERE list_contains(agents, $agent)))
ORDER BY q.topic_id, (q.before_fallback OR q.before_handoff) DESC, q.similarity DESC,
  q.ts, q.event_id
"""


def _rows(store: Store, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    cursor = store.con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def list_topics(
    store: Store,
    *,
    start: Any = None,
    end: Any = None,
    agent_id: str | None = None,
    topic_id: int | None = None,
) -> list[dict[str, Any]]:
    """Every topic with its questions, conversations and failed questions (asked in
    [start, end) when given), the most asked first."""
    rows = _rows(
        store,
        _COUNTS,
        {"start": start, "end": end, "agent": agent_id, "topic": topic_id},
    )
    for row in rows:
        row["representative"] = redact(row["representative"] or "")
    return sorted(rows, key=lambda r: (-r["questions"], r["id"]))


def _examples(
    store: Store, topics: list[int], per_topic: int, failed_only: bool, agent_id: str | None
) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {t: [] for t in topics}
    seen: dict[int, set[str]] = {t: set() for t in topics}
    params = {"topics": topics, "failed_only": failed_only, "agent": agent_id}
    for row in _rows(store, _EXAMPLES, params):
        topic = row.pop("topic_id")
        text = redact(row["text"] or "")
        if len(found[topic]) >= per_topic or text.lower() in seen[topic]:
            continue  # distinct questions only: the same wording twice teaches nothing
        seen[topic].add(text.lower())
        found[topic].append({**row, "text": text})
    return found


def topic_detail(
    store: Store, topic_id: int, *, examples: int = 10, agent_id: str | None = None
) -> dict[str, Any] | None:
    """One topic with its figures and example questions (failed ones first); None if none."""
    rows = list_topics(store, agent_id=agent_id, topic_id=topic_id)
    if not rows:
        return None
    topic = rows[0]
    topic["examples"] = _examples(store, [topic_id], examples, False, agent_id)[topic_id]
    return topic


def learn_next(
    store: Store, *, limit: int = 20, examples: int = 5, agent_id: str | None = None, **period: Any
) -> list[dict[str, Any]]:
    """What the bot should learn next: topics ranked by the questions that preceded a bot
    fallback or a handoff (most first), each with such questions as examples."""
    rows = [r for r in list_topics(store, agent_id=agent_id, **period) if r["failed_questions"]]
    rows.sort(key=lambda r: (-r["failed_questions"], -r["questions"], r["id"]))
    rows = rows[:limit]
    found = _examples(store, [r["id"] for r in rows], examples, True, agent_id)
    for row in rows:
        row["examples"] = found[row["id"]]
    return rows


def learn_next_csv(rows: list[dict[str, Any]]) -> str:
    """One line per example question: rank, topic, counts, question."""
    out = io.StringIO()
    lines = (
        [
            rank,
            row["id"],
            row["name"],
            row["failed_questions"],
            row["fallback_questions"],
            row["handoff_questions"],
            row["questions"],
            example["text"],
        ]
        for rank, row in enumerate(rows, 1)
        for example in row["examples"] or [{"text": ""}]
    )
    write_csv(
        out,
        [
            "rank",
            "topic_id",
            "topic",
            "failed_questions",
            "fallback_questions",
            "handoff_questions",
            "questions",
            "example",
        ],
        lines,
    )
    return out.getvalue()


# what YAML may not hold (NUL and the other control characters; a parser refuses the file)
_YAML_UNPRINTABLE = re.compile(
    "[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def rasa_nlu_yaml(rows: list[dict[str, Any]]) -> str:
    """Training data in Rasa's NLU YAML format: one intent per topic, its example
    questions as examples (named after the topic; rename before training)."""
    lines = ['version: "3.1"', "nlu:"]
    for row in rows:
        texts = [
            " ".join(_YAML_UNPRINTABLE.sub("\ufffd", e["text"]).split()) for e in row["examples"]
        ]
        texts = [t for t in texts if t]
        if not texts:
            continue
        lines.append(f"- intent: topic_{row['id']}_{slug(row['name'])}")
        lines.append("  examples: |")
        lines.extend(f"    - {t}" for t in texts)
    return "\n".join(lines) + "\n"


_FAILED = """
SELECT q.ts, q.conversation_id, e.text, t.name AS topic, q.before_fallback, q.before_handoff
FROM topic_questions q JOIN events e USING (event_id)
LEFT JOIN topics t USING (topic_id)
WHERE (q.before_fallback OR q.before_handoff)
  AND ($start IS NULL OR q.ts >= $start) AND ($end IS NULL OR q.ts < $end)
  AND ($agent IS NULL OR q.conversation_id IN (
    SELECT conversation_id FROM conversation_facts WHERE list_contains(agents, $agent)))
ORDER BY q.ts DESC, q.event_id
LIMIT $limit
"""


def failed_questions(
    store: Store,
    *,
    start: Any = None,
    end: Any = None,
    agent_id: str | None = None,
    limit: int = 30,
) -> list[dict[str, Any]]:
    """The latest customer messages that led to a bot fallback or a handoff, with their topic
    (links, e-mails and handles redacted)."""
    params = {"start": start, "end": end, "agent": agent_id, "limit": limit}
    rows = _rows(store, _FAILED, params)
    for row in rows:
        row["text"] = redact(row["text"] or "")
    return rows


_SLUG = re.compile(r"[^\w]+", re.UNICODE)


def slug(name: str) -> str:
    """A topic name as an identifier (Rasa intent names): 'refund / money' -> 'refund_money'."""
    return _SLUG.sub("_", name.lower()).strip("_")
