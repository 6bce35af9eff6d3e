"""Clustering questions into topics: TF-IDF over character n-grams, MiniBatchKMeans per
language, the number of topics chosen by silhouette within bounds.

Why this shape: character n-grams need no tokenizer or model download and work the same in
Finnish (long compounds, many inflections) and Indonesian as in English. Identical questions
are clustered once, weighted by how often they were asked (support questions repeat a lot).
Questions are clustered per detected language: n-grams of different languages barely overlap,
so a global clustering would split by language anyway, and choosing k per language is cheaper
and steadier. Centroids are kept (unit length) so new questions are assigned to the nearest
topic of their language without re-clustering.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.cluster import MiniBatchKMeans
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize

NGRAMS = (2, 4)
MAX_FEATURES = 2**15
"""The n-gram vocabulary is capped (most frequent first): it bounds memory and the size of
the persisted centroids (topics x features float32)."""
MIN_TOPICS, MAX_TOPICS_PER_LANGUAGE = 2, 40
MIN_PER_TOPIC = 5
"""Distinct questions per topic at least, on average: bounds k for a small language."""
MIN_LANGUAGE_QUESTIONS = 30
"""A language with fewer distinct questions is clustered together with the other rare ones."""
SAMPLE_FOR_K = 4_000
"""Distinct questions the number of topics is chosen on (silhouette is quadratic)."""
LANGUAGES = ("en", "fi", "sv", "fr", "id", "de", "es", "pt", "it", "nl")
"""Languages detected (lingua, offline). Few on purpose: every extra language is one more
way a short message can be mistaken."""
MIXED = "mixed"


@cache
def _detector() -> Any:
    # lingua: rule + n-gram models compiled into the wheel (no download), built for short
    # texts, and can be restricted to the languages that matter (fewer confusions)
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*langs).build()


def detect_languages(texts: Sequence[str]) -> list[str | None]:
    """ISO 639-1 code of each text's language (None when undecided)."""
    found = _detector().detect_languages_in_parallel_of(list(texts))
    return [None if lang is None else lang.iso_code_639_1.name.lower() for lang in found]


def _analyzer() -> CountVectorizer:
    # char_wb: n-grams inside word boundaries, so "order" matches in "orders" and "ordernumret"
    return CountVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, max_features=MAX_FEATURES, dtype=np.float32
    )


def _tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    counts = counts.astype(np.float32)
    counts.data = 1.0 + np.log(counts.data)  # sublinear: a repeated n-gram counts less
    return normalize(counts.multiply(idf).tocsr())


