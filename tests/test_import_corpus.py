"""The bad-files corpus: small broken files through `chatlens import`, each with its kept /
duplicate / rejected / conflict counts, exit status and quarantined positions written by hand.

Every rejection rule of the file readers (ingest/files.py), of the pipeline (conflicts) and
the cross-cutting rules of the event model (control characters, the earliest timestamp,
strict JSON booleans) has a case here, so removing a rule fails a case.
"""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.ingest import import_file, rejected_path_for
from chatlens.store import open_store


def ev(n: int, **kw: object) -> dict:
    """Message n of conversation c1 (a distinct, valid event for every n)."""
    return {
        "type": "message",
        "ts": f"2026-11-02T10:{n // 60:02d}:{n % 60:02d}Z",
        "conversation_id": "c1",
        "sender": "customer",
        "text": f"message {n}",
        **kw,
    }


def jsonl(*events: dict | bytes) -> bytes:
    lines = [e if isinstance(e, bytes) else orjson.dumps(e) for e in events]
    return b"\n".join(lines) + b"\n"


def fixed_lines(count: int) -> bytes:
    """`count` JSONL events of exactly 100 bytes each (padded inside the text)."""
    out = []
    for n in range(1, count + 1):
        line = orjson.dumps(ev(n, text="m"))
        line = orjson.dumps(ev(n, text="m" * (100 - len(line))))
        assert len(line) == 99
        out.append(line + b"\n")
    return b"".join(out)


def stored_gzip(data: bytes) -> bytes:
    """A gzip member whose deflate data is stored blocks (level 0): byte k of the content
    is at a known offset, so a cut at a known place leaves a known number of whole lines."""
    return gzip.compress(data, compresslevel=0, mtime=0)


def parquet_two_groups(corrupt: bool) -> bytes:
    """40 events in two row groups of 20; `corrupt` garbles the second group's first page
    header (its first column), so only the first group is readable."""
    events = [ev(n) for n in range(1, 41)]
    table = pa.table({key: [e[key] for e in events] for key in events[0]})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, row_group_size=20)
    data = bytearray(sink.getvalue().to_pybytes())
    if corrupt:
        column = pq.ParquetFile(pa.BufferReader(bytes(data))).metadata.row_group(1).column(0)
        offset = column.dictionary_page_offset or column.data_page_offset
        data[offset : offset + 8] = b"\xff" * 8
    return bytes(data)


CSV_HEAD = "type,ts,conversation_id,sender,text,fallback\n"


def csv_row(n: int, text: str | None = None, fallback: str = "") -> str:
    e = ev(n)
    return f"message,{e['ts']},c1,customer,{text or e['text']},{fallback}\n"


def csv_file(*rows: str, head: str = CSV_HEAD) -> bytes:
    return (head + "".join(rows)).encode()


@dataclass
class Case:
    """One file, what `chatlens import` must do with it."""

    name: str  # file name (the extension picks the format)
    content: bytes
    read: int
    kept: int  # imported
    rejected: int = 0
    conflicts: int = 0
    duplicates: int = 0
    status: int = 0
    # (unit, number, field, message fragment) of each quarantined record, in order
    quarantined: list[tuple[str, int, str, str]] = field(default_factory=list)
    message: str | None = None  # fragment of the one-line error (status 2)
    before: bytes | None = None  # a JSONL file imported first


TOO_BIG = 256 * 1024
CONTROL = "only tab, line feed and carriage return are accepted"

