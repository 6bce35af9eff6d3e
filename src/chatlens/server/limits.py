"""Request limits: ingest batch sizes and the login attempt limiter."""

from __future__ import annotations

import threading
import time
from collections import deque

MAX_EVENTS = 10_000
MAX_BODY_BYTES = 5 * 1024 * 1024


class LoginLimiter:
    """At most `per_account` failed logins per account (whichever addresses they come from)
    and `per_client` per client address in `window` seconds; a success clears the account's
    count.

    The client address is the connection's peer, or what a trusted proxy forwarded
    (`chatlens serve --forwarded-allow-ips`): a client cannot pick it by sending a header.
    """

    def __init__(self, per_account: int = 5, per_client: int = 20, window: float = 900.0):
        self.per_account = per_account
        self.per_client = per_client
        self.window = window
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _keys(self, client: str, email: str) -> tuple[tuple[str, str], tuple[str, str]]:
        return ("account", email), ("client", client)

    def _recent(self, key: tuple[str, str], now: float) -> int:
        """How many failures `key` has in the window (forgetting older ones; a key whose
        failures all expired is dropped, so addresses and emails tried once do not pile up)."""
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return 0
        return len(times)

    def retry_after(self, client: str, email: str) -> int:
        """Seconds until another attempt is allowed (0: allowed now)."""
        with self._lock:
            now = time.monotonic()
            waits = []
            account, address = self._keys(client, email)
            for key, limit in ((account, self.per_account), (address, self.per_client)):
                if self._recent(key, now) >= limit:
                    waits.append(int(self._failures[key][0] + self.window - now) + 1)
            return max(waits, default=0)

    def failed(self, client: str, email: str) -> None:
        with self._lock:
            now = time.monotonic()
            for key in self._keys(client, email):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, client: str, email: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(client, email)[0], None)
