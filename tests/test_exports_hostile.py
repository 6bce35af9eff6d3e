"""Every export of the hostile-text corpus (tests/hostile.py), checked cell by cell: no CSV or
XLSX cell starts a formula, the XLSX files open and hold the values, CSV, Parquet and JSON
hold them exactly (NUL and other control characters included), nothing answers 500."""

from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path
from urllib.parse import quote

import orjson
import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.reports.export import xlsx_cell
from chatlens.reports.format import spreadsheet_cell
from tests.hostile import (
    FORMULA_STARTERS,
    PAYLOADS,
    agent_id,
    build_hostile_store,
    conversation_id,
    payload,
)
from tests.serverkit import LiveServer, provision

runner = CliRunner()
IDS = [conversation_id(n) for n in range(len(PAYLOADS))]
CSAT = {conversation_id(n): 1 + n % 5 for n in range(len(PAYLOADS))}  # as tests/hostile.py


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory) -> Path:
    return build_hostile_store(tmp_path_factory.mktemp("hostile") / "chatlens.duckdb")


@pytest.fixture(scope="module")
def server(hostile_store, tmp_path_factory):
    served = tmp_path_factory.mktemp("served") / "chatlens.duckdb"  # the CLI opens the other
    shutil.copyfile(hostile_store, served)
    seats = provision(
        served, {"default": {"users": {"boss": ("manager", None, None)}, "keys": {"read": "read"}}}
    )
    live = LiveServer(served).start()
    yield live.client(seats.keys["read"]), live.login(seats.emails["boss"])
    live.stop()


def is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))
    except ValueError:
        return False


