"""Topics at scale: time and peak memory to cluster 200k questions on this machine.

Two inputs of 200k questions each, through the real code path (chatlens.topics.model):
- simulated: the simulator's customer questions as they come (support questions repeat a
  lot; identical ones are clustered once, weighted),
- distinct: every question made unique (two extra words drawn from the same texts), the
  worst case for the deduplication.
The baseline in the same process: the textbook pipeline (sklearn TfidfVectorizer char_wb
2-4 + one MiniBatchKMeans with a fixed k=100 over all rows, no language split, no k search).

    .venv/bin/python bench/bench_topics.py [--questions 200000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import platform
import random
import resource
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from chatlens.simulate import SimConfig, write_events
from chatlens.topics.model import cluster, detect_languages
from chatlens.topics.questions import clean


def _child(work: Callable[[], Any], answer: Any) -> None:
    started = time.perf_counter()
    result = work()
    took = time.perf_counter() - started
    answer.put((result, took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measure(name: str, work: Callable[[], Any]) -> Any:
    """Run `work` in a forked process: its time and its peak resident memory (which includes
    the parent's ~0.3 GB of texts it inherits). tracemalloc is not used: it slowed the
    clustering 15x here."""
    ctx = multiprocessing.get_context("fork")
    answer = ctx.Queue()
    child = ctx.Process(target=_child, args=(work, answer))
    child.start()
    result, took, peak = answer.get()
    child.join()
    print(f"{name:<48} {took:7.1f} s   peak RSS {peak:7.0f} MiB", flush=True)
    return result


def ours(texts: list[str]) -> int:
    asked = Counter(texts)
    distinct = list(asked)
    languages = detect_languages(distinct)
    found = cluster(distinct, [asked[t] for t in distinct], languages)
    return len(found.model.topic_ids)


def baseline(texts: list[str]) -> int:
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), max_features=2**15,
                        sublinear_tf=True, dtype=np.float32).fit_transform(texts)  # fmt: skip
    MiniBatchKMeans(100, n_init=3, batch_size=4096, random_state=0).fit(x)
    return 100


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200_000)
    n = parser.parse_args().questions
    folder = Path("/tmp/chatlens-bench-topics")
    folder.mkdir(exist_ok=True)
    source = folder / "sim.parquet"
    if not source.exists():
        write_events(SimConfig(conversations=n, days=90, seed=11, end=dt.date(2026, 11, 22)),
                     source)  # fmt: skip
    rows = duckdb.sql(
        f"SELECT text FROM '{source}' WHERE type = 'message' AND sender = 'customer'"
    ).fetchall()
    texts = [t for t in (clean(r[0]) for r in rows) if t][:n]
    rng = random.Random(1)
    words = " ".join(texts[:50_000]).split()
    unique = [f"{t} {rng.choice(words)} {rng.choice(words)} {i}" for i, t in enumerate(texts)]
    print(f"machine: {platform.processor() or platform.machine()}, {platform.system()}, "
          f"python {platform.python_version()}; {len(texts):,} questions, "
          f"{len(set(texts)):,} distinct (simulated)")  # fmt: skip
    topics = measure("chatlens topics, simulated questions", lambda: ours(texts))
    print(f"  -> {topics} topics")
    topics = measure("chatlens topics, all distinct", lambda: ours(unique))
    print(f"  -> {topics} topics")
    measure("baseline TfidfVectorizer+MiniBatchKMeans k=100", lambda: baseline(unique))


if __name__ == "__main__":
    main()
