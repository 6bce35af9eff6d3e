"""Results of queries already answered, kept until the store's data changes.

A dashboard asks the same questions over and over (every page load, every user of a
workspace); over 1M conversations the whole overview takes seconds to compute. A result is
reused only while the store holds exactly the data it was computed from: the key holds the
store file (path and inode), the highest event `seq`, the state of the derived tables (facts
version and the event they are up to), the settings and the query with its period resolved
(so "today" moves on). Events are append-only, so any new event changes the key. Queries on
`topic` are not kept: topics are re-clustered without new events.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")

MAX_RESULTS = 256


class ResultCache:
    """A bounded, thread-safe least-recently-used map of results."""

    def __init__(self, size: int = MAX_RESULTS):
        self.size = size
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The kept result for `key` (a copy: callers may change it), else compute it."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return copy.deepcopy(self._items[key])  # type: ignore[return-value]
            self.misses += 1
        value = compute()
        with self._lock:
            self._items[key] = copy.deepcopy(value)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


RESULTS = ResultCache()
