"""Goals and bands through the CLI: `settings set goals` refuses bad input naming the metric
and the field, accepts the shorthand, and every report format shows `__goal` and `__band`."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from chatlens.cli import app

from .builders import DAY, chat
from .conftest import write_jsonl

runner = CliRunner()
REPORT = [
    "report",
    "--from",
    "2026-11-02",
    "--to",
    "2026-11-02",
    "--metrics",
    "fcr_rate,first_response_time,csat",
]


@pytest.fixture
def db(tmp_path: Path) -> str:
    # 4 closed chats on Monday: first responses 30, 60, 90, 120 s (mean 75 s); c1 and c3
    # reopened, so 2 of 4 resolved at first contact (fcr_rate 0.5)
    events = []
    for n in range(4):
        events += chat(
            f"c{n}",
            DAY + dt.timedelta(hours=n),
            agent="ann",
            reply_after=30 * (n + 1),
            close_after=600,
            reopen_after=700 if n % 2 else None,
        )
    path = str(tmp_path / "g.duckdb")
    done = runner.invoke(
        app, ["import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", path]
    )
    assert done.exit_code == 0, done.output
    return path


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            '{"fcr_rate": {"min": "high"}}',
            "goals.fcr_rate.min: expected a finite number, got 'high'",
        ),
        ('{"fcr_rate": {"min": NaN}}', "goals.fcr_rate.min: expected a finite number, got nan"),
        ('{"csat": {"min": Infinity}}', "goals.csat.min: expected a finite number, got inf"),
        ('{"csat": {"min": 1e309}}', "goals.csat.min: expected a finite number, got inf"),
        ('{"csat": null}', "goals.csat.min: expected a finite number, got None"),
        ('{"not_a_metric": 1}', "goals: unknown metric 'not_a_metric'"),
    ],
)
def test_settings_set_goals_refuses_bad_input(db, value, message):
    refused = runner.invoke(app, ["settings", "set", "goals", value, "--db", db])
    assert refused.exit_code != 0
    assert message in " ".join(refused.output.split())
    assert "Traceback" not in refused.output
    # and the reports including the metric still run
    assert runner.invoke(app, [*REPORT, "--db", db]).exit_code == 0


def test_shorthand_goals_and_bands_in_every_format(db):
    done = runner.invoke(
        app,
        ["settings", "set", "goals", '{"fcr_rate": 0.8, "first_response_time": 60}', "--db", db],
    )
    assert done.exit_code == 0, done.output
    assert 'goals = {"fcr_rate":{"min":0.8},"first_response_time":{"max":60.0}}' in done.output

    row = orjson.loads(runner.invoke(app, [*REPORT, "--format", "json", "--db", db]).output)[
        "rows"
    ][0]
    # fcr 0.5 of 0.8: 62.5 % of the way; FRT 75 s against at most 60 s: 60 / 75 = 80 %
    assert row["fcr_rate__goal"] == {"target": {"min": 0.8}, "status": "missed", "progress": 0.625}
    assert row["first_response_time__goal"] == {
        "target": {"max": 60.0},
        "status": "missed",
        "progress": 0.8,
    }
    assert row["fcr_rate__band"] == "below typical"  # typical from 70 %
    assert row["first_response_time__band"] == "below typical"  # typical up to 45 s
    assert "csat__goal" not in row and "csat__band" not in row  # no goal, no band

    text = runner.invoke(app, [*REPORT, "--format", "csv", "--db", db]).output
    (line,) = list(csv.DictReader(io.StringIO(text)))
    assert (
        line["fcr_rate__goal"],
        line["fcr_rate__goal_target"],
        line["fcr_rate__goal_progress"],
        line["fcr_rate__band"],
    ) == ("missed", "min 0.8", "0.625", "below typical")
    assert line["first_response_time__goal_target"] == "max 60"

    markdown = runner.invoke(app, [*REPORT, "--format", "markdown", "--db", db]).output
    assert "| fcr_rate | 50.0 % |" in markdown
    assert "| fcr_rate__band | below typical |" in markdown
    assert "| fcr_rate__goal | missed, 62 % of the way (at least 80.0 %) |" in markdown
    assert "| first_response_time__goal | missed, 80 % of the way (at most 1m 00s) |" in markdown

    table = runner.invoke(app, [*REPORT, "--db", db]).output
    assert "fcr_rate__band" in table and "below typical" in table
    assert "missed, 62 % of the way" in " ".join(table.split())


def test_a_stored_bad_goal_is_a_note_on_stderr(db):
    from chatlens.store import open_store

    with open_store(Path(db)) as store:  # as an earlier version stored a form's "nan"
        store.con.execute(
            "INSERT OR REPLACE INTO settings VALUES ('goals', ?)",
            [orjson.dumps({"csat": {"min": None}}).decode()],
        )
    done = runner.invoke(app, [*REPORT, "--format", "csv", "--db", db])
    assert done.exit_code == 0, done.output
    assert "csat__goal" not in done.stdout  # the CSV stays clean
    assert (
        "note: the goal of csat is ignored: goals.csat.min: expected a finite number, got None"
        in " ".join(done.stderr.split())
    )
