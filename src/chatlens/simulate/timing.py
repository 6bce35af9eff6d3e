"""Time: the simulated period, arrival seasonality and agent shifts, in the workspace zone.

All times are float seconds since the Unix epoch (UTC). Local hours and weekdays come from
zoneinfo for every UTC hour, so daylight-saving days have 23 or 25 hours as they should.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from chatlens.simulate.columns import STATUS
from chatlens.simulate.config import SimConfig

# Relative chat volume per local hour of day and per weekday (Monday first).
HOUR_PROFILE = np.array(
    [
        0.15,
        0.08,
        0.05,
        0.04,
        0.04,
        0.06,
        0.15,
        0.35,
        0.70,
        0.95,
        1.10,
        1.15,
        1.10,
        1.05,
        1.05,
        1.00,
        0.95,
        0.90,
        0.95,
        1.05,
        1.10,
        0.95,
        0.65,
        0.35,
    ]
)
WEEKDAY_PROFILE = np.array([1.15, 1.10, 1.05, 1.00, 0.95, 0.75, 0.80])
CAMPAIGN_FACTOR = 2.5
SHIFT_STARTS = (7, 9, 12, 15)  # local start hours of the 8-hour shift types
SHIFT_HOURS = 8.0


@dataclass(frozen=True)
class Period:
    """The local days [first_day, last_day] as UTC epoch seconds [start, cutoff)."""

    zone: ZoneInfo
    first_day: dt.date
    days: int
    start: float
    cutoff: float
    campaign_days: tuple[int, ...]  # day indices with a volume spike

    def local(self, day: int, hour: float) -> float:
        """Epoch seconds of a local wall-clock time on day index `day`."""
        date = self.first_day + dt.timedelta(days=day)
        whole = int(hour)
        minute = round((hour - whole) * 60)
        return dt.datetime(
            date.year, date.month, date.day, whole, minute, tzinfo=self.zone
        ).timestamp()


def make_period(cfg: SimConfig, rng: np.random.Generator) -> Period:
    zone = ZoneInfo(cfg.timezone)
    last = cfg.last_day
    first = last - dt.timedelta(days=cfg.days - 1)
    start = dt.datetime(first.year, first.month, first.day, tzinfo=zone).timestamp()
    after = last + dt.timedelta(days=1)
    cutoff = dt.datetime(after.year, after.month, after.day, tzinfo=zone).timestamp()
    if cfg.stop_at is not None:
        cutoff = max(start, min(cutoff, cfg.stop_at.timestamp()))
    # One campaign of up to three days per started quarter, away from the period's edges.
    length = min(3, max(1, cfg.days // 5))
    campaigns: list[int] = []
    for _ in range(max(1, round(cfg.days / 90))):
        lo, hi = (1, cfg.days - length) if cfg.days > length + 1 else (0, cfg.days - length + 1)
        begin = int(rng.integers(lo, max(hi, lo + 1)))
        campaigns.extend(range(begin, min(begin + length, cfg.days)))
    return Period(zone, first, cfg.days, start, cutoff, tuple(sorted(set(campaigns))))


def hourly_buckets(period: Period) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UTC hour buckets of the period: start, length (s) and relative arrival weight."""
    starts = np.arange(period.start, period.cutoff, 3600.0)
    lengths = np.minimum(3600.0, period.cutoff - starts)
    weights = np.empty(len(starts))
    campaign = set(period.campaign_days)
    for i, ts in enumerate(starts.tolist()):
        local = dt.datetime.fromtimestamp(ts, period.zone)
        day = (local.date() - period.first_day).days
        factor = CAMPAIGN_FACTOR if day in campaign else 1.0
        trend = 1.0 + 0.15 * i / max(1, len(starts) - 1)  # a growing business
        weights[i] = HOUR_PROFILE[local.hour] * WEEKDAY_PROFILE[local.weekday()] * factor * trend
    return starts, lengths, weights * lengths / 3600.0


def arrivals(n: int, period: Period, rng: np.random.Generator) -> np.ndarray:
    """`n` conversation start times, sorted, following the seasonal intensity."""
    starts, lengths, weights = hourly_buckets(period)
    counts = rng.multinomial(n, weights / weights.sum())
    t: np.ndarray = np.repeat(starts, counts) + rng.random(n) * np.repeat(lengths, counts)
    t.sort()
    return t


def sample_times(n: int, period: Period, rng: np.random.Generator) -> np.ndarray:
    """`n` unsorted times with the same seasonality (for traffic that is not chat)."""
    starts, lengths, weights = hourly_buckets(period)
    bucket = rng.choice(len(starts), size=n, p=weights / weights.sum())
    times: np.ndarray = starts[bucket] + rng.random(n) * lengths[bucket]
    return times


def shifts(
    cfg: SimConfig, period: Period, agent_team: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Agent availability: (time, agent, status code) sorted by time.

    Each agent works five days a week in one of four shift types (so every team is covered
    from 07:00 to about 23:00 local), with a lunch break, sometimes a coffee break, and an
    occasional sick day. Nights are unstaffed: chats then wait or are missed.
    """
    n_agents = len(agent_team)
    slot = np.arange(n_agents) // max(1, cfg.teams)  # position within the team
    kind = slot % len(SHIFT_STARTS)
    local_start = np.array(
        [[period.local(d, h) for h in SHIFT_STARTS] for d in range(period.days)]
    )  # [day, shift type]
    weekday = np.array(
        [(period.first_day + dt.timedelta(days=d)).weekday() for d in range(period.days)]
    )
    grid_day, grid_agent = np.meshgrid(np.arange(period.days), np.arange(n_agents), indexing="ij")
    day, agent = grid_day.ravel(), grid_agent.ravel()
    off = (weekday[day] - agent) % 7 < 2  # two consecutive days off, staggered
    works = ~off & (rng.random(len(day)) > 0.03)
    day, agent = day[works], agent[works]
    m = len(day)
    start = local_start[day, kind[agent]] + rng.uniform(-600, 600, m)
    lunch = start + rng.uniform(3.5, 4.5, m) * 3600
    back = lunch + rng.uniform(20, 40, m) * 60
    end = start + SHIFT_HOURS * 3600 + rng.uniform(-300, 900, m)
    coffee = rng.random(m) < 0.3
    coffee_at = start + rng.uniform(1.5, 2.5, m) * 3600
    coffee_back = coffee_at + rng.uniform(8, 15, m) * 60
    online, away, offline = STATUS["online"], STATUS["away"], STATUS["offline"]
    times = [start, lunch, back, end, coffee_at[coffee], coffee_back[coffee]]
    who = [agent, agent, agent, agent, agent[coffee], agent[coffee]]
    codes = [online, away, online, offline, away, online]
    t = np.concatenate(times)
    a = np.concatenate(who).astype(np.int16)
    s = np.concatenate(
        [np.full(len(x), c, dtype=np.int8) for x, c in zip(times, codes, strict=True)]
    )
    keep = t < period.cutoff
    order = np.lexsort((a[keep], t[keep]))
    return t[keep][order], a[keep][order], s[keep][order]
