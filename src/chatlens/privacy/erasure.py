"""Erasure as a recorded job: each step is idempotent and the job's row says which comes
next, so an erasure killed at any point (SIGKILL, power loss) completes when it is resumed
(`resume`: the CLI's next `privacy erase`, or the server when it next opens the
workspace), and erasing the same person again changes nothing more.

Steps: `journal` (journalled rows), `store` (events and topics, one transaction), `facts`
(conversation facts and agent stints rebuilt from the events), `lake` (when the erasure
names one), `forget` (the job drops the id it was given; the request is logged as done),
`rewrite` (the store file is copied into a new file that replaces it, so no free block of
the old file keeps an erased text or id: DuckDB leaves replaced data in blocks it frees).
The store must not be open elsewhere while a job runs: the server closes the workspace for
the time of an erasure (its requests wait)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import orjson

from chatlens.errors import InputError
from chatlens.privacy.outside import (
    erase_journal,
    erase_lake,
    journal_conversations,
    lake_conversations,
)
from chatlens.privacy.requests import close_request, open_request
from chatlens.privacy.scrub import Target
from chatlens.privacy.stored import conversations_of, erase_events, personal_strings, scrub_topics
from chatlens.privacy.tokens import TARGET_KINDS, token, workspace_key
from chatlens.store.db import Store, open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.journal_files import sync_folder
from chatlens.store.settings import load_settings
from chatlens.store.sql import run

STEPS = ("journal", "store", "facts", "lake", "forget", "rewrite", "done")
AFTER_STEP: Callable[[str], None] | None = None
"""Called with each step's name once it is recorded as done (crash tests kill the process
there)."""


@dataclass
class Erasure:
    """The outcome of one erasure request."""

    request_id: int
    target_kind: str
    token: str
    result: str
    counts: dict[str, int]


@dataclass
class _Job:
    request_id: int
    target_kind: str
    subject: str | None
    token: str
    step: str
    conversations: list[str] | None
    lake: str | None
    counts: dict[str, int]


def marker(store: Path) -> Path:
    """The file that says an erasure of this store is under way (`<store>.erasing`)."""
    return store.with_suffix(".erasing")


def pending(store: Path) -> bool:
    """Whether an erasure of this store was left unfinished (a crash)."""
    return marker(store).exists()


def erase(
    store: Path, target_kind: str, subject: str, operator: str, lake: str | None = None
) -> Erasure:
    """Erase a customer or an agent from the store at `store` (and its journal, and the lake
    at `lake`): record the request and its job, then carry it out (after any job left
    unfinished before)."""
    if target_kind not in TARGET_KINDS:
        raise InputError(f"cannot erase a {target_kind!r}: expected {' or '.join(TARGET_KINDS)}")
    if not subject or len(subject) > 128:
        raise InputError(f"{target_kind} id: expected 1-128 characters")
    if not store.exists():
        raise InputError(f"no store at {store}")
    resume(store)
    marker(store).touch()
    with open_store(store) as db:
        tok = token(workspace_key(db.con), target_kind, subject)
        run(db.con, "BEGIN")
        request_id = open_request(db.con, operator, "erase", target_kind, tok)
        run(
            db.con,
            "INSERT INTO privacy_jobs VALUES ($id, $kind, $subject, $token, 'journal', NULL, "
            "$lake, '{}')",
            {"id": request_id, "kind": target_kind, "subject": subject, "token": tok, "lake": lake},
        )
        run(db.con, "COMMIT")
    resume(store)
    with open_store(store) as db:
        found = run(
            db.con,
            "SELECT r.result, j.counts FROM privacy_requests r JOIN privacy_jobs j "
            "USING (request_id) WHERE request_id = $id",
            {"id": request_id},
        )
    return Erasure(request_id, target_kind, tok, found[0][0], orjson.loads(found[0][1]))


def resume(store: Path) -> list[int]:
    """Finish every erasure job of this store left unfinished; returns their request ids."""
    if not store.exists():
        return []
    finished = []
    while True:
        with open_store(store) as db:
            found = run(
                db.con,
                "SELECT request_id, target_kind, subject, token, step, conversations, lake, "
                "counts FROM privacy_jobs WHERE step <> 'done' ORDER BY request_id LIMIT 1",
            )
        if not found:
            break
        row = found[0]
        rid, kind, subject, tok, step, conversations, lake, counts = row
        job = _Job(rid, kind, subject, tok, step, conversations, lake, orjson.loads(counts or "{}"))
        _run(store, job)
        finished.append(job.request_id)
    marker(store).unlink(missing_ok=True)
    return finished


def _run(store: Path, job: _Job) -> None:
    while job.step != "done":
        step = job.step
        following = STEPS[STEPS.index(step) + 1]
        if step == "rewrite":
            rewrite_store(store)
            with open_store(store) as db:
                _advance(db, job, following, {})
        else:
            with open_store(store) as db:
                _STEP[step](store, db, job, following)
        job.step = following
        if AFTER_STEP is not None:
            AFTER_STEP(step)


def _target(db: Store, job: _Job) -> Target:
    assert job.subject is not None, "only the forget step and later run without the id"
    key = workspace_key(db.con)
    return Target(job.target_kind, job.subject, job.token, key, frozenset(job.conversations or ()))


def _advance(db: Store, job: _Job, step: str, counts: dict[str, int], **more: Any) -> None:
    job.counts = {**job.counts, **counts}
    sets = "".join(f", {name} = ${name}" for name in more)
    run(
        db.con,
        f"UPDATE privacy_jobs SET step = $step, counts = $counts{sets} WHERE request_id = $id",
        {"step": step, "counts": orjson.dumps(job.counts).decode(), "id": job.request_id, **more},
    )


def _journal(store: Path, db: Store, job: _Job, following: str) -> None:
    conversations: list[str] = []
    if job.target_kind == "customer":
        assert job.subject is not None
        found = conversations_of(db, job.subject, job.token)
        found |= journal_conversations(store, job.subject) | journal_conversations(store, job.token)
        if job.lake:
            found |= lake_conversations(job.lake, {job.subject, job.token})
        conversations = sorted(found)
    job.conversations = conversations
    changed = erase_journal(store, _target(db, job), load_settings(db.con))
    _advance(db, job, following, {"journal_rows": changed}, conversations=conversations)


def _store(store: Path, db: Store, job: _Job, following: str) -> None:
    target = _target(db, job)
    run(db.con, "BEGIN")
    try:
        strings = personal_strings(db, target)
        events = erase_events(db, target)
        topics = scrub_topics(db, strings)
        if events or topics:
            # the figures' cache knows the data by derived_state: this is new data
            run(
                db.con,
                "INSERT OR REPLACE INTO derived_state VALUES ('privacy', $v, $seq)",
                {"v": str(job.request_id), "seq": db.max_seq()},
            )
        _advance(db, job, following, {"events": events, "topics": topics})
        run(db.con, "COMMIT")
    except Exception:
        run(db.con, "ROLLBACK")
        raise


def _facts(store: Path, db: Store, job: _Job, following: str) -> None:
    if job.counts.get("events") or job.counts.get("topics"):  # else nothing to follow
        refresh_facts(db, full=True)
    _advance(db, job, following, {})


def _lake(store: Path, db: Store, job: _Job, following: str) -> None:
    counts = {}
    if job.lake:
        counts["lake_rows"] = erase_lake(
            job.lake, _target(db, job), load_settings(db.con), job.request_id
        )
    _advance(db, job, following, counts)


def _forget(store: Path, db: Store, job: _Job, following: str) -> None:
    run(db.con, "BEGIN")
    try:
        _advance(db, job, following, {}, subject=None, conversations=None)
        close_request(db.con, job.request_id, "erased", job.counts)
        run(db.con, "COMMIT")
    except Exception:
        run(db.con, "ROLLBACK")
        raise


_STEP: dict[str, Callable[[Path, Store, _Job, str], None]] = {
    "journal": _journal,
    "store": _store,
    "facts": _facts,
    "lake": _lake,
    "forget": _forget,
}


def rewrite_store(store: Path) -> None:
    """Copy the store into a new file and put it in the old one's place: what the old file
    held in freed blocks (texts and ids replaced by an erasure) is gone with it. A crash
    before the swap leaves the old file whole and the copy, which the next run discards."""
    fresh = store.with_name(store.name + ".rewrite")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = duckdb.connect(str(store))
    try:
        con.execute("CHECKPOINT")
        name = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        con.execute(f"ATTACH '{_quoted(fresh)}' AS _fresh")
        con.execute(f'COPY FROM DATABASE "{_ident(name)}" TO _fresh')
        con.execute("DETACH _fresh")
    finally:
        con.close()
    if store.with_name(store.name + ".wal").exists():
        raise RuntimeError(f"{store} still has a write-ahead log after a checkpoint")
    with fresh.open("rb+") as fh:
        os.fsync(fh.fileno())
    fresh.replace(store)
    sync_folder(store.parent)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def _ident(name: str) -> str:
    return name.replace('"', '""')
