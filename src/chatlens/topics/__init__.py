"""FAQ and topics: what customers ask, grouped across languages, and what the bot should
learn next (metrics.md section 7).

    from chatlens.topics import rebuild, refresh, list_topics, topic_detail, learn_next
"""

from chatlens.topics.build import BuildResult, rebuild, refresh
from chatlens.topics.read import (
    learn_next,
    learn_next_csv,
    list_topics,
    rasa_nlu_yaml,
    topic_detail,
)

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
