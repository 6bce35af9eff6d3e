"""What an engine keeps between queries: the SQL compiled from the catalogue and the results
of queries already answered. Both live in a `Caches` object the caller owns and passes to the
engines that should share it (a server: one per workspace runtime, shared by its pool of
engines); an engine made without one keeps its own. Nothing is kept at module level.

Results are kept until the store's data changes. A dashboard asks the same questions over
and over (every page load, every user of a workspace); over 1M conversations the whole
overview takes seconds to compute. A result is reused only while the store holds exactly the
data it was computed from: the key holds the store file (path and inode), the highest event
`seq`, the state of the derived tables (facts version and the event they are up to), the
settings and the query with its period resolved (so "today" moves on). Events are
append-only, so any new event changes the key. Queries on `topic` are not kept: topics are
re-clustered without new events.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

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


class CompiledSQL:
    """SQL compiled from the catalogue: ibis takes ~50 ms per source (1.9 s for the whole
    catalogue), and a server answers from a pool of engines, so a query shape compiled by
    one is reused by the others (and by a repeated query: a dashboard refresh)."""

    def __init__(self, size: int = 2048):
        self._size = size
        self._entries: dict[tuple[Any, ...], str | None] = {}
        self._lock = threading.Lock()

    def get_or_compile(self, key: tuple[Any, ...], compile: Callable[[], str | None]) -> str | None:
        """The SQL kept for `key` (None: the source cannot build this split), else compile."""
        with self._lock:
            held = key in self._entries
            found = self._entries.get(key)
        if held:
            return found
        sql = compile()
        with self._lock:
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[key] = sql
        return sql

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass
class Caches:
    """The compiled SQL and the kept results, owned by whoever made it (see the module)."""

    compiled: CompiledSQL = field(default_factory=CompiledSQL)
    results: ResultCache = field(default_factory=ResultCache)

    def clear(self) -> None:
        self.compiled.clear()
        self.results.clear()
