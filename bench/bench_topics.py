"""Topics at scale: time, peak memory and agreement with the true topics for 200k questions.

Two inputs of 200k questions each (the simulator's customer messages, greetings removed),
through the real code path (n-gram counts, language detection, TF-IDF, clustering with the
rephrasings after bot fallbacks, top terms):
- simulated: the questions as they come (support questions repeat a lot; identical ones are
  clustered once, weighted),
- distinct: every question made unique (two words drawn from questions of the same language
  and a number appended), the worst case for the deduplication.
The baseline in the same process: the textbook pipeline (sklearn TfidfVectorizer char_wb
2-4 + one MiniBatchKMeans with a fixed k=100 over all rows, no language split, no k search).
Agreement (NMI / ARI against each message's true `intent`, per true language) is computed
outside the timed part.

    .venv/bin/python bench/bench_topics.py [--questions 200000] [--model tfidf|embeddings]
        [--only simulated|distinct|baseline]
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import platform
import random
import resource
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from chatlens.simulate import SimConfig, write_events
from chatlens.topics.language import detect_languages
from chatlens.topics.model import TFIDF, cluster, embedding_vectors, tfidf_vectors, top_terms
from chatlens.topics.questions import clean
from chatlens.topics.vectors import ngram_counts

_MESSAGES = """
SELECT m.conversation_id, m.sender, m.text, coalesce(m.fallback, false), s.locale, m.intent
FROM '{source}' m
JOIN (SELECT conversation_id, any_value("attrs.locale") AS locale FROM '{source}'
      WHERE "attrs.locale" IS NOT NULL GROUP BY 1) s USING (conversation_id)
