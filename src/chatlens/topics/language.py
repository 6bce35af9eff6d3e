"""Each question's language, offline.

lingua-language-detector decides: it ships its models inside the wheel (no download), is built
for short texts, deterministic, and can be restricted to the languages that matter. Chosen
over langdetect (unmaintained since 2021, non-deterministic without a seed, weak on short
text) and fastText-based detectors (need a model file).

lingua reads about 2,000-9,000 short texts a second on 2 cores (after loading its models for
a few seconds), so 200k distinct questions would take up to a minute and a half. Beyond
`LINGUA_AT_MOST` distinct texts, lingua labels a random sample of that size and a logistic
regression over the texts' character n-grams (already counted for clustering) learns from
it and labels the rest; the texts it is unsure of go back to lingua. (Naive Bayes was tried
first: as fast, but sure of itself when wrong, so its doubts could not be sent to lingua.)
lingua runs in a child process (lingua_child.py: it holds the GIL while it works).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from chatlens.topics import lingua_child
from chatlens.topics.vectors import idf_of, tfidf

LINGUA_AT_MOST = 8_000
"""Distinct texts lingua labels itself; the rest are labelled by what it taught (above)."""
SURE = 0.9
"""The classifier's probability below which a text goes back to lingua."""


def _lingua(texts: Sequence[str]) -> list[str | None]:
    return lingua_child.detect(texts)


def detect_languages(
    texts: Sequence[str], counts: sp.csr_matrix | None = None, seed: int = 0
) -> list[str | None]:
    """ISO 639-1 code of each text's language (None when undecided). `counts`: the texts'
    n-gram counts (rows as texts), which lets many texts be labelled quickly."""
    n = len(texts)
    if counts is None or n <= LINGUA_AT_MOST:
        return _lingua(texts)
    rng = np.random.default_rng(seed)
    taught = np.sort(rng.choice(n, LINGUA_AT_MOST, replace=False))
    found: list[str | None] = [None] * n
    for i, lang in zip(taught.tolist(), _lingua([texts[i] for i in taught]), strict=True):
        found[i] = lang
    known = [i for i in taught.tolist() if found[i] is not None]
    rest = np.setdiff1d(np.arange(n), taught)
    if len({found[i] for i in known}) < 2:  # one language (or none): nothing to tell apart
        only = found[known[0]] if known else None
        for i in rest.tolist():
            found[i] = only
        return found
    x = tfidf(counts, idf_of(counts))
    with threadpool_limits(1, user_api="blas"):
        learned = LogisticRegression(C=10, max_iter=200).fit(x[known], [found[i] for i in known])
        proba = learned.predict_proba(x[rest])
    best = proba.argmax(axis=1)
    unsure = rest[proba[np.arange(len(rest)), best] < SURE]
    for i, lang in zip(rest.tolist(), learned.classes_[best].tolist(), strict=True):
        found[i] = str(lang)
    for i, lang in zip(unsure.tolist(), _lingua([texts[i] for i in unsure]), strict=True):
        found[i] = lang
    return found
