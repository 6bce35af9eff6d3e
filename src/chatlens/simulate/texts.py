"""Every message text the simulator can emit, as one deduplicated list plus code tables.

A message's text is an integer code into `BOOK.strings`; the tables below map
(topic, language, phrasing, variation) to codes so texts are picked with numpy indexing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from chatlens.simulate import replies as r
from chatlens.simulate.config import LOCALES
from chatlens.simulate.phrases import (
    FOLLOW_UPS,
    GREETINGS,
    PINGS,
    PREFIXES,
    QUESTIONS,
    REOPENS,
    SUFFIXES,
    TOPICS,
    parse_table,
)

N_PHRASINGS = 3
N_PREFIXES = 4
N_SUFFIXES = 4


class TextBook:
    """The text dictionary and lookup tables (built once at import)."""

    def __init__(self) -> None:
        self.strings: list[str] = []
        self._codes: dict[str, int] = {}
        n_topics, n_langs = len(TOPICS), len(LOCALES)
        bot_answers = parse_table(r.BOT_ANSWERS)
        agent_answers = parse_table(r.AGENT_ANSWERS)
        shape = (n_topics, n_langs, N_PHRASINGS, N_PREFIXES, N_SUFFIXES)
        self.question = np.zeros(shape, dtype=np.int32)
        self.bot_answer = np.zeros((n_topics, n_langs), dtype=np.int32)
        self.agent_answer = np.zeros((n_topics, n_langs), dtype=np.int32)
        for ti, topic in enumerate(TOPICS):
            for li, lang in enumerate(LOCALES):
                phrasings = QUESTIONS[topic][lang]
                assert len(phrasings) == N_PHRASINGS, (topic, lang)
                for pi, phrase in enumerate(phrasings):
                    for vi, prefix in enumerate(PREFIXES[lang]):
                        body = phrase[0].lower() + phrase[1:] if prefix else phrase
                        for si, suffix in enumerate(SUFFIXES[lang]):
                            self.question[ti, li, pi, vi, si] = self.add(prefix + body + suffix)
                self.bot_answer[ti, li] = self.add(bot_answers[topic][lang][0])
                self.agent_answer[ti, li] = self.add(agent_answers[topic][lang][0])
        self.greeting = self._per_lang(GREETINGS)
        self.follow_up = self._per_lang(FOLLOW_UPS)
        self.ping = self._per_lang(PINGS)
        self.reopen = self._per_lang(REOPENS)
        self.fallback = self._per_lang(r.FALLBACKS)
        self.welcome = np.stack([self._per_lang(r.WELCOME), self._per_lang(r.WELCOME_PROACTIVE)], 1)
        self.bot_greeting = self._per_lang(r.BOT_GREETING_REPLY)
        self.bot_handoff = self.bot_answer[TOPICS.index("contact_human")]
        # agent_hello[lang, canned]
        self.agent_hello = np.stack(
            [self._per_lang(r.AGENT_HELLO), self._per_lang(r.AGENT_HELLO_CANNED)], 1
        )
        self.agent_generic = self._per_lang(r.AGENT_GENERIC)
        self.anything_else = self._per_lang(r.AGENT_ANYTHING_ELSE)
        # comments[lang, good, k]
        self.comment = np.stack(
            [self._per_lang(r.COMMENTS_BAD), self._per_lang(r.COMMENTS_GOOD)], 1
        )
        self.private_note = np.array([self.add(s) for s in r.PRIVATE_NOTES], dtype=np.int32)
        self.system_waiting = self.add(r.SYSTEM_WAITING)
        self.system_left = self.add(r.SYSTEM_LEFT)

    def add(self, text: str) -> int:
        code = self._codes.get(text)
        if code is None:
            code = self._codes[text] = len(self.strings)
            self.strings.append(text)
        return code

    def _per_lang(self, table: Mapping[str, str | tuple[str, ...]]) -> np.ndarray:
        rows = []
        for lang in LOCALES:
            entry = table[lang]
            rows.append(
                [self.add(entry)] if isinstance(entry, str) else [self.add(t) for t in entry]
            )
        out = np.array(rows, dtype=np.int32)
        return out[:, 0] if isinstance(table[LOCALES[0]], str) else out


BOOK = TextBook()