WHERE m.type = 'message' AND m.sender IN ('customer', 'bot')
ORDER BY m.conversation_id, m.ts, m.event_id
"""


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _child(work: Callable[[], Any], answer: Any) -> None:
    started = time.perf_counter()
    result = work()
    took = time.perf_counter() - started
    answer.put((result, took, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))


def measure(name: str, work: Callable[[], Any]) -> Any:
    """Run `work` in a forked process: its time and its peak resident memory (which includes
    the parent's texts it inherits). tracemalloc is not used: it slowed the clustering 15x."""
    ctx = multiprocessing.get_context("fork")
    answer = ctx.Queue()
    child = ctx.Process(target=_child, args=(work, answer))
    child.start()
    result, took, peak = answer.get()
    child.join()
    print(f"{name:<48} {took:7.1f} s   peak RSS {peak:7.0f} MiB", flush=True)
    return result


def ours(texts: list[str], pairs: list[tuple[int, int]], backend: str) -> list[int]:
    """The topic of each question, as `chatlens topics rebuild` finds it."""
    asked = Counter(texts)
    distinct = list(asked)
    row = {text: i for i, text in enumerate(distinct)}
    weights = [asked[t] for t in distinct]
    counts, vocabulary = ngram_counts(distinct)
    languages = detect_languages(distinct, counts)
    vectors = tfidf_vectors(counts, vocabulary) if backend == TFIDF else embedding_vectors(distinct)
    del counts
    rephrased = np.array([(row[texts[a]], row[texts[b]]) for a, b in pairs], np.int64)
    found = cluster(vectors, weights, languages, 0, rephrased)
    top_terms(distinct, weights, found.labels)
    return [int(found.labels[row[t]]) for t in texts]


def baseline(texts: list[str]) -> list[int]:
    from sklearn.cluster import MiniBatchKMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    x = TfidfVectorizer(
        analyzer="char_wb",
        ngram_range=(2, 4),
        max_features=2**15,
        sublinear_tf=True,
        dtype=np.float32,
    ).fit_transform(texts)
    km = MiniBatchKMeans(100, n_init=3, batch_size=4096, random_state=0).fit(x)
    return km.labels_.tolist()


def agreement(labels: list[int], intents: list[str], locales: list[str]) -> str:
    by_language: dict[str, tuple[list[str], list[int]]] = defaultdict(lambda: ([], []))
    for label, intent, locale in zip(labels, intents, locales, strict=True):
        for key in (locale, "overall"):
            by_language[key][0].append(intent)
            by_language[key][1].append(label)
    parts = [
        f"{key} {normalized_mutual_info_score(t, f):.2f}/{adjusted_rand_score(t, f):.2f}"
        for key, (t, f) in sorted(by_language.items())
    ]
    return "  NMI/ARI " + ", ".join(parts)


def _conversation_questions(
    messages: list[tuple[str, str | None, bool, str, str]],
) -> list[tuple[str, str, str, bool]]:
    """One conversation's questions (text, intent, language, answered by a fallback) from
    its messages (sender, cleaned text, fallback, intent, language) in time order."""
    asked = [i for i, m in enumerate(messages) if m[0] == "customer"]
    failed: set[int] = set()
    last = None
    for i, (sender, _, fallback, _, _) in enumerate(messages):
        if sender == "customer":
            last = i
        elif fallback and last is not None:
            failed.add(last)
    first = next((i for i in asked[:5] if messages[i][1]), None)
    picked = {i for i in failed if messages[i][1]}
    if first is not None:
        picked.add(first)
    return [
        (messages[i][1] or "", messages[i][3], messages[i][4], i in failed) for i in sorted(picked)
    ]


def questions(n: int) -> tuple[list[str], list[str], list[str], list[tuple[int, int]]]:
    """n questions as `chatlens.topics.questions` picks them (each conversation's first
    substantive customer message among its first 5, and every customer message a bot
    fallback answered; handoffs left out), their intents and languages, and the rephrasings:
    (question, the next question) where the first was answered by a fallback."""
    folder = Path(tempfile.gettempdir()) / "chatlens-bench-topics"
    folder.mkdir(exist_ok=True)
    conversations = n + n // 8  # a few conversations have no question, some two
    source = folder / f"sim-{conversations}.parquet"
    if not source.exists():
        config = SimConfig(conversations=conversations, days=90, seed=11, end=dt.date(2026, 11, 22))
        write_events(config, source)
    texts: list[str] = []
    intents: list[str] = []
    locales: list[str] = []
    pairs: list[tuple[int, int]] = []
    by_conversation: dict[str, list[tuple[str, str | None, bool, str, str]]] = defaultdict(list)
    for cid, sender, text, fallback, locale, intent in duckdb.sql(
        _MESSAGES.format(source=source)
    ).fetchall():
        cleaned = clean(text or "") if sender == "customer" else None
        by_conversation[cid].append((sender, cleaned, fallback, intent or "none", locale))
    for messages in by_conversation.values():
        found = _conversation_questions(messages)
        for i, (text, intent, locale, _) in enumerate(found):
            if len(texts) >= n:
                break
            if i and found[i - 1][3] and found[i - 1][0] != text:
                pairs.append((len(texts) - 1, len(texts)))
            texts.append(text)
            intents.append(intent)
            locales.append(locale)
    return texts, intents, locales, pairs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--questions", type=int, default=200_000)
    parser.add_argument("--model", default=TFIDF)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    # read in a child process: the parent's memory is inherited by (and counted in) each case
    with multiprocessing.get_context("fork").Pool(1) as pool:
        texts, intents, locales, pairs = pool.apply(questions, (args.questions,))
    rng = random.Random(1)
    words: dict[str, list[str]] = defaultdict(list)
    for text, locale in zip(texts[:50_000], locales[:50_000], strict=True):
        words[locale].extend(text.split())
    unique = [
        f"{t} {rng.choice(words[loc])} {rng.choice(words[loc])} {i}"
        for i, (t, loc) in enumerate(zip(texts, locales, strict=True))
    ]
    print(
        f"{dt.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, {platform.system()}, python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}; {len(texts):,} questions, "
        f"{len(set(texts)):,} distinct (simulated), {len(pairs):,} rephrasings"
    )
    cases = {
        "simulated": lambda: ours(texts, pairs, args.model),
        "distinct": lambda: ours(unique, pairs, args.model),
        "baseline": lambda: baseline(unique),
    }
    names = {
        "simulated": f"chatlens topics ({args.model}), simulated",
        "distinct": f"chatlens topics ({args.model}), all distinct",
        "baseline": "baseline TfidfVectorizer+MiniBatchKMeans k=100",
    }
    print(
        f"parent process before the cases: {_rss_mib():.0f} MiB resident (inherited by each "
        "case and included in its peak)"
    )
    for case, work in cases.items():
        if args.only and case != args.only:
            continue
        labels = measure(names[case], work)
        print(
            f"  -> {len(set(labels))} topics, load average {os.getloadavg()[0]:.1f};"
            + agreement(labels, intents, locales),
            flush=True,
        )


if __name__ == "__main__":
    main()
