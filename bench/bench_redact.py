"""Redaction cost: per event, and ingest throughput with redaction off, at its default (cards)
and with every kind plus a custom pattern, in the same run on the same events.

Events: a simulated month (SimConfig(conversations=N, days=30, seed=5)); a share of the
message texts (--pii-share, default 5 %) is replaced by lines of the labelled corpus
(tests/data/redaction) that carry personal data, so the detectors have work to do.
- cost per event: `Redactor.rows` alone over the store rows (after validation);
- validation thread (the API's ingest path): parse + to_row + redact per event, events/s;
- file import (`chatlens import`, ingest_records into a fresh store), events/s.

The cases take turns, --rounds times; each figure is its case's best round.

Usage: python bench/bench_redact.py [--conversations 20000] [--pii-share 0.05] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import tempfile
import time
from pathlib import Path

import orjson

from chatlens.events import parse_event, to_row
from chatlens.events.redact import KINDS, Redactor
from chatlens.ingest import import_file
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.settings import save_setting

CORPUS = Path(__file__).parent.parent / "tests" / "data" / "redaction"
CASES = {
    "off": ([], {}),
    "default (card)": (["card"], {}),
    "all kinds + 1 pattern": (list(KINDS), {"order": r"ORD-\d{6}"}),
}


def personal_texts() -> list[str]:
    texts = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            item = orjson.loads(line)
            if item["spans"]:
                texts.append(item["text"])
    return texts


def events_file(root: Path, conversations: int, share: float) -> tuple[Path, list[bytes]]:
    plain = root / "sim.jsonl"
    write_events(SimConfig(conversations=conversations, days=30, seed=5), plain)
    texts, pick = personal_texts(), random.Random(5)
    lines = []
    for raw in plain.read_bytes().splitlines():
        event = orjson.loads(raw)
        if event.get("type") == "message" and event.get("text") and pick.random() < share:
            event["text"] = pick.choice(texts)
        lines.append(orjson.dumps(event))
    path = root / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--pii-share", type=float, default=0.05)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        path, lines = events_file(root, args.conversations, args.pii_share)
        records = [orjson.loads(line) for line in lines]
        rows = [to_row(parse_event(r)) for r in records]
        messages = sum(1 for r in rows if r.get("text"))
        print(f"{platform.python_version()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        print(
            f"{len(rows):,} events, {messages:,} with text, {args.pii_share:.0%} of texts personal"
        )
        redactors = {name: Redactor(k, p) for name, (k, p) in CASES.items()}
        cost, validate, imported = {}, {}, {}
        for turn in range(args.rounds):  # the cases take turns: a load change hits them all
            for n, (name, (kinds, patterns)) in enumerate(CASES.items()):
                redactor = redactors[name]
                copies = [dict(row) for row in rows]
                started = time.perf_counter()
                redactor.rows(copies)
                took = time.perf_counter() - started
                cost[name] = min(cost.get(name, took), took)
                started = time.perf_counter()
                redactor.rows([to_row(parse_event(x)) for x in records])
                took = time.perf_counter() - started
                validate[name] = min(validate.get(name, took), took)
                with open_store(root / f"case{n}-{turn}.duckdb") as store:
                    save_setting(store.con, "redact", kinds)
                    save_setting(store.con, "redact_patterns", patterns)
                    started = time.perf_counter()
                    summary = import_file(store, path)
                    took = time.perf_counter() - started
                imported[name] = min(imported.get(name, took), took)
                assert summary.imported == len(rows), summary
        print(
            f"{'case':24} {'us/event':>9} {'us/text':>8} {'validate ev/s':>14} {'import ev/s':>12}"
        )
        for name in CASES:
            print(
                f"{name:24} {cost[name] / len(rows) * 1e6:9.2f} "
                f"{cost[name] / messages * 1e6:8.2f} {len(rows) / validate[name]:14,.0f} "
                f"{len(rows) / imported[name]:12,.0f}"
            )
        print(f"load at the end {os.getloadavg()[0]:.1f}; best of {args.rounds} rounds per case")


if __name__ == "__main__":
    main()
