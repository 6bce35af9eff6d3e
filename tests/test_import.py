"""File import: formats, dedupe, quarantine of bad records, unreadable input."""

from __future__ import annotations

import gzip
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.errors import InputError
from chatlens.ingest import import_file, rejected_path_for

from .conftest import write_jsonl

EVENTS = [
    {
        "type": "conversation_started",
        "ts": "2026-11-02T10:00:00Z",
        "conversation_id": "c1",
        "customer_id": "u1",
        "channel": "web",
        "attrs": {"plan": "pro"},
    },
    {
        "type": "message",
        "ts": "2026-11-02T10:00:05Z",
        "conversation_id": "c1",
        "sender": "customer",
        "text": "where is my parcel?",
    },
    {
        "type": "message",
        "ts": 1793613606000,
        "conversation_id": "c1",
        "sender": "bot",
        "text": "It ships tomorrow.",
        "bot_id": "b1",
    },
]


def count(store, sql="SELECT count(*) FROM events"):
    return store.con.execute(sql).fetchone()[0]


def test_jsonl_import_and_reimport_adds_nothing(store, tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", EVENTS)
    first = import_file(store, path)
    assert (first.read, first.imported, first.duplicates, first.rejected) == (3, 3, 0, 0)
    again = import_file(store, path)
    assert (again.read, again.imported, again.duplicates, again.rejected) == (3, 0, 3, 0)
    assert count(store) == 3
    assert not rejected_path_for(path).exists()


def test_duplicates_inside_one_file_count_once(store, tmp_path):
    path = write_jsonl(tmp_path / "e.jsonl", [EVENTS[0], EVENTS[1], EVENTS[1]])
    summary = import_file(store, path)
    assert (summary.imported, summary.duplicates) == (2, 1)


def test_same_event_in_two_formats_is_one_event(store, tmp_path):
    """The derived id comes from normalised content, so notation does not matter."""
    import_file(store, write_jsonl(tmp_path / "a.jsonl", [EVENTS[1]]))
    other = dict(EVENTS[1], ts="2026-11-02T12:00:05+02:00")
    summary = import_file(store, write_jsonl(tmp_path / "b.jsonl", [other]))
    assert (summary.imported, summary.duplicates) == (0, 1)


def test_bad_lines_quarantined_good_ones_kept(store, tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [
        orjson.dumps(EVENTS[0]),
        b"{not json",
        orjson.dumps(
            {
                "type": "message",
                "ts": "2026-11-02T10:00:05Z",
                "conversation_id": "c1",
                "sender": "robot",
                "text": "x",
            }
        ),
        b"",
        b"\xff\xfe bad bytes",
        orjson.dumps(EVENTS[1]),
        b"[1, 2]",
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    summary = import_file(store, path)
    assert (summary.read, summary.imported, summary.rejected) == (6, 2, 4)
    quarantine = rejected_path_for(path)
    rejected = [orjson.loads(line) for line in quarantine.read_bytes().splitlines()]
    assert [r["line"] for r in rejected] == [2, 3, 5, 7]
    assert rejected[0]["errors"][0]["message"].startswith("not valid JSON")
    assert rejected[1]["errors"] == [
        {
            "field": "sender",
            "message": "Input should be 'customer', 'bot', 'agent' or 'system' (got 'robot')",
        }
    ]
    assert rejected[1]["record"]["sender"] == "robot"  # the record is kept for fixing
    assert rejected[2]["errors"][0]["message"] == "not valid UTF-8"
    assert rejected[3]["errors"][0]["message"] == "expected a JSON object per line"
    # fixing the file and importing again removes the stale quarantine
    path.write_bytes(orjson.dumps(EVENTS[2]) + b"\n")
    import_file(store, path)
    assert not quarantine.exists()


def test_csv_with_attrs_columns_and_empty_cells(store, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(
        "type,ts,conversation_id,customer_id,sender,text,fallback,attrs.plan,attrs.country\n"
        "conversation_started,2026-11-02T10:00:00Z,c9,u9,,,,pro,FI\n"
        'message,2026-11-02T10:00:03Z,c9,u9,bot,"Sorry, I didn\'t get that",true,,\n'
        "message,2026-11-02T10:00:04Z,c9,u9,alien,hi,,,\n",
        encoding="utf-8",
    )
    summary = import_file(store, path)
    assert (summary.read, summary.imported, summary.rejected) == (3, 2, 1)
    row = store.con.execute("SELECT attrs, sender, fallback FROM events ORDER BY ts").fetchall()
    assert orjson.loads(row[0][0]) == {"plan": "pro", "country": "FI"}
    assert row[1][1:] == ("bot", True)
    quarantined = orjson.loads(rejected_path_for(path).read_bytes().splitlines()[0])
    assert quarantined["line"] == 4


def test_parquet_with_typed_timestamps(store, tmp_path):
    table = pa.table(
        {
            "type": ["conversation_started", "rating"],
            "ts": pa.array([1793613600000, 1793617200000], pa.timestamp("ms", tz="UTC")),
            "conversation_id": ["p1", "p1"],
            "kind": [None, "csat"],
            "score": [None, 5.0],
            "attrs.segment": ["smb", None],
        }
    )
    path = tmp_path / "e.parquet"
    pq.write_table(table, path)
    summary = import_file(store, path)
    assert (summary.read, summary.imported) == (2, 2)
    assert count(store, "SELECT sum(score) FROM events") == 5.0
    assert count(store, "SELECT attrs->>'segment' FROM events WHERE attrs IS NOT NULL") == "smb"


def test_json_array_and_gzip(store, tmp_path):
    (tmp_path / "a.json").write_bytes(orjson.dumps(EVENTS))
    assert import_file(store, tmp_path / "a.json").imported == 3
    with gzip.open(tmp_path / "b.jsonl.gz", "wb") as fh:
        fh.write(orjson.dumps({**EVENTS[0], "conversation_id": "c2"}) + b"\n")
    assert import_file(store, tmp_path / "b.jsonl.gz").imported == 1


LATIN1 = "type,text\nmessage,caf\xe9\nmessage,d\xe9j\xe0\nmessage,ok\nmessage,s\xfbr\n".encode(
    "latin-1"
)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.jsonl", None, "no such file"),
        ("events.txt", b"hello", "unknown format"),
        ("utf16.jsonl", "{}".encode("utf-16"), "not UTF-8 text"),
        (
            "latin1.csv",
            "type,text\nmessage,caf\xe9\nmessage,d\xe9j\xe0\nmessage,ok\nmessage,s\xfbr\n".encode(
                "latin-1"
            ),
            "not UTF-8 text",
        ),
        ("broken.parquet", b"PAR1 not really", "not a readable Parquet file"),
        ("noheader.csv", b"message,2026-11-02T10:00:00Z,c1\n", "line 1 is not a header"),
    ],
)
def test_unreadable_input_is_a_clear_error(store, tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        import_file(store, path)
    assert count(store) == 0


def test_cli_import_summary_and_exit_codes(tmp_path: Path):
    runner = CliRunner()
    db = tmp_path / "cli.duckdb"
    good = write_jsonl(tmp_path / "good.jsonl", EVENTS)
    result = runner.invoke(app, ["import", str(good), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "read 3, imported 3, duplicates 0, rejected 0" in result.output
    assert "conversation facts rebuilt: 1 conversations" in result.output

    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(orjson.dumps(EVENTS[0]) + b"\n{oops\n")
    result = runner.invoke(app, ["import", str(bad), "--db", str(db)])
    assert result.exit_code == 1
    assert "read 2, imported 0, duplicates 1, rejected 1" in result.output

    result = runner.invoke(app, ["import", str(tmp_path / "nope.csv"), "--db", str(db)])
    assert result.exit_code == 2
    assert "nope.csv: no such file" in result.output

    result = runner.invoke(app, ["info", "--db", str(db)])
    assert result.exit_code == 0
    assert "conversations" in result.output and "message" in result.output


def test_cli_settings_set_list_and_errors(tmp_path: Path):
    runner = CliRunner()
    db = str(tmp_path / "s.duckdb")
    ok = runner.invoke(app, ["settings", "set", "timezone", "Europe/Helsinki", "--db", db])
    assert ok.exit_code == 0 and 'timezone = "Europe/Helsinki"' in ok.output
    shown = runner.invoke(app, ["settings", "list", "--db", db])
    assert '"Europe/Helsinki"' in shown.output
    bad = runner.invoke(app, ["settings", "set", "timezone", "Mars/Olympus", "--db", db])
    assert bad.exit_code == 2
    assert "setting timezone: 'Mars/Olympus' is not an IANA time zone name" in bad.output
    unknown = runner.invoke(app, ["settings", "set", "colour", "blue", "--db", db])
    assert unknown.exit_code == 2 and "unknown setting 'colour'" in unknown.output