@dataclass
class TopicModel:
    """What is kept to assign new questions: the n-gram vocabulary, its IDF, and each
    topic's centroid (unit length) with its id and language."""

    vocabulary: list[str]
    idf: np.ndarray
    centroids: np.ndarray
    topic_ids: np.ndarray
    languages: list[str]

    def vectorize(self, texts: Sequence[str]) -> sp.csr_matrix:
        vec = _analyzer()
        vec.vocabulary = {term: i for i, term in enumerate(self.vocabulary)}
        return _tfidf(vec.transform(texts), self.idf)

    def assign(
        self, texts: Sequence[str], languages: Sequence[str | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Nearest topic of each text among its language's (all topics when its language
        has none): (topic ids, cosine similarities)."""
        if not len(texts):
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        sims = np.asarray(self.vectorize(texts) @ self.centroids.T)
        own = np.array(self.languages)
        known = set(self.languages)
        mask = np.array([own == (lang if lang in known else MIXED) for lang in languages])
        if MIXED not in known:  # no pooled group: unknown languages go anywhere
            mask[~mask.any(axis=1)] = True
        sims = np.where(mask, sims, -np.inf)
        best = sims.argmax(axis=1)
        return self.topic_ids[best], sims[np.arange(len(best)), best].astype(np.float32)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            vocabulary=np.array(self.vocabulary, dtype=str),
            idf=self.idf,
            centroids=self.centroids,
            topic_ids=self.topic_ids,
            languages=np.array(self.languages, dtype=str),
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TopicModel:
        # plain arrays only: a store file never runs code when it is read
        arrays = np.load(io.BytesIO(data), allow_pickle=False)
        return cls(
            [str(t) for t in arrays["vocabulary"]],
            arrays["idf"],
            arrays["centroids"],
            arrays["topic_ids"],
            [str(lang) for lang in arrays["languages"]],
        )


@dataclass
class Clustering:
    model: TopicModel
    labels: np.ndarray
    """Topic id of each distinct text."""
    similarity: np.ndarray
    """Cosine similarity of each distinct text to its topic's centroid."""


def choose_k(x: sp.csr_matrix, weights: np.ndarray, seed: int = 0) -> int:
    """The number of topics with the best silhouette (cosine) among a geometric grid of
    candidates between MIN_TOPICS and a bound from the number of distinct questions."""
    n = x.shape[0]
    upper = min(MAX_TOPICS_PER_LANGUAGE, n // MIN_PER_TOPIC)
    if upper <= MIN_TOPICS:
        return max(1, min(upper, MIN_TOPICS))
    rng = np.random.default_rng(seed)
    if n > SAMPLE_FOR_K:
        keep = rng.choice(n, SAMPLE_FOR_K, replace=False, p=weights / weights.sum())
        x, weights = x[keep], weights[keep]
    # silhouette on long, varied messages favours the fewest clusters; the search starts
    # at half the sqrt(n/2) rule of thumb so 150 tweets do not become 2 topics
    lower = min(upper, max(MIN_TOPICS, round(math.sqrt(n / 2) / 2)))
    grid = sorted({round(k) for k in np.geomspace(lower, upper, 10)})
    best, best_score = grid[0], -math.inf
    for k in grid:
        labels = _kmeans(k, seed, n_init=1).fit_predict(x, sample_weight=weights)
        if len(set(labels)) < 2:
            continue
        score = silhouette_score(x, labels, metric="cosine")
        if score > best_score:
            best, best_score = k, score
    return best


def _kmeans(k: int, seed: int, n_init: int = 3) -> MiniBatchKMeans:
    # batch 2048: k-means++ seeding runs on 3 batches and dominated the time at 4096
    return MiniBatchKMeans(k, n_init=n_init, batch_size=2048, random_state=seed)


def cluster(texts: Sequence[str], weights: Sequence[int], languages: Sequence[str | None],
            seed: int = 0) -> Clustering:  # fmt: skip
    """Cluster distinct texts (each asked `weights[i]` times, in `languages[i]`)."""
    w = np.asarray(weights, dtype=np.float64)
    vec = _analyzer()
    counts = vec.fit_transform(texts).tocsr()
    vocabulary = [str(t) for t in vec.get_feature_names_out()]
    df = np.bincount(counts.indices, minlength=len(vocabulary))
    idf = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
    x = _tfidf(counts, idf)
    common = {lang for lang, n in Counter(languages).items() if n >= MIN_LANGUAGE_QUESTIONS}
    group = np.array([lang if lang in common else MIXED for lang in languages])
    labels = np.zeros(len(texts), np.int64)
    centroids: list[np.ndarray] = []
    owners: list[str] = []
    for lang in sorted(set(group)):
        rows = np.flatnonzero(group == lang)
        k = choose_k(x[rows], w[rows], seed)
        if k == 1:
            found = np.zeros(len(rows), np.int64)
            centers = np.asarray(x[rows].multiply(w[rows, None]).sum(axis=0))
        else:
            km = _kmeans(k, seed).fit(x[rows], sample_weight=w[rows])
            found, centers = km.labels_.astype(np.int64), km.cluster_centers_
        used = sorted(set(found.tolist()))  # an empty cluster is no topic
        remap = {old: len(centroids) + i for i, old in enumerate(used)}
        labels[rows] = [remap[int(f)] for f in found]
        centroids.extend(np.asarray(centers)[used])
        owners.extend([lang] * len(used))
    c = normalize(np.vstack(centroids)).astype(np.float32)
    ids = np.arange(1, len(c) + 1, dtype=np.int64)
    # each row's dot product with its own centroid, over its non-zeros only (c[labels] would
    # be a dense rows x features matrix: 26 GB for 200k questions)
    row_of = np.repeat(np.arange(x.shape[0]), np.diff(x.indptr))
    parts = x.data * c[labels[row_of], x.indices]
    similarity = np.bincount(row_of, weights=parts, minlength=x.shape[0])
    model = TopicModel(vocabulary, idf, c, ids, owners)
    return Clustering(model, ids[labels], similarity.astype(np.float32))


_WORD_SPLIT = CountVectorizer(token_pattern=r"(?u)\b[^\W\d_]{2,}\b").build_analyzer()


def top_terms(texts: Sequence[str], weights: Sequence[int], labels: Sequence[int] | np.ndarray,
              n: int = 3) -> dict[int, list[str]]:  # fmt: skip
    """Each topic's most distinctive words (class-based TF-IDF: frequent in the topic, rare
    elsewhere), so words every topic shares ("my", "is", "minun") sink without stop lists;
    among equals the longer word (it says more)."""
    per_topic: dict[int, Counter[str]] = {}
    overall: Counter[str] = Counter()
    for text, weight, label in zip(texts, weights, labels, strict=True):
        words = Counter({word: weight for word in set(_WORD_SPLIT(text))})
        per_topic.setdefault(int(label), Counter()).update(words)
        overall.update(words)
    mean_size = sum(overall.values()) / max(1, len(per_topic))
    # with few topics the class weight alone lets "the" and "my" through: a word's weight is
    # also its rarity over the distinct questions
    df = Counter(word for text in texts for word in set(_WORD_SPLIT(text)))
    terms = {}
    for label, words in per_topic.items():
        size = sum(words.values())
        scored = sorted(
            words,
            key=lambda w: (
                -(words[w] / size)
                * math.log(1 + mean_size / overall[w])
                * math.log(1 + len(texts) / df[w]),
                -len(w),
                w,
            ),
        )
        terms[label] = scored[:n]
    return terms
