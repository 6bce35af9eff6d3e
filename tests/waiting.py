"""Waiting on a condition instead of sleeping: the one polling loop of the tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], timeout: float = 60.0, interval: float = 0.05, what: str = ""
) -> T:
    """Call `condition` until it returns a truthy value and return that value; fail the test
    (AssertionError naming `what` and the last value) once `timeout` seconds have passed.
    `interval` is the pause between two calls, not a guess at how long the work takes. The
    deadline is generous (a busy CI machine): a condition met early returns at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"{what or 'the condition'} not met within {timeout:g} s (last: {value!r})"
            )
        time.sleep(interval)