CASES: list[Case] = [
    # -- JSONL ---------------------------------------------------------------------------------
    Case("valid.jsonl", jsonl(ev(1), ev(2), ev(3)), read=3, kept=3),
    Case(
        "not-json.jsonl",
        jsonl(ev(1), b"{oops", ev(3)),
        read=3,
        kept=2,
        rejected=1,
        status=1,
        quarantined=[("line", 2, "(event)", "not valid JSON")],
    ),
    Case(
        "array-line.jsonl",
        jsonl(ev(1), b"[1, 2]", b'"text"', ev(4)),
        read=4,
        kept=2,
        rejected=2,
        status=1,
        quarantined=[
            ("line", 2, "(event)", "expected a JSON object per line"),
            ("line", 3, "(event)", "expected a JSON object per line"),
        ],
    ),
    Case(
        "too-big-line.jsonl",
        jsonl(ev(1), ev(2, attrs={"blob": "x" * TOO_BIG}), ev(3)),
        read=3,
        kept=2,
        rejected=1,
        status=1,
        quarantined=[("line", 2, "(event)", "at most 262144 (256 KiB)")],
    ),
    # one bad byte: the line's problem, on line 1 as on line 5
    Case(
        "bad-byte-line1.jsonl",
        jsonl(b'{"type": "message", "text": "caf\xe9"}', ev(2), ev(3), ev(4), ev(5)),
        read=5,
        kept=4,
        rejected=1,
        status=1,
        quarantined=[("line", 1, "(event)", "not valid UTF-8")],
    ),
    Case(
        "bad-byte-line5.jsonl",
        jsonl(ev(1), ev(2), ev(3), ev(4), b'{"type": "message", "text": "caf\xe9"}'),
        read=5,
        kept=4,
        rejected=1,
        status=1,
        quarantined=[("line", 5, "(event)", "not valid UTF-8")],
    ),
    # NUL: rejected wherever it is, raw (not JSON) or escaped (a control character)
    Case(
        "nul-early.jsonl",
        jsonl(ev(1, text="a\u0000b"), ev(2), ev(3), ev(4), ev(5)),
        read=5,
        kept=4,
        rejected=1,
        status=1,
        quarantined=[("line", 1, "text", f"U+0000 at character 2; {CONTROL}")],
    ),
    Case(
        "nul-late.jsonl",
        jsonl(ev(1), ev(2), ev(3), ev(4), ev(5, conversation_id="c\u00001")),
        read=5,
        kept=4,
        rejected=1,
        status=1,
        quarantined=[("line", 5, "conversation_id", "U+0000 at character 2")],
    ),
    Case(
        "raw-nul.jsonl",
        jsonl(b'{"type": "message", "text": "a\x00b"}', ev(2), ev(3)),
        read=3,
        kept=2,
        rejected=1,
        status=1,
        quarantined=[("line", 1, "(event)", "not valid JSON")],
    ),
    Case(
        "controls.jsonl",
        jsonl(ev(1, attrs={"plan": "pro\u001b"}), ev(2, text="tab\tand\r\nnewline")),
        read=2,
        kept=1,
        rejected=1,
        status=1,
        quarantined=[("line", 1, "attrs.plan", "U+001B at character 4")],
    ),
    Case(
        "year-0001.jsonl",
        jsonl(ev(1, ts="0001-01-01T00:00:00Z"), ev(2, ts="1999-12-31T23:59:59Z"), ev(3)),
        read=3,
        kept=1,
        rejected=2,
        status=1,
        quarantined=[
            ("line", 1, "ts", "is before 2000-01-01"),
            ("line", 2, "ts", "is before 2000-01-01"),
        ],
    ),
    Case(
        "strict-booleans.jsonl",
        jsonl(ev(1, sender="bot", fallback="yes"), ev(2, sender="bot", fallback=True)),
        read=2,
        kept=1,
        rejected=1,
        status=1,
        quarantined=[("line", 1, "fallback", "valid boolean (got 'yes')")],
    ),
    # -- the same event_id ----------------------------------------------------------------------
    Case(
        "conflict.jsonl",
        jsonl(
            ev(1, event_id="x"),
            ev(1, event_id="x", text="something else"),
            ev(1, event_id="x"),
            ev(2),
        ),
        read=4,
        kept=2,
        duplicates=1,
        conflicts=1,
        status=1,
        quarantined=[("line", 2, "event_id", "already stored with different content")],
    ),
    Case(
        "conflict-with-store.jsonl",
        jsonl(ev(1, event_id="y"), ev(1, event_id="y", sender="agent", agent_id="a1")),
        before=jsonl(ev(1, event_id="y")),
        read=2,
        kept=0,
        duplicates=1,
        conflicts=1,
        status=1,
        quarantined=[("line", 2, "event_id", "already stored with different content")],
    ),
    # -- JSON documents ------------------------------------------------------------------------
    Case("array.json", orjson.dumps([ev(1), ev(2)]), read=2, kept=2),
    Case(
        "array-non-objects.json",
        orjson.dumps([ev(1), 7, "x", None, ev(2)]),
        read=5,
        kept=2,
        rejected=3,
        status=1,
        quarantined=[
            ("item", 1, "(event)", "expected a JSON object"),
            ("item", 2, "(event)", "expected a JSON object"),
            ("item", 3, "(event)", "expected a JSON object"),
        ],
    ),
    Case(
        "pretty.json",
        orjson.dumps(ev(1), option=orjson.OPT_INDENT_2),
        read=1,
        kept=1,
    ),
    Case(
        "pretty.jsonl",
        orjson.dumps(ev(1), option=orjson.OPT_INDENT_2) + b"\n",
        read=1,
        kept=1,
    ),
    Case(
        "pretty-too-big.json",
        orjson.dumps(ev(1, attrs={"blob": "x" * TOO_BIG}), option=orjson.OPT_INDENT_2),
        read=1,
        kept=0,
        rejected=1,
        status=1,
        quarantined=[("line", 1, "(event)", "at most 262144 (256 KiB)")],
    ),
    Case(
        "array-cut.json",
        orjson.dumps([ev(1), ev(2), ev(3)])[:-30],
        read=2,
        kept=2,
        status=2,
        message="cannot be read from item 2 on: not valid JSON",
    ),
    Case(
        "broken.json",
        b"[{]",
        read=0,
        kept=0,
        status=2,
        message="cannot be read from item 0 on: not valid JSON",
    ),
    Case(
        "scalar.json",  # not an array: read as one object per line
        b'"just a string"',
        read=1,
        kept=0,
        rejected=1,
        status=1,
        quarantined=[("line", 1, "(event)", "expected a JSON object per line")],
    ),
    # -- whole files refused: not text -----------------------------------------------------------
    Case(
        "utf16.jsonl",  # Cyrillic: few NUL bytes, the byte-order mark gives it away
        jsonl(ev(1, text="дом" * 300)).decode().encode("utf-16"),
        read=0,
        kept=0,
        status=2,
        message="not UTF-8 text (looks like UTF-16 or binary)",
    ),
    Case(
        "utf16-no-bom.jsonl",
        jsonl(ev(1)).decode().encode("utf-16-le"),
        read=0,
        kept=0,
        status=2,
        message="not UTF-8 text (looks like UTF-16 or binary)",
    ),
    Case(
        "latin1.jsonl",
        "\n".join(f'{{"type": "message", "text": "caf\xe9 {n}"}}' for n in range(4)).encode(
            "latin-1"
        ),
        read=0,
        kept=0,
        status=2,
        message="not UTF-8 text (4 of the first 4 lines are not valid UTF-8)",
    ),
    # -- CSV -------------------------------------------------------------------------------------
    Case("valid.csv", csv_file(csv_row(1), csv_row(2)), read=2, kept=2),
    Case(
        "more-cells.csv",
        csv_file(csv_row(1), csv_row(2).replace("\n", ",extra\n"), csv_row(3)),
        read=3,
        kept=2,
        rejected=1,
        status=1,
        quarantined=[("line", 3, "(event)", "7 cells: more than the header's 6 columns")],
    ),
    Case(
        "fewer-cells.csv",
        csv_file(csv_row(1), "message,2026-11-02T10:00:02Z,c1\n", csv_row(3)),
        read=3,
        kept=2,
        rejected=1,
        status=1,
        quarantined=[("line", 3, "(event)", "3 cells: fewer than the header's 6 columns")],
    ),
    Case(
        "no-header.csv",
        csv_file(csv_row(2), head=csv_row(1)),
        read=0,
        kept=0,
        status=2,
        message="line 1 is not a header naming the columns: type, ts missing",
    ),
    Case(
        "twice-in-header.csv",
        csv_file(csv_row(1), head="type,ts,conversation_id,sender,text,text\n"),
        read=0,
        kept=0,
        status=2,
        message="the header (line 1) names a column twice: 'text'",
    ),
    Case(
        "header-not-utf8.csv",
        b"type,ts,conversation_id,sender,t\xe9xt,fallback\n" + csv_row(1).encode(),
        read=0,
        kept=0,
        status=2,
        message="the header (line 1) is not valid UTF-8",
    ),
    Case(
        "bad-byte.csv",
        csv_file(csv_row(1))
        + "message,2026-11-02T10:00:02Z,c1,customer,caf\xe9,\n".encode("latin-1"),
        read=2,
        kept=1,
        rejected=1,
        status=1,
        quarantined=[("line", 3, "(event)", "not valid UTF-8")],
    ),
    Case(
        "nul.csv",
        csv_file(csv_row(1, text="a\x00b"), csv_row(2), csv_row(3, text="c\x00d")),
        read=3,
        kept=1,
        rejected=2,
        status=1,
        quarantined=[
            ("line", 2, "text", "U+0000 at character 2"),
            ("line", 4, "text", "U+0000 at character 2"),
        ],
    ),
    Case(
        "big-cell.csv",  # 200 KB: within an event's 256 KiB, over the text's 64 KiB
        csv_file(csv_row(1), csv_row(2, text="x" * 200_000), csv_row(3)),
        read=3,
        kept=2,
        rejected=1,
        status=1,
        quarantined=[("line", 3, "text", "text is longer than 65536 bytes")],
    ),
    Case(
        "too-big-row.csv",
        csv_file(csv_row(1), csv_row(2, text="x" * (TOO_BIG + 1)), csv_row(3)),
        read=3,
        kept=2,
        rejected=1,
        status=1,
        quarantined=[("line", 3, "(event)", "at most 262144 (256 KiB)")],
    ),
    Case(
        "huge-cell.csv",  # beyond what the CSV reader takes in one cell: read up to there
        csv_file(csv_row(1), csv_row(2), csv_row(3, text="x" * (4 * TOO_BIG + 1)), csv_row(4)),
        read=2,
        kept=2,
        status=2,
        message="cannot be read from line 4 on: field larger than field limit (1048576)",
    ),
    Case(
        "booleans.csv",
        csv_file(
            csv_row(1, fallback="yes"),
            csv_row(2, fallback="FALSE"),
            csv_row(3, fallback="1"),
            csv_row(4, fallback="maybe"),
        ),
        read=4,
        kept=3,
        rejected=1,
        status=1,
        quarantined=[("line", 5, "fallback", "valid boolean (got 'maybe')")],
    ),
    # -- Parquet ---------------------------------------------------------------------------------
    Case("two-groups.parquet", parquet_two_groups(corrupt=False), read=40, kept=40),
    Case(
        "corrupt-group.parquet",
        parquet_two_groups(corrupt=True),
        read=20,
        kept=20,
        status=2,
        message="cannot be read from row 21 on: Couldn't deserialize thrift",
    ),
    # -- compressed ------------------------------------------------------------------------------
    Case(
        "two-members.jsonl.gz",
        gzip.compress(jsonl(ev(1), ev(2))) + gzip.compress(jsonl(ev(3))),
        read=3,
        kept=3,
    ),
    Case(
        # stored blocks: 10-byte gzip header, 5-byte block header, then the lines; cut inside
        # line 51 (each line is 100 bytes)
        "truncated.jsonl.gz",
        stored_gzip(fixed_lines(80))[: 10 + 5 + 50 * 100 + 37],
        read=50,
        kept=50,
        status=2,
        message="cannot be read from line 51 on: the compressed file ends early (truncated)",
    ),
    Case(
        "truncated-second-member.jsonl.gz",
        stored_gzip(fixed_lines(30)) + stored_gzip(fixed_lines(60)[3000:])[:40],
        read=30,
        kept=30,
        status=2,
        message="cannot be read from line 31 on: the compressed file ends early (truncated)",
    ),
    Case(
        # the second member's first deflate block has the reserved type 3: corrupt from there
        "corrupt-middle.jsonl.gz",
        gzip.compress(fixed_lines(20), mtime=0)
        + gzip.compress(b"x" * 500, mtime=0)[:10]
        + b"\xff"
        + gzip.compress(b"x" * 500, mtime=0)[11:],
        read=20,
        kept=20,
        status=2,
        message="cannot be read from line 21 on: corrupt compressed data",
    ),
    Case(
        "corrupt.json.gz",
        gzip.compress(orjson.dumps([ev(1), ev(2)]), mtime=0)[:10] + b"\xff" * 20,
        read=0,
        kept=0,
        status=2,
        message="cannot be read from line 1 on: corrupt compressed data",
    ),
]

