"""lingua in a child process of its own.

lingua holds the GIL while it reads texts (measured: a thread spinning beside a 20,000-text
detection ran 0.2% of its usual rate), and its worker threads do not inherit the nice of the
server's topics thread. In the server that made language detection, for topics assigned in
the background, take about two thirds of the interpreter's time from the requests (profiled
with py-spy during a webhook benchmark). A child process has an interpreter of its own and
runs at the priority of the thread that first needed it, and ends with its parent. The child
imports this module (lingua, and the chatlens.topics package: ~0.5 s), then loads lingua's
models at its first detection.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from typing import Any

LANGUAGES = ("en", "fi", "sv", "fr", "id", "de", "es", "pt", "it", "nl")
"""Languages detected. Few on purpose: every extra language is one more way a short message
can be mistaken."""
CHARACTERS = 1000
"""The first characters of a text tell its language; lingua's time grows with the length (a
100 KB message took 30 s)."""

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


@cache
def _detector() -> Any:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    langs = [Language.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*langs).build()


def _detect(texts: list[str]) -> list[str | None]:
    """In the child: each text's ISO 639-1 code, or None when lingua cannot tell."""
    found = _detector().detect_languages_in_parallel_of(texts)
    return [None if lang is None else lang.iso_code_639_1.name.lower() for lang in found]


def _start_child(nice: int) -> None:
    """In the child, first: the caller's priority, and an end when the parent ends."""
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, 0, max(nice, os.getpriority(os.PRIO_PROCESS, 0)))
    threading.Thread(target=_end_with, args=(os.getppid(),), daemon=True).start()


def _end_with(parent: int) -> None:
    """Exit once the parent is gone (a server killed, or one whose exit did not wait for its
    pool): an orphan would hold lingua's models (~350 MB) for nothing."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def _caller_nice() -> int:
    try:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    except (OSError, AttributeError):
        return 0


def detect(texts: Sequence[str]) -> list[str | None]:
    """Each text's language, read by lingua in the child process (started at the first
    call, at the calling thread's priority, and again if it died)."""
    global _pool
    if not texts:
        return []
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_child,
                initargs=(_caller_nice(),),
            )
        pool = _pool
    try:
        return pool.submit(_detect, [t[:CHARACTERS] for t in texts]).result()
    except BrokenProcessPool:
        with _lock:
            if _pool is pool:
                _pool = None  # the next call starts another child
        raise
