"""Request limits: ingest batch sizes and the login attempt limiter."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

MAX_EVENTS = 10_000
MAX_BODY_BYTES = 5 * 1024 * 1024


class LoginLimiter:
    """At most `per_account` failed logins per (client, email) and `per_client` per client in
    `window` seconds; a success clears the account's count."""

    def __init__(self, per_account: int = 5, per_client: int = 20, window: float = 900.0):
        self.per_account = per_account
        self.per_client = per_client
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def retry_after(self, client: str, email: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        with self._lock:
            now = time.monotonic()
            waits = []
            for key, limit in (
                ((client, email), self.per_account),
                ((client, ""), self.per_client),
            ):
                times = self._failures[key]
                while times and times[0] <= now - self.window:
                    times.popleft()
                if len(times) >= limit:
                    waits.append(int(times[0] + self.window - now) + 1)
            return max(waits, default=0)

    def failed(self, client: str, email: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._failures[(client, email)].append(now)
            self._failures[(client, "")].append(now)

    def succeeded(self, client: str, email: str) -> None:
        with self._lock:
            self._failures.pop((client, email), None)
