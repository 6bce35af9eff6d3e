"""Which event ids a workspace's store holds, answered without scanning the store.

Scanning the `event_id` column for every ingest group costs time in proportion to the store
(~10-20 ms per million events here), which single-event latency cannot afford. Instead the
writer keeps a 64-bit hash of every stored id (the low half of its MD5, which DuckDB computes
vectorised as `md5_number_lower` at open and Python's hashlib per incoming id without a
query): a sorted numpy array (8 bytes per event) plus a set of the hashes added since. An id
whose hash is absent is certainly not stored; the rare hash hit is confirmed against the store.

Only *committed* ids are added (by the mover, right after its commit, in the same locked step
that takes them out of the in-flight ids): at any moment an acknowledged id is either in flight
(the writer's pending or moving ids) or here, never in neither. The class itself does not
lock: the writer calls it under its own lock.

Hashing every stored id takes seconds on a large store (12 s for 16.9M events on a busy
2-core machine), so it runs in a thread of its own when the workspace opens: reads are
answered meanwhile, and only the first ingest waits for it.
"""

from __future__ import annotations

import hashlib
import threading

import numpy as np

from chatlens.store import Store

MERGE_AT = 1_000_000


def id_hashes(ids: list[str]) -> list[int]:
    """The 64-bit hash of each id (equal to DuckDB's `md5_number_lower(event_id)`)."""
    return [
        int.from_bytes(hashlib.md5(i.encode(), usedforsecurity=False).digest()[8:], "little")
        for i in ids
    ]


class SeenIds:
    def __init__(self, store: Store):
        self.store = store
        self._sorted = np.empty(0, dtype=np.uint64)
        self._recent: set[int] = set()
        self._failed: BaseException | None = None
        self._ready = threading.Event()
        threading.Thread(target=self._load, name="chatlens-seen-ids", daemon=True).start()

    def _load(self) -> None:
        # the store's cursor is used here only until `_ready` is set, and by the others only
        # after it
        try:
            query = "SELECT md5_number_lower(event_id) AS h FROM events"
            column = self.store.con.execute(query).fetchnumpy()["h"]
            self._sorted = np.sort(np.asarray(column, dtype=np.uint64))
        except BaseException as exc:  # re-raised to whoever needs the ids
            self._failed = exc
        finally:
            self._ready.set()

    def close(self) -> None:
        """Wait for the loading thread to let go of the store's cursor."""
        self._ready.wait()

    def wait(self) -> None:
        """Until the stored ids are loaded; raises what stopped the loading."""
        self._ready.wait()
        if self._failed is not None:
            raise RuntimeError("could not read the stored event ids") from self._failed

    def hits(self, hashes: list[int]) -> list[bool]:
        """For each hash, whether a stored id has it (the id may be stored; if not, it is
        certainly new). Call `wait` first."""
        if not hashes:
            return []
        found = np.asarray(hashes, dtype=np.uint64)
        where = np.searchsorted(self._sorted, found)
        inside = where < len(self._sorted)
        hit = np.zeros(len(hashes), dtype=bool)
        hit[inside] = self._sorted[where[inside]] == found[inside]
        recent = self._recent
        return [bool(flag) or h in recent for h, flag in zip(hashes, hit, strict=True)]

    def add(self, hashes: list[int]) -> None:
        """Hashes of ids just committed to the store. Call `wait` first."""
        self._recent.update(hashes)
        if len(self._recent) >= MERGE_AT:
            new = np.sort(np.fromiter(self._recent, dtype=np.uint64, count=len(self._recent)))
            # one linear pass (a full re-sort of 17M hashes took ~1.5 s)
            self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, new), new)
            self._recent = set()
