"""`chatlens lake write|compact|info` on a local folder and on S3 (moto)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import orjson
from typer.testing import CliRunner

from chatlens.cli.main import app
from chatlens.lake.compact import read_events
from chatlens.lake.info import shown_url
from chatlens.lake.ingest import LakeSink
from chatlens.lake.layout import Lake
from chatlens.lake.write import write_events
from tests.conftest import write_jsonl

runner = CliRunner()


def message(event_id: str, ts: str, text: str = "hello") -> dict:
    return {
        "event_id": event_id,
        "type": "message",
        "ts": ts,
        "conversation_id": "c1",
        "sender": "customer",
        "text": text,
    }


def test_write_compact_info(lake_url: str, tmp_path: Path) -> None:
    first = write_jsonl(
        tmp_path / "first.jsonl",
        [
            {
                "event_id": "s",
                "type": "conversation_started",
                "ts": "2026-11-02T09:00:00Z",
                "conversation_id": "c1",
                "channel": "web",
            },
            message("m1", "2026-11-02T09:00:05Z"),
            message("m2", "2026-11-03T00:00:01+01:00"),  # 23:00:01 UTC on the 2nd
            message("m3", "2026-11-03T10:00:00Z"),
        ],
    )
    again = write_jsonl(
        tmp_path / "again.jsonl",
        [message("m1", "2026-11-02T09:00:05Z", "retried"), message("m4", "2026-11-03T10:01:00Z")],
    )
    done = runner.invoke(app, ["lake", "write", "--lake", lake_url, str(first), str(again)])
    assert done.exit_code == 0, done.output
    assert "first.jsonl: 4 events in 2 new files" in done.output
    assert "again.jsonl: 2 events in 2 new files" in done.output
    assert "written: 6 events from 2 of 2 files" in done.output

    info = runner.invoke(app, ["lake", "info", "--lake", lake_url, "--json"])
    assert info.exit_code == 0, info.output
    shown = orjson.loads(info.output)
    assert {k: shown[k] for k in ("partitions", "files", "rows", "duplicates", "unsplit")} == {
        "partitions": 2,
        "files": 4,
        "rows": 6,
        "duplicates": 1,
        "unsplit": 2,
    }
    assert (shown["first_day"], shown["last_day"]) == ("2026-11-02", "2026-11-03")

    done = runner.invoke(app, ["lake", "compact", "--lake", lake_url, "--since", "2026-11-03"])
    assert done.exit_code == 0, done.output
    assert (
        "compacted 1 partitions: 2 files into 1, 2 rows into 2 (0 duplicates dropped)"
        in done.output
    )
    done = runner.invoke(app, ["lake", "compact", "--lake", lake_url])
    assert (
        "compacted 1 partitions: 2 files into 1, 4 rows into 3 (1 duplicates dropped)"
        in done.output
    )

    events = read_events(Lake.open(lake_url))
    assert events.column("event_id").to_pylist() == ["s", "m1", "m2", "m3", "m4"]
    assert events.column("text").to_pylist()[1] == "hello"
    text = runner.invoke(app, ["lake", "info", "--lake", lake_url])
    assert "duplicates pending" in text.output and "2026-11-02 to 2026-11-03" in text.output


def test_a_file_with_a_bad_record_is_refused_whole_and_the_others_written(
    lake_url: str, tmp_path: Path
) -> None:
    good = write_jsonl(tmp_path / "good.jsonl", [message("g1", "2026-11-02T09:00:00Z")])
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            message("b1", "2026-11-02T09:00:00Z"),
            message("b2", "yesterday-ish", "private words"),
            {
                "event_id": "b3",
                "type": "message",
                "ts": "2026-11-02T09:00:00Z",
                "conversation_id": "c1",
                "sender": "robot",
            },
        ],
    )
    done = runner.invoke(app, ["lake", "write", "--lake", lake_url, str(bad), str(good)])
    assert done.exit_code == 1
    output = " ".join(done.output.split())
    assert "bad.jsonl: 2 bad records, nothing of this file written" in output
    assert "line 2: field 'ts'" in output and "line 3: field 'sender'" in output
    assert "private words" not in output  # message text is never echoed
    assert "good.jsonl: 1 events in 1 new file" in output
    assert "written: 1 events from 1 of 2 files" in output
    assert read_events(Lake.open(lake_url)).column("event_id").to_pylist() == ["g1"]


def test_an_unreadable_file_or_day_is_named(tmp_path: Path) -> None:
    url = str(tmp_path / "lake")
    done = runner.invoke(app, ["lake", "write", "--lake", url, str(tmp_path / "missing.jsonl")])
    assert done.exit_code == 1 and "missing.jsonl: no such file" in done.output
    done = runner.invoke(app, ["lake", "compact", "--lake", url, "--since", "last week"])
    assert done.exit_code == 2
    assert "--since: expected a date YYYY-MM-DD, got 'last week'" in " ".join(done.output.split())


def test_credentials_in_a_lake_url_are_never_shown() -> None:
    assert (
        shown_url("s3://KEY:SECRET@bucket/lake?scheme=http") == "s3://***@bucket/lake?scheme=http"
    )
    assert (
        shown_url("s3://bucket/lake?access_key=KEY&secret_key=SECRET&endpoint_override=h:9000")
        == "s3://bucket/lake?access_key=***&secret_key=***&endpoint_override=h:9000"
    )
    assert shown_url("/data/lake") == "/data/lake"


def test_each_workspace_has_a_lake_of_its_own(tmp_path: Path, moto) -> None:  # type: ignore[no-untyped-def]
    local = LakeSink(str(tmp_path / "lake"))
    assert local.lake_of("default").root == str(tmp_path / "lake")
    assert local.lake_of("acme").root == str(tmp_path / "lake/workspaces/acme")
    url = moto.bucket()
    bucket = url.removeprefix("s3://").split("/")[0]
    remote = LakeSink(url, store_too=True).lake_of("acme")
    assert remote.root == f"{bucket}/lake/workspaces/acme"
    ts = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    write_events(remote, [{"event_id": "x", "type": "message", "ts": ts}])
    assert moto.keys(url)[0].startswith("lake/workspaces/acme/events/date=2026-11-02/part-")
    assert read_events(Lake.open(url)).num_rows == 0  # the default workspace's lake: empty


def test_store_too_needs_a_lake(tmp_path: Path) -> None:
    done = runner.invoke(app, ["serve", "--db", str(tmp_path / "x.duckdb"), "--store-too"])
    assert done.exit_code == 2 and "--store-too goes with --lake URL" in done.output
