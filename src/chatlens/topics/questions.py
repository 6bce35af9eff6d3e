"""Which customer messages are questions (docs/topics.md).

Per conversation: the first substantive customer message (a bare greeting or "ok thanks" is
not one; a greeting in front of a question is cut off), and every customer message that came
last before a bot fallback or a handoff request. Fallbacks are recognised by the facts' own
rule (`IS_FALLBACK` with the workspace's fallback phrases), so the two never disagree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from chatlens.store.db import Store
from chatlens.store.facts_sql import IS_FALLBACK, facts_parameters
from chatlens.store.settings import load_settings
from chatlens.store.sql import run


def _words(*lines: str) -> frozenset[str]:
    return frozenset(" ".join(lines).split())


GREETINGS = _words(
    "hi hello hey hiya howdy yo greetings morning evening afternoon good there dear all team",
    "moi hei heippa moikka terve morjens huomenta päivää iltaa hyvää",
    "hej hallå tjena hejsan god morgon dag kväll",
    "bonjour salut bonsoir coucou allô allo",
    "halo hai hallo selamat pagi siang sore malam permisi kak",
)
"""Words a customer greets with, in English, Finnish, Swedish, French and Indonesian
(`good`, `there`, `pagi`... only count as part of a leading greeting, never alone)."""

SMALL_TALK = _words(
    "ok okay okey oke yes no yeah nope thanks thank you thx ty please great cool fine sure",
    "kiitos kiitti joo juu ei okei selvä kiva",
    "tack ja nej tackar bra",
    "merci oui non super daccord parfait",
    "makasih terima kasih ya tidak ga oke sip baik",
)
"""Words that alone make a message an acknowledgement, not a question."""

FIRST_MESSAGES_LOOKED_AT = 5
"""How many customer messages of a conversation are looked at for its first question (a
conversation that starts with five greetings has none)."""

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
# An address's parts are bounded ({1,64}, as RFC 5321 bounds the local part): an unbounded
# `\S+@` made a 100 KB word without "@" take 85 s to scan (each start rescanned to its end).
_NOISE = re.compile(r"https?://\S+|www\.\S+|[^\s@]{1,64}@[^\s@]{1,255}\.\S+|@\w+", re.UNICODE)


@dataclass(frozen=True)
class Question:
    event_id: str
    conversation_id: str
    ts: datetime
    text: str
    """The message as clustered (see `clean`; never logged)."""
    is_first: bool
    before_fallback: bool
    before_handoff: bool


def redact(text: str) -> str:
    """A message for display and export: links, e-mail addresses and @handles removed."""
    return " ".join(_NOISE.sub(" ", text).split())


def clean(text: str) -> str:
    """The words of a message that say what it is about, lower-cased: links, e-mail addresses
    and @handles out (they identify people, not topics), a leading greeting cut off; '' when
    nothing substantive is left."""
    text = _NOISE.sub(" ", text).lower()
    words = list(_WORD.finditer(text))
    start = 0
    while start < len(words) and words[start].group() in GREETINGS:
        start += 1
    rest = [w.group() for w in words[start:]]
    if not rest or all(w in SMALL_TALK or w in GREETINGS for w in rest):
        return ""
    if sum(len(w) for w in rest) < 3:  # "?", "k", "no" is not a question
        return ""
    return " ".join(text[words[start].start() :].split())


_CANDIDATES_SQL = """
WITH m AS (
  SELECT conversation_id, event_id, ts, seq, type, sender, text,
    type = 'message' AND coalesce(IS_FALLBACK_TEST, false) AS is_fallback
  FROM events
  WHERE conversation_id IN (SELECT conversation_id FROM _topic_scope)
    AND ((type = 'message' AND sender IN ('customer', 'bot') AND NOT coalesce(private, false))
      OR type = 'handoff_requested')
),
o AS (
  SELECT *,
    -- the customer's latest message before this row: what a fallback or handoff answered
    last_value(CASE WHEN type = 'message' AND sender = 'customer' THEN event_id END
      IGNORE NULLS) OVER (PARTITION BY conversation_id ORDER BY ts, seq
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS asked_before,
    row_number() OVER (PARTITION BY conversation_id, type = 'message' AND sender = 'customer'
      ORDER BY ts, seq) AS position
  FROM m
),
triggers AS (
  SELECT asked_before AS event_id, bool_or(is_fallback) AS before_fallback,
    bool_or(type = 'handoff_requested') AS before_handoff
  FROM o WHERE asked_before IS NOT NULL AND (is_fallback OR type = 'handoff_requested')
  GROUP BY asked_before
)
SELECT o.event_id, o.conversation_id, o.ts, o.text,
  coalesce(t.before_fallback, false) AS before_fallback,
  coalesce(t.before_handoff, false) AS before_handoff,
  o.position <= $first_looked_at AS early
FROM o LEFT JOIN triggers t USING (event_id)
WHERE o.type = 'message' AND o.sender = 'customer' AND o.text IS NOT NULL
  AND (o.position <= $first_looked_at OR t.event_id IS NOT NULL)
ORDER BY o.conversation_id, o.ts, o.seq
"""


def extract_questions(store: Store, scope_sql: str | None = None) -> list[Question]:
    """The questions of every conversation (or of those `scope_sql` selects: a query
    returning `conversation_id`), in conversation and time order."""
    match, params = facts_parameters(load_settings(store.con), marker="$", apostrophe="''''")
    sql = _CANDIDATES_SQL.replace("IS_FALLBACK_TEST", IS_FALLBACK.format(fallback_match=match))
    bound = {k: v for k, v in params.items() if k.startswith("phrase")}
    bound["first_looked_at"] = FIRST_MESSAGES_LOOKED_AT
    scope = scope_sql or "SELECT DISTINCT conversation_id FROM events"
    run(store.con, f"CREATE OR REPLACE TEMP TABLE _topic_scope AS {scope}")
    try:
        rows = run(store.con, sql, bound)
    finally:
        run(store.con, "DROP TABLE IF EXISTS _topic_scope")
    questions: list[Question] = []
    answered: set[str] = set()  # conversations whose first question is already found
    cleaned_of: dict[str, str] = {}  # support messages repeat: each text is cleaned once
    for event_id, conversation_id, ts, text, fallback, handoff, early in rows:
        cleaned = cleaned_of.get(text)
        if cleaned is None:
            cleaned = cleaned_of[text] = clean(text)
        if not cleaned:
            continue
        first = early and conversation_id not in answered
        if first:
            answered.add(conversation_id)
        if first or fallback or handoff:
            questions.append(
                Question(event_id, conversation_id, ts, cleaned, first, fallback, handoff)
            )
    return questions