def csv_rows(text: str) -> list[list[str]]:
    """Parsed cell by cell; fails on any cell a spreadsheet would run as a formula."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            assert not cell.startswith(FORMULA_STARTERS) or is_number(cell), (r, c, cell[:40])
    return rows


def as_dicts(rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def check_xlsx(data: bytes) -> list[dict[str, object]]:
    sheet = load_workbook(io.BytesIO(data)).active
    rows = [[cell for cell in row] for row in sheet.iter_rows()]
    for row in rows:
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
            if isinstance(cell.value, str):
                assert not cell.value.startswith(FORMULA_STARTERS), cell.coordinate
    names = [c.value for c in rows[0]]
    return [dict(zip(names, [c.value for c in row], strict=True)) for row in rows[1:]]


def check_conversations_csv(text: str) -> None:
    rows = as_dicts(csv_rows(text))
    assert [r["conversation_id"] for r in rows] == [spreadsheet_cell(i) for i in IDS]
    for n, row in enumerate(rows):  # every untrusted column holds the payload, neutralised
        for column in ("channel", "team", "bot_id", "page_url", "tags", "tag_categories"):
            assert row[column] == spreadsheet_cell(payload(n, column)), (n, column)
        assert row["csat"] == f"{CSAT[IDS[n]]:.1f}"
        assert row["agents"] == spreadsheet_cell(agent_id(n))
        assert orjson.loads(row["attrs"].removeprefix("'")) == {
            "segment": payload(n, "attrs"),
            "plan": payload(n, "attrs"),
        }


def check_conversations_xlsx(data: bytes) -> None:
    rows = check_xlsx(data)
    assert [r["conversation_id"] for r in rows] == [xlsx_cell(i) for i in IDS]
    for n, row in enumerate(rows):
        assert row["team"] == xlsx_cell(payload(n, "team"))
        assert row["csat"] == CSAT[IDS[n]]
    nul = PAYLOADS.index("nul\x00bell\x07esc\x1b[31mred\x0bvt\x1f")
    assert rows[nul]["channel"] == "nul\ufffdbell\ufffdesc\ufffd[31mred\ufffdvt\ufffd"


def check_conversations_parquet(data: bytes) -> None:
    table = pq.read_table(io.BytesIO(data))  # Parquet keeps the stored text exactly
    assert table.column("conversation_id").to_pylist() == IDS
    assert table.column("team").to_pylist() == [payload(n, "team") for n in range(len(IDS))]


def test_cli_exports_of_conversations(hostile_store, tmp_path):
    checks = {
        "csv": lambda p: check_conversations_csv(p.read_bytes().decode()),
        "xlsx": lambda p: check_conversations_xlsx(p.read_bytes()),
        "parquet": lambda p: check_conversations_parquet(p.read_bytes()),
    }
    for fmt, check in checks.items():
        out = tmp_path / f"c.{fmt}"
        result = runner.invoke(
            app,
            [
                "export",
                "conversations",
                "--out",
                str(out),
                "--format",
                fmt,
                "--db",
                str(hostile_store),
            ],
        )
        assert result.exit_code == 0, result.output
        assert f"wrote {len(IDS)} conversations" in result.output
        check(out)


def test_api_exports_of_conversations(server):
    reader, _ = server
    checks = {
        "csv": lambda a: check_conversations_csv(a.text),
        "xlsx": lambda a: check_conversations_xlsx(a.content),
        "parquet": lambda a: check_conversations_parquet(a.content),
    }
    for fmt, check in checks.items():
        answer = reader.get(
            "/api/v1/export/conversations",
            params={"from": "2026-11-01", "to": "2026-11-30", "format": fmt},
        )
        assert answer.status_code == 200, answer.text
        check(answer)


def test_report_csv_by_team_neutralises_the_team_names(hostile_store):
    result = runner.invoke(
        app,
        [
            "report",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--by",
            "team",
            "--metrics",
            "conversations,csat",
            "--format",
            "csv",
            "--db",
            str(hostile_store),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = as_dicts(csv_rows(result.stdout_bytes.decode()))
    got = {r["team"]: (r["conversations"], r["csat"]) for r in rows}
    want = {spreadsheet_cell(payload(n, "team")): ("1", f"{1 + n % 5:.1f}") for n in range(18)}
    assert got == want


def test_report_json_holds_the_text_exactly(hostile_store):
    result = runner.invoke(
        app,
        [
            "report",
            "--from",
            "2026-11-01",
            "--to",
            "2026-11-30",
            "--by",
            "channel",
            "--metrics",
            "conversations",
            "--format",
            "json",
            "--db",
            str(hostile_store),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = orjson.loads(result.stdout)["rows"]
    assert {r["channel"] for r in rows} == {payload(n, "channel") for n in range(18)}


def test_learn_next_csv_neutralises_questions_and_topic_names(hostile_store):
    result = runner.invoke(
        app, ["topics", "export", "learn-next", "--format", "csv", "--db", str(hostile_store)]
    )
    assert result.exit_code == 0, result.output
    rows = as_dicts(csv_rows(result.stdout_bytes.decode()))
    examples = {r["example"] for r in rows}
    # the questions before a fallback are "<payload>" and "how do I reset my password <payload>"
    assert {"'+1+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"} <= examples
    assert "how do I reset my password +1+cmd|' /C calc'!A0" in examples


def test_rasa_training_data_loads_as_yaml(hostile_store):
    import yaml

    result = runner.invoke(
        app, ["topics", "export", "learn-next", "--format", "rasa", "--db", str(hostile_store)]
    )
    assert result.exit_code == 0, result.output
    nlu = yaml.safe_load(result.stdout_bytes.decode())["nlu"]  # NUL made the parser refuse it
    examples = "".join(intent["examples"] for intent in nlu)
    assert "- nul\ufffdbell\ufffdesc\ufffd[31mred vt\n" in examples  # VT, US: spaces
    assert "- '+1+cmd|' /C calc'!A0\n" not in examples  # YAML text, not a spreadsheet


def test_api_json_reads_hold_the_text_exactly(server):
    reader, _ = server
    listed = reader.get(
        "/api/v1/conversations", params={"from": "2026-11-01", "to": "2026-11-30", "per_page": 50}
    )
    assert listed.status_code == 200, listed.text
    assert [r["conversation_id"] for r in listed.json()["rows"]] == IDS
    for n, cid in enumerate(IDS):
        answer = reader.get(f"/api/v1/conversations/{quote(cid, safe='')}")  # "/" too
        assert answer.status_code == 200, (n, answer.text[:200])
        texts = [e.get("text") for e in answer.json()["events"] if e["type"] == "message"]
        assert texts[0] == payload(n, "text")


def test_agent_report_csv_for_hostile_agent_ids(server):
    _, boss = server
    # an attribute breaker, tab and CR formulas, emoji (not Latin-1: no header carries them)
    for n in (2, 13, 14, 16):
        answer = boss.get(
            f"/agents/{quote(agent_id(n), safe='')}/report.csv",
            params={"from": "2026-11-01", "to": "2026-11-30", "every": "month"},
        )
        assert answer.status_code == 200, (n, answer.text[:200])
        name = answer.headers["content-disposition"]
        assert name.startswith('attachment; filename="agent-') and name.count('"') == 2
        rows = as_dicts(csv_rows(answer.text))
        assert [r["handled_conversations"] for r in rows] == ["1"], n
