"""FAQ and topics: what customers ask, grouped across languages, and what the bot should
learn next (docs/topics.md).

    from chatlens.topics import rebuild, refresh, list_topics, topic_detail, learn_next

Building and assigning topics (`rebuild`, `refresh`) needs scikit-learn, whose import takes
about 1.7 s: they are loaded on first use, so commands and pages that only read topics (or
none) start without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chatlens.topics.read import (
    learn_next,
    learn_next_csv,
    list_topics,
    rasa_nlu_yaml,
    topic_detail,
)

if TYPE_CHECKING:
    from chatlens.topics.build import BuildResult, rebuild, refresh

_BUILD = ("BuildResult", "rebuild", "refresh")


def __getattr__(name: str) -> Any:
    if name in _BUILD:
        from chatlens.topics import build

        return getattr(build, name)
    raise AttributeError(f"module 'chatlens.topics' has no attribute {name!r}")


__all__ = [
    "BuildResult",
    "learn_next",
    "learn_next_csv",
    "list_topics",
    "rasa_nlu_yaml",
    "rebuild",
    "refresh",
    "topic_detail",
]
