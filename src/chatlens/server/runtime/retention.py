"""The server's retention job: each open workspace applies its retention settings when it
opens and every `RETENTION_SECONDS` after (chatlens.store.retention), and removes its audit
records older than `retention_audit_days` (chatlens.app.audit); serving with `--lake`, the
workspace's lake gets the same settings (chatlens.lake.retention). The journal needs no
pass here: the mover empties it into the store (or the lake) within a fraction of a
second."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable

from chatlens.lake.layout import Lake
from chatlens.lake.retention import expire_lake
from chatlens.store import Store
from chatlens.store.retention import expire
from chatlens.store.settings import Settings, load_settings

log = logging.getLogger("chatlens.server")

RETENTION_SECONDS = 3600.0


class RetentionKeeper:
    """Runs `expire` on its own cursor, holding the facts lock (expiry rebuilds the facts)."""

    def __init__(
        self,
        store: Store,
        facts_lock: threading.Lock,
        seconds: float = RETENTION_SECONDS,
        audit: Callable[[Settings], int] | None = None,
        lake: Lake | None = None,
    ):
        self.store = store
        self.facts_lock = facts_lock
        self.seconds = seconds
        self.audit = audit
        """Removes the workspace's audit records past `retention_audit_days`; how many."""
        self.lake = lake
        """The workspace's lake (`serve --lake`), expired by the same settings."""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="chatlens-retention", daemon=True)
        self._thread.start()

    def run_once(self) -> None:
        with self.facts_lock:
            done = expire(self.store)
        if done.total():
            # counts only: never ids or contents
            log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in vars(done).items()))
        settings = load_settings(self.store.con)
        if self.audit is not None:
            removed = self.audit(settings)
            if removed:
                log.info("retention: %d audit records", removed)
        # last: a lake out of reach (S3 down) fails this step only, retried next run
        if self.lake is not None:
            in_lake = expire_lake(self.lake, settings, dt.datetime.now(dt.UTC))
            if in_lake.total():
                log.info(
                    "lake retention: %s", ", ".join(f"{k} {v}" for k, v in vars(in_lake).items())
                )

    def _loop(self) -> None:
        while True:
            try:
                self.run_once()
            except Exception:
                log.exception("retention expiry failed")
            self._wake.wait(self.seconds)
            self._wake.clear()
            if self._stop.is_set():
                return

    def wake(self) -> None:
        """Run soon (the settings changed: a shorter retention applies at once)."""
        self._wake.set()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()
