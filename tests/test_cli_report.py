"""`chatlens report`, `metrics`, `export` end to end through the CLI."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import orjson
import pyarrow.parquet as pq
from openpyxl import load_workbook
from typer.testing import CliRunner

from chatlens.cli import app

from .builders import DAY, chat
from .conftest import write_jsonl

runner = CliRunner()


def store_with_chats(tmp_path: Path) -> str:
    events = []
    for n in range(4):  # two on Monday, two on Tuesday; web and email
        start = DAY + dt.timedelta(days=n // 2, minutes=n)
        events += chat(
            f"c{n}",
            start,
            customer=f"u{n}",
            agent="ann",
            reply_after=30 + 30 * n,
            close_after=600,
            channel="web" if n % 2 == 0 else "email",
            ratings={"csat": 5 - n},
        )
    events += chat("b1", DAY, bot=True, close_after=20)
    events.append(
        {**events[1], "conversation_id": "x1", "text": '=HYPERLINK("x")', "type": "message"}
    )
    db = str(tmp_path / "r.duckdb")
    result = runner.invoke(
        app, ["import", str(write_jsonl(tmp_path / "e.jsonl", events)), "--db", db]
    )
    assert result.exit_code == 0, result.output
    return db


def test_report_json_by_day_with_compare(tmp_path):
    db = store_with_chats(tmp_path)
    result = runner.invoke(
        app,
        [
            "report",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-03",
            "--every",
            "day",
            "--metrics",
            "conversations,first_response_time,csat",
            "--compare",
            "--format",
            "json",
            "--db",
            db,
        ],
    )
    assert result.exit_code == 0, result.output
    out = orjson.loads(result.output)
    assert out["meta"]["grain"] == "day"
    assert out["meta"]["previous"] == {"from": "2026-10-31T00:00:00", "to": "2026-11-02T00:00:00"}
    monday, tuesday = out["rows"]
    assert monday["bucket"] == "2026-11-02T00:00:00"
    # Monday: c0, c1, b1 and x1 (a message only); FRT 30 s and 60 s; CSAT 5 and 4
    assert (monday["conversations"], monday["first_response_time"], monday["csat"]) == (
        4,
        45.0,
        4.5,
    )
    assert (tuesday["conversations"], tuesday["first_response_time"], tuesday["csat"]) == (
        2,
        105.0,
        2.5,
    )
    assert monday["conversations__previous"] == 0
    assert monday["conversations__change"] == 4
    assert monday["csat__previous"] is None and monday["csat__change"] is None


def test_report_csv_by_channel_with_filter_and_override(tmp_path):
    db = store_with_chats(tmp_path)
    result = runner.invoke(
        app,
        [
            "report",
            "--from",
            "2026-11-02",
            "--to",
            "2026-11-03",
            "--by",
            "channel",
            "--metrics",
            "conversations,frt_within_sla",
            "--filter",
            "channel=web",
            "--filter",
            "channel=email",
            "--set",
            "sla_first_response_seconds=45",
            "--format",
            "csv",
            "--db",
            db,
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(result.output.splitlines()))
    assert rows == [
        {"channel": "email", "conversations": "2", "frt_within_sla": "0.0"},  # 60 s, 120 s
        {"channel": "web", "conversations": "3", "frt_within_sla": "0.5"},  # 30 s, 90 s; b1
    ]


def test_report_table_and_markdown_are_formatted_for_people(tmp_path):
    db = store_with_chats(tmp_path)
    args = [
        "report",
        "--from",
        "2026-11-02",
        "--to",
        "2026-11-03",
        "--metrics",
        "first_response_time,missed_rate,conversations",
        "--db",
        db,
    ]
    table = runner.invoke(app, args)
    assert "1m 15s" in table.output and "0.0 %" in table.output
    markdown = runner.invoke(app, [*args, "--format", "markdown"])
    assert markdown.output.splitlines()[2] == "| first_response_time | 1m 15s |"


def test_report_errors_name_the_problem(tmp_path):
    db = store_with_chats(tmp_path)
    base = ["report", "--from", "2026-11-02", "--to", "2026-11-03", "--db", db]
    cases = [
        (["--metrics", "csta"], "unknown metric 'csta' (did you mean csat"),
        (["--by", "chanel"], "unknown dimension 'chanel' (did you mean channel"),
        (["--every", "fortnight"], "unknown grain 'fortnight'"),
        (["--filter", "channel"], "--filter 'channel': expected KEY=VALUE"),
        (["--set", "timezone=Nowhere"], "setting timezone: 'Nowhere' is not an IANA"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, [*base, *extra])
        assert result.exit_code == 2, extra
        assert message in result.output, (extra, result.output)
    reversed_period = runner.invoke(
        app, ["report", "--from", "2026-11-03", "--to", "2026-11-01", "--db", db]
    )
    assert "--to must not be before --from" in reversed_period.output


def test_metrics_list_and_explain(tmp_path):
    db = store_with_chats(tmp_path)
    listed = runner.invoke(app, ["metrics", "list"])
    assert "bot_success_rate" in listed.output and "first_response_time_p90" in listed.output
    explained = runner.invoke(app, ["metrics", "explain", "fallback_rate", "--db", db])
    assert explained.exit_code == 0
    assert 'SUM("t2"."fallback_messages")' in explained.output.replace("\n", " ") or (
        "fallback_messages" in explained.output and "bot_messages" in explained.output
    )
    derived = runner.invoke(app, ["metrics", "explain", "containment_rate", "--db", db])
    assert "has_human_part" in derived.output


def test_exports(tmp_path):
    db = store_with_chats(tmp_path)
    for fmt in ("csv", "xlsx", "parquet"):
        out = tmp_path / f"c.{fmt}"
        result = runner.invoke(
            app,
            [
                "export",
                "conversations",
                "--format",
                fmt,
                "--out",
                str(out),
                "--from",
                "2026-11-02",
                "--to",
                "2026-11-02",
                "--filter",
                "channel=web",
                "--db",
                db,
            ],
        )
        assert result.exit_code == 0, result.output
        assert "wrote 2 conversations" in result.output  # c0 and b1
    rows = list(csv.DictReader((tmp_path / "c.csv").read_text().splitlines()))
    assert [r["conversation_id"] for r in rows] == ["b1", "c0"]
    assert rows[1]["agents"] == "ann" and rows[1]["csat"] == "5.0"
    sheet = load_workbook(tmp_path / "c.xlsx").active
    assert [c.value for c in sheet[1]][:2] == ["conversation_id", "started_at"]
    assert pq.read_table(tmp_path / "c.parquet").num_rows == 2
    rated = runner.invoke(
        app,
        [
            "export",
            "conversations",
            "--out",
            str(tmp_path / "r.csv"),
            "--csat",
            "4",
            "--counted",
            "human_conversations",
            "--db",
            db,
        ],
    )
    assert rated.exit_code == 0, rated.output
    rows = list(csv.DictReader((tmp_path / "r.csv").read_text().splitlines()))
    assert [(r["conversation_id"], r["csat"]) for r in rows] == [("c1", "4.0")]  # 5 - 1
    wrong = runner.invoke(
        app,
        [
            "export",
            "conversations",
            "--out",
            str(tmp_path / "w.csv"),
            "--counted",
            "csat",
            "--db",
            db,
        ],
    )
    assert wrong.exit_code != 0 and "counted='csat': not a count of conversations" in wrong.output
    events = runner.invoke(
        app, ["export", "events", "--out", str(tmp_path / "e.parquet"), "--db", db]
    )
    assert events.exit_code == 0
    # 4 agent chats x 6 events (start, message, join, reply, close, rating) + b1's 4 + x1's 1
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 4 * 6 + 4 + 1


def test_spreadsheet_cells_never_run_chat_text(tmp_path):
    from chatlens.reports.export import xlsx_cell
    from chatlens.reports.format import spreadsheet_cell

    for cell in (spreadsheet_cell, xlsx_cell):
        assert cell('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
        assert cell("-1 refund") == "'-1 refund"
        assert cell("+1") == "'+1" and cell("@SUM(A1)") == "'@SUM(A1)"
        assert cell("\t=1") == "'\t=1"
        assert cell("a=1") == "a=1" and cell("") == "" and cell(None) is None
        assert cell(-1) == -1 and cell(-1.5) == -1.5
    assert xlsx_cell("a\x00b\x1bc\td") == "a\ufffdb\ufffdc\td"  # tab is allowed in XML
    assert xlsx_cell("\x00=1") == "\ufffd=1"  # no longer starts a formula
    assert spreadsheet_cell("\r=1") == "'\r=1" and xlsx_cell("\r=1\r\nx") == "'\n=1\nx"
    assert xlsx_cell("w" * 40_000) == "w" * 32_766 + "\u2026"


def test_csv_quotes_every_line_break_so_no_cell_starts_a_row():
    import io

    from chatlens.reports.format import write_csv

    buffer = io.StringIO()
    write_csv(buffer, ["a", "b"], [["x\r=1+1", 2.5], ["y\n@z", None], [True, "-3"]])
    assert buffer.getvalue() == ('a,b\r\n"x\r=1+1",2.5\r\n"y\n@z",\r\nTrue,\'-3\r\n')


def test_list_entries_of_the_catalogue_say_where_to_read_them(tmp_path: Path):
    listed = runner.invoke(app, ["metrics", "list"])
    assert listed.exit_code == 0
    lines = [line.split() for line in listed.output.splitlines()]
    assert ["top_unanswered", "list", "What", "the", "bot", "should", "learn", "next"] in lines
    explained = runner.invoke(
        app, ["metrics", "explain", "top_unanswered", "--db", str(tmp_path / "s.duckdb")]
    )
    assert explained.exit_code == 0
    assert "--   chatlens topics export learn-next --format csv|rasa" in explained.output
    assert "--   GET /api/v1/topics/learn-next" in explained.output
