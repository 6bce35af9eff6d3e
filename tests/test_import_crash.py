"""A file import killed with SIGKILL, then run again: every event stored exactly once.

The import commits every COMMIT_EVERY events; a kill loses at most the batch after the last
commit, never half a commit, and importing the same file again stores exactly what is missing
(events are deduplicated by event_id).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.store import open_store
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

EVENTS = 10_000
COMMIT_EVERY = 2_000

# The real CLI in a child process, committing more often than by default so that a kill lands
# between commits of a small file.
CHILD = (
    "import sys, chatlens.ingest.pipeline as p; "
    f"p.COMMIT_EVERY = {COMMIT_EVERY}; p.BATCH = 500; "
    "from chatlens.cli import main; main()"
)


def write_events(path: Path) -> None:
    with path.open("wb") as fh:
        for n in range(EVENTS):
            event = {
                "event_id": f"crash-{n}",
                "type": "message",
                "ts": f"2026-11-02T10:{n // 1000:02d}:{n % 60:02d}Z",
                "conversation_id": f"c{n // 20}",
                "sender": "customer",
                "text": f"message {n}",
            }
            fh.write(orjson.dumps(event) + b"\n")


def stored(db: Path) -> tuple[int, int, int]:
    """Rows, distinct ids, and how many of the file's ids are there."""
    with open_store(db, read_only=True) as store:
        rows, ids, ours = store.con.execute(
            "SELECT count(*), count(DISTINCT event_id), "
            "count(DISTINCT event_id) FILTER (event_id LIKE 'crash-%') FROM events"
        ).fetchone()
    return int(rows), int(ids), int(ours)


# One commit of COMMIT_EVERY of these events writes about 460 KB to DuckDB's write-ahead log
# (measured with DuckDB 2.0); a log past this size holds the whole first commit.
FIRST_COMMIT_WRITTEN = 600_000


def kill_after_first_commit(source: Path, db: Path) -> None:
    """Run the import in a child and SIGKILL it once its first commit is in the log and the
    second is being written or the events after it read."""
    wal = db.with_name(db.name + ".wal")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, "import", str(source), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until(
        lambda: (
            child.poll() is not None or (wal.exists() and wal.stat().st_size > FIRST_COMMIT_WRITTEN)
        ),
        timeout=120,
        interval=0.002,
        what="the import's first commit",
    )
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL, "the import ended before it was killed"


def test_import_killed_then_run_again_stores_every_event_once(tmp_path: Path) -> None:
    source = tmp_path / "events.jsonl"
    write_events(source)
    for attempt in range(3):  # a kill may still land inside the first commit: then again
        db = tmp_path / f"store-{attempt}.duckdb"
        with open_store(db):
            pass  # migrated and checkpointed: the write-ahead log now grows with events only
        assert not db.with_name(db.name + ".wal").exists()
        kill_after_first_commit(source, db)

        rows, ids, ours = stored(db)
        assert rows % COMMIT_EVERY == 0  # whole commits only, never part of one
        assert rows == ids == ours

        result = CliRunner().invoke(app, ["import", str(source), "--db", str(db)])
        assert result.exit_code == 0, result.output
        assert (
            f"read {EVENTS:,}, imported {EVENTS - rows:,}, duplicates {rows:,}, rejected 0, "
            "conflicts 0" in result.output
        )
        assert stored(db) == (EVENTS, EVENTS, EVENTS)
        if 0 < rows < EVENTS:
            break  # the kill landed between commits, mid-import
    else:
        pytest.fail("no kill landed between two commits in three attempts")
