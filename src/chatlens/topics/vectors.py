"""Questions as vectors: TF-IDF over character 2-4-grams inside word boundaries.

The counts are those of scikit-learn's `CountVectorizer(analyzer="char_wb")` (a word's
n-grams, padded with a space each side), computed per distinct word: a text's counts are the
sum of its words' counts, so each word is cut into n-grams once however often it is used.
On 200k questions that is about 4x faster than running the analyzer on every text.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

NGRAMS = (2, 4)
MAX_FEATURES = 2**15
"""The n-gram vocabulary is capped (most frequent first): it bounds memory and the size of
the persisted centroids (topics x features float32)."""


def _words(text: str) -> list[str]:
    return text.lower().split()


def _word_ngrams() -> CountVectorizer:
    return CountVectorizer(
        analyzer="char_wb", ngram_range=NGRAMS, lowercase=False, dtype=np.float32
    )


def ngram_counts(
    texts: Sequence[str], vocabulary: Sequence[str] | None = None
) -> tuple[sp.csr_matrix, list[str]]:
    """Each text's character n-gram counts (texts x n-grams, float32) and the n-grams: the
    given vocabulary, else the MAX_FEATURES most frequent n-grams of the texts."""
    words = CountVectorizer(analyzer=_words, dtype=np.float32)
    per_text = words.fit_transform(texts).tocsr()  # texts x distinct words
    spelled = [str(w) for w in words.get_feature_names_out()]
    cut = _word_ngrams()
    if vocabulary is not None:
        cut.vocabulary = {term: i for i, term in enumerate(vocabulary)}
        return (per_text @ cut.transform(spelled)).tocsr(), list(vocabulary)
    if not spelled:
        return sp.csr_matrix((len(texts), 0), dtype=np.float32), []
    per_word = cut.fit_transform(spelled).tocsr()  # distinct words x n-grams
    counts = (per_text @ per_word).tocsr()
    terms = cut.get_feature_names_out()
    if counts.shape[1] > MAX_FEATURES:
        total = np.asarray(counts.sum(axis=0)).ravel()
        keep = np.sort(np.argsort(-total, kind="stable")[:MAX_FEATURES])
        counts, terms = counts[:, keep], terms[keep]
    counts.sort_indices()
    return counts, [str(t) for t in terms]


def idf_of(counts: sp.csr_matrix) -> np.ndarray:
    """Smoothed inverse document frequency of each column."""
    df = np.bincount(counts.indices, minlength=counts.shape[1])  # scipy: untyped
    idf: np.ndarray = (np.log((1 + counts.shape[0]) / (1 + df)) + 1).astype(np.float32)
    return idf


def tfidf(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear TF (a repeated n-gram counts less) times IDF, each row of unit length."""
    counts = counts.astype(np.float32)
    counts.data = 1.0 + np.log(counts.data)
    return normalize(counts.multiply(idf).tocsr())
