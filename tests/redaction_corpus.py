"""The labelled redaction corpus (tests/data/redaction/LANG.jsonl) and its scoring.

Each line: {"text": ..., "spans": [[kind, exact text], ...]}; lines without spans are
false-positive traps (order numbers, dates, prices, timestamps, tracking numbers, versions).
A detection counts as found when its kind and its exact characters match a labelled span."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from chatlens.events.redact import KINDS, Redactor

CORPUS = Path(__file__).parent / "data" / "redaction"
LANGUAGES = ("en", "fi", "sv", "fr", "id")


def lines(language: str) -> list[dict]:
    return [orjson.loads(line) for line in (CORPUS / f"{language}.jsonl").read_bytes().splitlines()]


def expected(line: dict) -> set[tuple[str, int, int]]:
    spans = set()
    for kind, value in line["spans"]:
        start = line["text"].index(value)
        spans.add((kind, start, start + len(value)))
    return spans


def score(redactor: Redactor, language: str) -> dict[str, Counter[str]]:
    """True positives, false positives and false negatives per kind over one language."""
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    for line in lines(language):
        want = expected(line)
        got = {(s.kind, s.start, s.end) for s in redactor.spans(line["text"])}
        for kind, *_ in want & got:
            counts[kind]["tp"] += 1
        for kind, *_ in got - want:
            counts[kind]["fp"] += 1
        for kind, *_ in want - got:
            counts[kind]["fn"] += 1
    return counts


def precision_recall(counts: Counter[str]) -> tuple[float, float]:
    found = counts["tp"] + counts["fp"]
    labelled = counts["tp"] + counts["fn"]
    return (counts["tp"] / found if found else 1.0, counts["tp"] / labelled if labelled else 1.0)
