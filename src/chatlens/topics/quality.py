"""How well topics agree with known labels: NMI and ARI per language and overall.

The truth is each question's `intent` as sent with the message. On real data that is only the
bot's own guess, but the simulator (chatlens.simulate) puts every customer message's true
topic there, so the clustering can be checked against it (tests, bench/bench_topics.py).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from chatlens.store.db import Store
from chatlens.store.sql import run

_LABELLED = """
SELECT coalesce(json_extract_string(f.attrs, '$.locale'), q.language) AS language,
  e.intent, q.topic_id
FROM topic_questions q
JOIN events e USING (event_id)
LEFT JOIN conversation_facts f ON f.conversation_id = q.conversation_id
WHERE e.intent IS NOT NULL AND q.topic_id IS NOT NULL
"""


def agreement(store: Store) -> dict[str, dict[str, Any]]:
    """{language | 'overall': {questions, nmi, ari}} over the questions whose message carries
    an intent; the language is the conversation's `attrs.locale` (the simulator's truth),
    else the detected one."""
    groups: dict[str, tuple[list[str], list[int]]] = defaultdict(lambda: ([], []))
    for language, intent, topic in run(store.con, _LABELLED):
        for key in (language or "unknown", "overall"):
            groups[key][0].append(intent)
            groups[key][1].append(topic)
    return {
        key: {
            "questions": len(truth),
            "nmi": float(normalized_mutual_info_score(truth, found)),
            "ari": float(adjusted_rand_score(truth, found)),
        }
        for key, (truth, found) in sorted(groups.items())
    }
