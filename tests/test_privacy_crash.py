"""An erasure killed with SIGKILL after each of its steps, then the CLI run again: the
erasure completes, the result is the same as an erasure never interrupted, and no byte of
the customer is left in the data folder."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.privacy.erasure import STEPS, marker

from .privacy_data import AINO, hits
from .test_privacy import rows, seeded

pytestmark = pytest.mark.slow

# The real CLI in a child process that kills itself (SIGKILL) once the step named first on
# its command line is recorded as done.
CHILD = (
    "import os, signal, sys; import chatlens.privacy.erasure as erasure; "
    "step = sys.argv.pop(1); "
    "erasure.AFTER_STEP = lambda done: done == step and os.kill(os.getpid(), signal.SIGKILL); "
    "from chatlens.cli import main; main()"
)
runner = CliRunner()


def erase(store: Path) -> None:
    result = runner.invoke(app, ["privacy", "erase", "--customer", AINO, "--db", str(store)])
    assert result.exit_code == 0, result.output


def state(store: Path) -> list[object]:
    return [
        rows(store, "SELECT * EXCLUDE (ingested_at) FROM events ORDER BY seq"),
        rows(store, "SELECT * FROM conversation_facts ORDER BY conversation_id"),
        store.with_suffix(".journal").read_bytes(),
    ]


@pytest.mark.parametrize("step", [s for s in STEPS if s != "done"])
def test_an_erasure_killed_after_a_step_completes_when_run_again(tmp_path, step):
    data, control = tmp_path / "data", tmp_path / "control"
    data.mkdir()
    store = seeded(data)
    # the workspace key is made by the first request: an export, before the copy, so the
    # control store has the same key (and the same tokens)
    exported = runner.invoke(app, ["privacy", "export", "--customer", AINO, "--db", str(store)])
    assert exported.exit_code == 0
    shutil.copytree(data, control)
    erase(control / store.name)

    child = subprocess.run(
        [sys.executable, "-c", CHILD, step, "privacy", "erase", "--customer", AINO,
         "--db", str(store)],
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    assert marker(store).exists()  # the erasure is known to be unfinished

    erase(store)  # finishes the first, then a second request that finds nothing more
    assert not marker(store).exists()
    assert hits(data) == {}
    assert state(store) == state(control / store.name)
    log = orjson.loads(
        runner.invoke(app, ["privacy", "requests", "--db", str(store), "--json"]).output
    )
    assert [(r["kind"], r["result"]) for r in log] == [
        ("erase", "erased"),
        ("erase", "erased"),
        ("export", "answered"),
    ]
    assert log[1]["detail"]["events"] + log[0]["detail"]["events"] == 10
    assert rows(store, "SELECT count(*) AS n FROM privacy_jobs WHERE subject IS NOT NULL") == [
        {"n": 0}
    ]
