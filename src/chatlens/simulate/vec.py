"""Small vectorised helpers: clipped distributions and ragged (per-conversation) sequences."""

from __future__ import annotations

import numpy as np


def lognormal(
    rng: np.random.Generator, median: float, sigma: float, size: int, lo: float, hi: float
) -> np.ndarray:
    """Long-tailed durations (seconds) with the given median, clipped to [lo, hi]."""
    return np.clip(rng.lognormal(np.log(median), sigma, size), lo, hi)


def f32(x: np.ndarray) -> np.ndarray:
    """Round durations to float32 precision, so stored and recomputed plans agree exactly."""
    return np.asarray(x, dtype=np.float32).astype(np.float64)


def ragged(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-owner counts: (owner of each item, position of the item within its owner)."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    position = np.arange(len(owner)) - starts[owner]
    return owner, position


def ragged_cumsum(values: np.ndarray, owner: np.ndarray, n_owners: int) -> np.ndarray:
    """Cumulative sum of `values` restarting at each owner (items grouped by owner)."""
    total = np.cumsum(values)
    counts = np.bincount(owner, minlength=n_owners)
    ends = np.cumsum(counts)
    before = np.concatenate([[0.0], total])[ends - counts]
    sums: np.ndarray = total - before[owner]
    return sums


def pick(rng: np.random.Generator, shares: np.ndarray | list[float], size: int) -> np.ndarray:
    """Category codes (int8) drawn with the given shares."""
    p = np.asarray(shares, dtype=float)
    return rng.choice(len(p), size=size, p=p / p.sum()).astype(np.int8)
