"""The sign-in limiter on its own, on a clock the test moves: per account whatever the
address, per address whatever the account, a window that forgets."""

from __future__ import annotations

import pytest

from chatlens.server import limits
from chatlens.server.limits import LoginLimiter


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(limits.time, "monotonic", lambda: now[0])
    return now


def test_an_account_is_locked_after_five_failures_from_five_addresses(clock):
    limiter = LoginLimiter(per_account=5, per_client=20, window=900)
    for n in range(5):
        assert limiter.retry_after(f"10.0.0.{n}", "ann@x.example") == 0
        limiter.failed(f"10.0.0.{n}", "ann@x.example")
        clock[0] += 10  # the first failure was at 1000, the fifth at 1040
    assert limiter.retry_after("10.0.0.9", "ann@x.example") == 900 - 50 + 1
    assert limiter.retry_after("10.0.0.0", "bob@x.example") == 0  # another account


def test_an_address_is_refused_after_twenty_failures_on_any_accounts(clock):
    limiter = LoginLimiter(per_account=5, per_client=20, window=900)
    for n in range(20):
        limiter.failed("10.0.0.1", f"user{n}@x.example")
    assert limiter.retry_after("10.0.0.1", "new@x.example") == 901
    assert limiter.retry_after("10.0.0.2", "new@x.example") == 0


def test_success_clears_the_account_not_the_address(clock):
    limiter = LoginLimiter(per_account=2, per_client=3, window=900)
    limiter.failed("10.0.0.1", "ann@x.example")
    limiter.failed("10.0.0.2", "ann@x.example")
    assert limiter.retry_after("10.0.0.3", "ann@x.example") == 901
    limiter.succeeded("10.0.0.3", "ann@x.example")
    assert limiter.retry_after("10.0.0.3", "ann@x.example") == 0
    limiter.failed("10.0.0.1", "bob@x.example")
    limiter.failed("10.0.0.1", "eve@x.example")  # 10.0.0.1: its third failure
    assert limiter.retry_after("10.0.0.1", "ann@x.example") == 901


def test_failures_older_than_the_window_are_forgotten(clock):
    limiter = LoginLimiter(per_account=1, per_client=1, window=900)
    limiter.failed("10.0.0.1", "ann@x.example")
    clock[0] += 899
    assert limiter.retry_after("10.0.0.1", "ann@x.example") == 2
    clock[0] += 1
    assert limiter.retry_after("10.0.0.1", "ann@x.example") == 0
    assert limiter._failures == {}  # nothing kept for addresses and emails tried once
