"""Calling a platform's REST API: one httpx client per sync, with the retries every
platform needs.

Retried, with exponential backoff and full jitter, at most `RETRIES` times per request:
429 (waiting what `Retry-After` says, in seconds or as an HTTP date, or until Intercom's
`X-RateLimit-Reset`, a Unix time, when that is longer than the backoff), 500, 502, 503,
504, and connection errors or timeouts. Any other answer (401 for a bad token, 403, 404)
ends the sync at once with a `PlatformError` naming the connection, the request and the
platform's status, never the token or a body.

Why a small loop and not a retry library (tenacity, stamina): the wait depends on the
answer's headers (Retry-After, X-RateLimit-Reset) as much as on the attempt number, and the
loop is 30 lines with no new dependency to pin; httpx's own transport `retries` only cover
failed connects, not 429 or 5xx."""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from chatlens.errors import ChatlensError

log = logging.getLogger("chatlens.sync")

RETRIES = 6
"""Retries of one request before the sync stops (and resumes at the next run)."""
BACKOFF = 0.5
"""The first backoff, doubled at each retry (with full jitter), at most `MAX_WAIT`."""
MAX_WAIT = 60.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class PlatformError(ChatlensError):
    """The platform refused a request (or kept failing): the message names the connection,
    the request and the platform's answer; the sync can be run again."""

    status = 502


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the platform asks us to wait: `Retry-After` (seconds or an HTTP date), else
    Intercom's `X-RateLimit-Reset` (the Unix time its window resets)."""
    now = time.time() if now is None else now
    value = response.headers.get("retry-after", "").strip()
    if value:
        if value.replace(".", "", 1).isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, when.timestamp() - now)
    reset = response.headers.get("x-ratelimit-reset", "").strip()
    if reset.isdigit():
        return max(0.0, int(reset) - now)
    return None


def backoff(attempt: int, rng: random.Random | None = None) -> float:
    """Full jitter: a random wait up to BACKOFF * 2**attempt (at most MAX_WAIT)."""
    return (rng or random).uniform(0, min(MAX_WAIT, BACKOFF * 2**attempt))


class Api:
    """Requests to one platform for one connection (`who` names it in errors)."""

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        who: str,
        sleep: Callable[[float], None] = time.sleep,
        auth: httpx.Auth | None = None,
    ):
        self.who, self.sleep = who, sleep
        self.client = httpx.Client(
            base_url=base_url,
            headers={"accept": "application/json", **headers},
            auth=auth,
            timeout=TIMEOUT,
            follow_redirects=False,
        )
        self.retries = 0
        """Requests retried in this sync (the CLI prints it)."""

    def close(self) -> None:
        self.client.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of a request, after the retries the platform's answers allow."""
        attempt = 0
        while True:
            problem: str
            wait: float | None = None
            try:
                response = self.client.request(method, path, **kwargs)
            except httpx.TransportError as exc:  # refused, reset, timed out
                problem = f"{type(exc).__name__}"
            else:
                if response.is_success:
                    try:
                        return response.json()
                    except ValueError:
                        raise PlatformError(
                            f"{self.who}: {method} {path} answered {response.status_code} "
                            "with a body that is not JSON (is --api-url the API's address?)"
                        ) from None
                if response.status_code not in RETRY_STATUSES:
                    raise PlatformError(
                        f"{self.who}: {method} {path} answered {response.status_code} "
                        f"{response.reason_phrase}{_hint(response.status_code)}"
                    )
                problem = f"{response.status_code} {response.reason_phrase}"
                wait = retry_after(response)
            if attempt >= RETRIES:
                raise PlatformError(
                    f"{self.who}: {method} {path} still failing after {RETRIES} retries "
                    f"(last: {problem}); run the sync again later: it resumes where it stopped"
                )
            pause = min(MAX_WAIT, max(wait or 0.0, backoff(attempt)))
            log.info("%s: %s %s: %s, retrying in %.1f s", self.who, method, path, problem, pause)
            self.retries += 1
            attempt += 1
            self.sleep(pause)


def _hint(status: int) -> str:
    return {
        401: ": the API token is wrong or expired (create the connection again with a new one)",
        403: ": the API token lacks a permission the sync needs (see docs/connections.md)",
        404: ": check --api-url and --account-id",
    }.get(status, "")
