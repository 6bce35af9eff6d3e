"""Rephrasings: when the bot did not understand a question, the customer's next question in
the same conversation usually asks the same thing in other words ("I want a refund" ->
fallback -> "how do I get my money back?"). Such pairs join clusters that share no wording
into one topic, which character n-grams alone cannot do.

k-means first finds fine clusters (mostly one wording each, with its small variations); two
fine clusters of a language are then joined when the rephrasings between them are a large
share of the rephrasings that leave either (average linkage over that share). A cluster that
many turn to after a fallback ("can I talk to a human?") is linked to many others, so to each
by a small share, and stays apart; so do two clusters with one chance link between them when
either has many links elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform

from chatlens.topics.questions import Question

JOIN_AT = 0.1
"""Share of rephrasings (between two clusters, of those leaving either: links / sqrt(out_a x
out_b)) from which two clusters are one topic."""
PRIOR = 3.0
"""Rephrasings added to every cluster's total, so that a single link between clusters seen in
few rephrasings weighs less."""


def rephrasing_pairs(questions: Sequence[Question]) -> list[tuple[str, str]]:
    """(question, the customer's next question) where the first was answered by a bot
    fallback and the two differ; `questions` in conversation and time order."""
    pairs = []
    for before, after in pairwise(questions):
        if (
            before.conversation_id == after.conversation_id
            and before.before_fallback
            and before.text != after.text
        ):
            pairs.append((before.text, after.text))
    return pairs


def join_by_rephrasings(labels: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Fine cluster labels (0..k-1 per row) and rephrasing pairs (rows of row indices) ->
    the topic (0..t-1) of each fine cluster."""
    k = int(labels.max()) + 1 if len(labels) else 0
    if k < 2 or not len(pairs):
        return np.arange(k)
    a, b = labels[pairs[:, 0]], labels[pairs[:, 1]]
    between = a != b
    links = np.zeros((k, k))
    np.add.at(links, (a[between], b[between]), 1.0)
    links += links.T
    out = links.sum(axis=1) + PRIOR
    share = links / np.sqrt(np.outer(out, out))
    distance = 1.0 - share
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    joined = fcluster(tree, t=1.0 - JOIN_AT, criterion="distance")
    return np.unique(joined, return_inverse=True)[1]