SUMMARY = re.compile(
    r"read (\d+), imported (\d+), duplicates (\d+), rejected (\d+), conflicts (\d+)"
)


def run_import(path: Path, db: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["import", str(path), "--db", str(db)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_files_corpus(tmp_path: Path, case: Case) -> None:
    db = tmp_path / "corpus.duckdb"
    if case.before is not None:
        before = tmp_path / "before.jsonl"
        before.write_bytes(case.before)
        assert run_import(before, db)[0] == 0
    path = tmp_path / case.name
    path.write_bytes(case.content)
    with open_store(db) as store:
        stored_before = store.con.execute("SELECT count(*) FROM events").fetchone()[0]

    status, output = run_import(path, db)

    assert status == case.status, output
    assert "Traceback" not in output
    counts = SUMMARY.search(output)
    if case.read or case.status != 2:
        assert counts, output
    if counts:
        assert tuple(int(n) for n in counts.groups()) == (
            case.read,
            case.kept,
            case.duplicates,
            case.rejected,
            case.conflicts,
        ), output
    with open_store(db) as store:
        stored = store.con.execute("SELECT count(*) FROM events").fetchone()[0]
    assert stored - stored_before == case.kept
    if case.message:
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and case.message in errors[0], output
        assert str(path) in errors[0]
    quarantine = rejected_path_for(path)
    if case.quarantined:
        entries = [orjson.loads(line) for line in quarantine.read_bytes().splitlines()]
        got = [
            (unit, entry[unit], entry["errors"][0]["field"], entry["errors"][0]["message"])
            for entry in entries
            for unit in ("line", "item", "row")
            if unit in entry
        ]
        assert len(got) == len(case.quarantined), got
        for (unit, number, name, fragment), actual in zip(case.quarantined, got, strict=True):
            assert actual[:3] == (unit, number, name), got
            assert fragment in actual[3], got
    else:
        assert not quarantine.exists()


def test_text_is_never_echoed_in_errors(tmp_path: Path) -> None:
    """A rejected message's text (personal data) is not printed, only the field and place."""
    path = tmp_path / "secret.jsonl"
    path.write_bytes(jsonl(ev(1, text="my card is 4111\u0000")))
    status, output = run_import(path, tmp_path / "s.duckdb")
    assert status == 1
    assert "field 'text': holds control character U+0000 at character 16" in output
    assert "4111" not in output


def test_a_read_failure_does_not_stop_the_next_file(tmp_path: Path) -> None:
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(stored_gzip(fixed_lines(10))[: 10 + 5 + 4 * 100 + 5])
    good = tmp_path / "good.jsonl"
    good.write_bytes(jsonl(ev(100), ev(101)))
    missing = tmp_path / "missing.jsonl"
    result = CliRunner().invoke(
        app, ["import", str(cut), str(missing), str(good), "--db", str(tmp_path / "m.duckdb")]
    )
    assert result.exit_code == 2
    assert "total: read 6, imported 6, duplicates 0, rejected 0, conflicts 0" in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {cut}: cannot be read from line 5 on: the compressed file ends early "
        "(truncated); the records before it were imported",
        f"error: {missing}: no such file",
    ]


def test_an_importer_keeps_the_items_before_a_truncated_gz(tmp_path: Path) -> None:
    """`--from chatwoot` reads files through the same readers: a webhook export cut inside
    line 7 imports exactly what its first six lines import, and says where it broke off."""
    export = Path(__file__).parent / "importers" / "data" / "chatwoot" / "webhooks.jsonl"
    lines = export.read_bytes().splitlines(keepends=True)
    first_six = tmp_path / "first-six.jsonl"
    first_six.write_bytes(b"".join(lines[:6]))
    cut = tmp_path / "webhooks.jsonl.gz"
    cut.write_bytes(stored_gzip(export.read_bytes())[: 10 + 5 + len(first_six.read_bytes()) + 9])

    def imported(path: Path, db: Path) -> tuple[int, str, list[str]]:
        result = CliRunner().invoke(
            app, ["import", "--from", "chatwoot", str(path), "--db", str(db)]
        )
        with open_store(db) as store:
            ids = [
                r[0] for r in store.con.execute("SELECT event_id FROM events ORDER BY 1").fetchall()
            ]
        return result.exit_code, result.output, ids

    status, output, expected = imported(first_six, tmp_path / "a.duckdb")
    assert status == 0, output
    assert expected == [  # conversation 106: created, Pat writes, the bot answers, handed off,
        "chatwoot:conv:106:assignee:4:2026-11-02T15:00:37",  # Bruno assigned, Bruno answers
        "chatwoot:conv:106:started",
        "chatwoot:conv:106:status:open:2026-11-02T15:00:07",
        "chatwoot:msg:6001",
        "chatwoot:msg:6002",
        "chatwoot:msg:6003",
    ]
    status, output, got = imported(cut, tmp_path / "b.duckdb")
    assert status == 2, output
    assert got == expected
    assert f"error: {cut}: cannot be read from line 7 on: the compressed file ends early" in output


REJECTED = [c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + [0xFFFE, 0xFFFF]


@pytest.mark.parametrize("name", ["events.jsonl", "events.json"])
def test_every_control_character_is_caught_in_json_files(tmp_path: Path, name: str) -> None:
    """JSON readers let clean text skip the per-string scan: nothing may slip through it,
    whether the character is escaped (orjson, Python's json) or written raw (U+FFFE/FFFF)."""
    events = [ev(n, text=f"x{chr(code)}") for n, code in enumerate(REJECTED)]
    python_json = [json.dumps(e).encode() for e in events]  # \\u001b, \\ufffe ...
    lines = [orjson.dumps(e) for e in events] + python_json + [orjson.dumps(ev(99))]
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_bytes(b"[" + b",\n".join(lines) + b"]")
    else:
        path.write_bytes(b"\n".join(lines) + b"\n")
    with open_store(tmp_path / "c.duckdb") as store:
        summary = import_file(store, path)
    assert (summary.read, summary.imported, summary.rejected) == (2 * len(REJECTED) + 1, 1, 62)
