"""What an erasure changes in one row, wherever the row is kept: the store's events (in SQL,
chatlens.privacy.store), and the rows outside it, in Python here (journal lines, lake files).

A customer's erasure takes every text of their conversations (message texts, rating
comments, page URLs, attrs, unknown fields), their own events' texts too, and puts the
token in place of their `customer_id` (their browsing `session_id`s get tokens of their
own). An agent's erasure takes the texts of their own messages and their events' attrs and
unknown fields, and puts the token in place of their id in every agent column. Before a bot
message's text goes, the fallback phrases are tested on it and the answer kept (`fallback`),
as retention does: every figure is the same afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chatlens.privacy.tokens import PREFIX, token
from chatlens.store.retention import EXPIRED, is_fallback_text
from chatlens.store.settings import Settings

AGENT_LISTS = ("agents", "offered_to", "declined_by", "timed_out_by")
"""List columns of the facts that hold agent ids (any column named *agent_id holds one)."""


@dataclass(frozen=True)
class Target:
    """Who is erased: `kind` customer or agent, the id, its token and the workspace key;
    for a customer, the conversations that are theirs."""

    kind: str
    subject: str
    token: str
    key: bytes
    conversations: frozenset[str] = frozenset()

    def session_token(self, session: str) -> str:
        return session if session.startswith(PREFIX) else token(self.key, "session", session)

    def scrub(self, row: dict[str, Any], settings: Settings) -> bool:
        """Change `row` in place; returns whether anything changed."""
        if self.kind == "customer":
            return self._customer(row, settings)
        return self._agent(row)

    def _customer(self, row: dict[str, Any], settings: Settings) -> bool:
        changed = False
        theirs = row.get("customer_id") == self.subject
        if theirs:
            row["customer_id"] = self.token
            if row.get("session_id"):
                row["session_id"] = self.session_token(row["session_id"])
            changed = True
        if theirs or row.get("conversation_id") in self.conversations:
            changed = _blank(row, settings, ("text", "comment", "page_url")) or changed
        return changed

    def _agent(self, row: dict[str, Any]) -> bool:
        changed = False
        own = row.get("agent_id") == self.subject
        for name, value in row.items():
            if name.endswith("agent_id") and value == self.subject:
                row[name] = self.token
                changed = True
            elif name in AGENT_LISTS and isinstance(value, list) and self.subject in value:
                row[name] = [self.token if v == self.subject else v for v in value]
                changed = True
        if own:
            texts = ("text",) if row.get("sender") == "agent" else ()
            changed = _blank(row, None, texts) or changed
        return changed


def _blank(row: dict[str, Any], settings: Settings | None, texts: tuple[str, ...]) -> bool:
    """Blank the texts named, attrs and unknown fields (as retention leaves them)."""
    changed = False
    for name in texts:
        if row.get(name) not in (None, EXPIRED[name]):
            bot = name == "text" and row.get("sender") == "bot" and row.get("fallback") is None
            if bot and settings is not None:
                row["fallback"] = is_fallback_text(settings, row["text"])
            row[name] = EXPIRED[name]
            changed = True
    if row.get("attrs") not in (None, EXPIRED["attrs"], {}):
        row["attrs"] = EXPIRED["attrs"] if isinstance(row["attrs"], str) else {}
        changed = True
    if row.get("extra") is not None:
        row["extra"] = None
        changed = True
    return changed
