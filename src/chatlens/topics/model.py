"""Clustering questions into topics: fine clusters by k-means per language (on TF-IDF
character n-grams reduced to 100 dimensions, or on sentence embeddings), their number chosen
by silhouette within bounds, then joined into topics by the customers' rephrasings after bot
fallbacks (`rephrasings.py`), at most MAX_TOPICS_PER_LANGUAGE topics per language.

Why this shape: character n-grams need no tokenizer or model download and work the same in
Finnish (long compounds, many inflections) and Indonesian as in English. Identical questions
are clustered once, weighted by how often they were asked (support questions repeat a lot).
Questions are clustered per detected language: n-grams of different languages barely overlap,
so a global clustering would split by language anyway, and choosing k per language is cheaper
and steadier. The sparse n-gram rows are reduced to 100 dimensions (truncated SVD, fitted on
a sample) before k-means: k-means and the silhouette are then cheap dense arithmetic, and the
reduction merges n-grams that occur together (a word and its inflections). A fine cluster is
mostly one wording of a question; wordings that share no words ("I want a refund", "how do I
get my money back?") are only joined by the rephrasings. The fine clusters' centroids are kept
in the full space (unit length), each with its topic's id, so a new question goes to the
topic of the nearest centroid of its language without re-clustering (and so does each
clustered question).
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.metrics import silhouette_score
from sklearn.preprocessing import normalize
from threadpoolctl import threadpool_limits

from chatlens.topics.rephrasings import join_by_rephrasings
from chatlens.topics.vectors import idf_of, ngram_counts, tfidf

TFIDF, EMBEDDINGS = "tfidf", "embeddings"
BACKENDS = (TFIDF, EMBEDDINGS)
DIMENSIONS = 100
"""The n-gram rows are reduced to this many dimensions before k-means."""
REDUCE_ON = 10_000
"""Distinct questions (of one language) the reduction is fitted on; all are then reduced."""
MIN_TOPICS, MAX_FINE = 2, 60
"""Bounds of the number of fine clusters (k of k-means) per language."""
PER_TOPIC = 3
"""Distinct questions per fine cluster at least, on average: bounds k for a small language."""
MAX_TOPICS_PER_LANGUAGE = 25
"""Topics per language at most, after fine clusters are joined by rephrasings: beyond it the
most similar are joined (a support team reads tens of topics, not hundreds)."""
MIN_LANGUAGE_QUESTIONS = 30
"""A language with fewer distinct questions is clustered together with the other rare ones."""
SAMPLE_FOR_K = 2_000
"""Distinct questions the number of topics is chosen on (silhouette is quadratic)."""
CLEAR_GROUPS = 0.1
"""The silhouette under which no number of clusters is better than another: the fewest."""
FIT_ON = 20_000
"""Distinct questions (of one language, drawn by how often each was asked) k-means is fitted
on; the others go to their nearest centre."""
MIXED = "mixed"


@dataclass
class Vectors:
    """Questions as unit rows, and what turns new questions into the same kind of rows."""

    backend: str
    rows: sp.csr_matrix | np.ndarray
    vocabulary: list[str]
    """The n-grams (TF-IDF); empty for embeddings."""
    idf: np.ndarray


def tfidf_vectors(counts: sp.csr_matrix, vocabulary: list[str]) -> Vectors:
    idf = idf_of(counts)
    return Vectors(TFIDF, tfidf(counts, idf), vocabulary, idf)


def embedding_vectors(texts: Sequence[str]) -> Vectors:
    from chatlens.topics.embeddings import embed

    return Vectors(EMBEDDINGS, embed(texts), [], np.zeros(0, np.float32))


@dataclass
class TopicModel:
    """What is kept to assign new questions: how questions become vectors (the n-gram
    vocabulary and its IDF, or the embeddings model), and each topic's centroid (unit
    length) with its id and language."""

    vocabulary: list[str]
    idf: np.ndarray
    centroids: np.ndarray
    topic_ids: np.ndarray
    languages: list[str]
    backend: str = TFIDF

    def vectorize(self, texts: Sequence[str]) -> sp.csr_matrix | np.ndarray:
        if self.backend == EMBEDDINGS:
            return embedding_vectors(texts).rows
        return tfidf(ngram_counts(texts, self.vocabulary)[0], self.idf)

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
            backend=np.array(self.backend, dtype=str),
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
            str(arrays["backend"]) if "backend" in arrays.files else TFIDF,
        )


@dataclass
class Clustering:
    model: TopicModel
    labels: np.ndarray
    """Topic id of each distinct text."""
    similarity: np.ndarray
    """Cosine similarity of each distinct text to its nearest centroid of its topic."""
    fine: np.ndarray
    """Each distinct text's fine cluster (index of its centroid in the model): a topic is
    one or more fine clusters joined by rephrasings."""


def topic_bounds(n: int) -> tuple[int, int]:
    """The fewest and the most topics considered for n distinct questions of a language."""
    upper = min(MAX_FINE, n // PER_TOPIC)
    # silhouette on long, varied messages favours the fewest clusters; the search starts
    # at half the sqrt(n/2) rule of thumb so 150 tweets do not become 2 topics
    lower = min(upper, max(MIN_TOPICS, round(math.sqrt(n / 2) / 2)))
    return lower, upper


def choose_k(z: np.ndarray, weights: np.ndarray, seed: int = 0) -> int:
    """The number of topics with the best silhouette among a grid of candidates within
    `topic_bounds`, on a sample of the (reduced, unit) rows drawn by how often each was
    asked."""
    n = z.shape[0]
    lower, upper = topic_bounds(n)
    if upper <= MIN_TOPICS:
        return max(1, min(upper, MIN_TOPICS))
    if n > SAMPLE_FOR_K:
        rng = np.random.default_rng(seed)
        keep = rng.choice(n, SAMPLE_FOR_K, replace=False, p=weights / weights.sum())
        z, weights = z[keep], np.ones(SAMPLE_FOR_K)
    grid: list[int] = sorted({round(k) for k in np.geomspace(lower, upper, 8)})
    best, best_score = grid[0], -math.inf
    for k in grid:
        labels = _kmeans(k, seed).fit_predict(z, sample_weight=weights)
        if len(set(labels.tolist())) < 2:
            continue
        score = silhouette_score(z, labels, metric="euclidean")
        if score > best_score:
            best, best_score = k, score
    # no clear groups at any k (150 long, varied tweets: at most 0.03, where support
    # questions reach 0.4-0.6): a few broad topics, not many arbitrary ones
    return best if best_score >= CLEAR_GROUPS else grid[0]


def _kmeans(k: int, seed: int, n_init: int = 3) -> KMeans:
    return KMeans(k, n_init=n_init, random_state=seed)


def _unit_rows(rows: np.ndarray) -> np.ndarray:
    """Dense rows scaled to unit length, as float32 (sklearn's normalize: untyped)."""
    unit: np.ndarray = normalize(rows).astype(np.float32)
    return unit


def reduce(rows: sp.csr_matrix | np.ndarray, seed: int = 0) -> np.ndarray:
    """Sparse n-gram rows as dense unit rows of at most DIMENSIONS; dense rows (embeddings)
    centred, as all sentence embeddings share a common direction that blurs clusters."""
    if not isinstance(rows, sp.csr_matrix):
        return _unit_rows(rows - rows.mean(axis=0))
    used = rows[:, np.unique(rows.indices)]  # the n-grams this language uses
    n, features = used.shape
    dims = min(DIMENSIONS, n - 1, features - 1)
    if dims < 2:
        return _unit_rows(used.toarray())
    svd = TruncatedSVD(dims, n_iter=5, random_state=seed)
    if n > REDUCE_ON:
        svd.fit(used[np.random.default_rng(seed).choice(n, REDUCE_ON, replace=False)])
    else:
        svd.fit(used)
    return _unit_rows(svd.transform(used))


def _group_labels(rows: sp.csr_matrix | np.ndarray, w: np.ndarray, seed: int) -> np.ndarray:
    """k-means labels (0..k-1) of one language's rows."""
    z = reduce(rows, seed)
    k = choose_k(z, w, seed)
    if k == 1:
        return np.zeros(rows.shape[0], np.int64)
    labels: np.ndarray  # sklearn is untyped
    if len(z) <= FIT_ON:
        labels = _kmeans(k, seed).fit(z, sample_weight=w).labels_.astype(np.int64)
        return labels
    keep = np.random.default_rng(seed).choice(len(z), FIT_ON, replace=False, p=w / w.sum())
    labels = _kmeans(k, seed).fit(z[keep]).predict(z).astype(np.int64)
    return labels


def _centroids(rows: sp.csr_matrix | np.ndarray, w: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each label's weighted mean row, unit length (labels 0..k-1, dense k x features)."""
    k = int(labels.max()) + 1
    member = sp.csr_matrix((w, (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    total = member @ rows
    return _unit_rows(total.toarray() if sp.issparse(total) else total)


def cluster(
    vectors: Vectors,
    weights: Sequence[int],
    languages: Sequence[str | None],
    seed: int = 0,
    rephrased: np.ndarray | None = None,
) -> Clustering:
    """Cluster distinct texts (as `vectors`, each asked `weights[i]` times, in
    `languages[i]`); `rephrased`: pairs of row indices, a question and its rephrasing after a
    bot fallback (`rephrasings.rephrasing_pairs`), which join fine clusters into topics."""
    # one BLAS thread: the matrices here are small, and OpenBLAS threads waiting on a busy
    # core made a 240-row SVD 10-30x slower (k-means still runs on every core, with OpenMP)
    with threadpool_limits(1, user_api="blas"):
        return _cluster(vectors, weights, languages, seed, rephrased)


def _cluster(
    vectors: Vectors,
    weights: Sequence[int],
    languages: Sequence[str | None],
    seed: int,
    rephrased: np.ndarray | None,
) -> Clustering:
    w = np.asarray(weights, dtype=np.float64)
    x = vectors.rows
    pairs = np.zeros((0, 2), np.int64)
    if rephrased is not None and len(rephrased):
        pairs = np.asarray(rephrased, np.int64).reshape(-1, 2)
    common = {lang for lang, n in Counter(languages).items() if n >= MIN_LANGUAGE_QUESTIONS}
    group = np.array([lang if lang in common else MIXED for lang in languages])
    fine = np.zeros(x.shape[0], np.int64)  # each row's fine centroid (index into centroids)
    similarity = np.zeros(x.shape[0], np.float32)  # to that centroid
    centroids: list[np.ndarray] = []
    topic_of: list[np.ndarray] = []  # each fine centroid's topic
    owners: list[str] = []
    topics = 0
    for lang in sorted(set(group.tolist())):
        rows = np.flatnonzero(group == lang)
        found = _group_labels(x[rows], w[rows], seed)
        centers = _centroids(x[rows], w[rows], found)
        # each question's fine cluster is its nearest centroid in the full space, as for the
        # questions assigned later; a centroid nobody is nearest to is dropped
        sims = np.asarray(x[rows] @ centers.T)
        found = sims.argmax(axis=1)
        similarity[rows] = sims[np.arange(len(rows)), found]
        used, found = np.unique(found, return_inverse=True)
        centers = centers[used]
        local = np.full(x.shape[0], -1, np.int64)
        local[rows] = np.arange(len(rows))
        inside = pairs[(local[pairs[:, 0]] >= 0) & (local[pairs[:, 1]] >= 0)]
        joined = join_by_rephrasings(found, local[inside])
        joined = _at_most(joined, centers, MAX_TOPICS_PER_LANGUAGE)
        fine[rows] = found + len(centroids)
        centroids.extend(centers)
        topic_of.append(joined + topics)
        topics += int(joined.max()) + 1
        owners.extend([lang] * len(centers))
    c = np.vstack(centroids).astype(np.float32)
    ids = np.concatenate(topic_of) + 1
    model = TopicModel(vectors.vocabulary, vectors.idf, c, ids, owners, vectors.backend)
    return Clustering(model, ids[fine], similarity, fine)


def _at_most(joined: np.ndarray, centers: np.ndarray, most: int) -> np.ndarray:
    """Topics of fine clusters, at most `most` of them: beyond it the most similar topics
    (average cosine between their fine centroids) are joined."""
    topics = int(joined.max()) + 1
    if topics <= most:
        return joined
    member = np.eye(topics)[joined]  # fine clusters x topics
    size = member.sum(axis=0)
    distance = np.clip(1.0 - centers @ centers.T, 0.0, 2.0)
    between = member.T @ distance @ member / np.outer(size, size)
    between = (between + between.T) / 2
    np.fill_diagonal(between, 0.0)
    tree = linkage(squareform(between, checks=False), method="average")
    topic: np.ndarray = fcluster(tree, t=most, criterion="maxclust")[joined] - 1  # scipy: untyped
    return topic


_WORDS = r"(?u)\b[^\W\d_]{2,}\b"


def top_terms(
    texts: Sequence[str], weights: Sequence[int], labels: Sequence[int] | np.ndarray, n: int = 3
) -> dict[int, list[str]]:
    """Each topic's most distinctive words (class-based TF-IDF: frequent in the topic, rare
    elsewhere), so words every topic shares ("my", "is", "minun") sink without stop lists;
    among equals the longer word (it says more)."""
    topics, label_of = np.unique(np.asarray(labels, np.int64), return_inverse=True)
    vec = CountVectorizer(token_pattern=_WORDS, binary=True, dtype=np.float64)
    try:
        has = vec.fit_transform(texts).tocsr()  # texts x words, 1 if the text has the word
    except ValueError:  # no words at all
        return {int(t): [] for t in topics}
    words = vec.get_feature_names_out().astype(str)
    length = np.char.str_len(words)
    member = sp.csr_matrix(
        (np.asarray(weights, np.float64), (label_of, np.arange(len(texts)))),
        shape=(len(topics), len(texts)),
    )
    asked = (member @ has).tocsr()  # topics x words: how often asked with the word
    overall = np.asarray(asked.sum(axis=0)).ravel()
    df = np.asarray(has.sum(axis=0)).ravel()
    mean_size = overall.sum() / len(topics)
    # with few topics the class weight alone lets "the" and "my" through: a word's weight is
    # also its rarity over the distinct questions
    weight = np.log1p(mean_size / np.maximum(overall, 1e-12)) * np.log1p(len(texts) / df)
    terms = {}
    for i, topic in enumerate(topics.tolist()):
        cols = asked.indices[asked.indptr[i] : asked.indptr[i + 1]]
        share = asked.data[asked.indptr[i] : asked.indptr[i + 1]]
        score = share / share.sum() * weight[cols]
        order = np.lexsort((words[cols], -length[cols], -score))[:n]
        terms[int(topic)] = [str(words[cols[j]]) for j in order]
    return terms
