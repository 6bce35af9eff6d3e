"""Facts derived into an event lake (chatlens.lake.facts): DuckDB against Spark (local[2] or
a real standalone cluster) on the same lake, in the same run, at 1M conversations and more
(docs/benchmarks.md, "Facts in the lake").

The data: a base store of N simulated conversations over 365 days (bench_store.build_store,
cached in bench/.cache/) is written into a local lake K times (`--copies`), each copy with
its identifiers rewritten (event_id, conversation_id, customer_id, session_id, agent_id,
from_agent_id, bot_id and ticket_id suffixed `~c<k>`; copy 0 keeps the base's ids) and its
times unchanged: K operations of the base's size on the same days, K times the conversations
a day. Every day is one Parquet file (zstd) written by one DuckDB COPY holding every copy's
events of the day in arrival order (base seq, then copy), as a compacted lake has it. The
last day is written last, beside the lake, and moved in when it "arrives". The generation
is timed apart from the derivations.

Then, per engine (duckdb, then spark if asked), from no facts: a full derivation of every
day but the last, then the last day arriving (an incremental run: the day's conversations,
those of their customers, and missed chats after new agent statuses). Checked for every
engine: the facts and stints rows after the incremental run = the base store's facts and
stints x K; the incremental run's conversations equal across engines.

Spark: `--spark local` (local[2] in this process), `--spark cluster` (starts a standalone
master and two workers, tests/sparkcluster.py, and stops them after; this process is the
driver), or `--spark spark://HOST:PORT` (a running cluster). Memory is given explicitly:
`--driver-memory`, `--executor-memory` (each worker offers `--worker-memory`); DuckDB gets
`--duckdb-memory` and spills beyond it into the work folder, at most `--duckdb-spill` (DuckDB's
max_temp_directory_size; check `df` first), through the options of `chatlens lake facts`
(`DuckDBLimits`). `--engines none` only generates the lake. `--keep` keeps the lake in
`--work` and reuses it when the base and K match (so that the engines can run one after the
other on one lake).

Usage: python bench/bench_lake_facts.py [--conversations 100000] [--copies 10]
         [--spark local|cluster|spark://HOST:PORT] [--engines duckdb,spark]
         [--duckdb-memory 8GB] [--duckdb-spill 40GB] [--shuffle-partitions N] [--driver-memory 4g]
         [--executor-memory 3g] [--worker-memory 3g]
         [--work DIR] [--keep] [--store]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import orjson
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/sparkcluster.py starts the cluster

from bench_store import build_store  # noqa: E402
from chatlens.lake.facts import DuckDBLimits, derive, read_state  # noqa: E402
from chatlens.lake.layout import EVENT_SCHEMA, FACTS, STINTS, Lake  # noqa: E402
from chatlens.store import open_store  # noqa: E402
from chatlens.store.facts import refresh_facts  # noqa: E402
from chatlens.store.settings import Settings, load_settings  # noqa: E402

IDS = (
    "event_id",
    "conversation_id",
    "customer_id",
    "session_id",
    "agent_id",
    "from_agent_id",
    "bot_id",
    "ticket_id",
)
"""The identifier columns a copy rewrites (teams, channels, intents... stay shared)."""

T = TypeVar("T")


def timed(what: str, fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = fn()
    took = time.perf_counter() - started
    print(f"{what}: {took:.1f} s (load {_load()})", flush=True)
    return result, took


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _columns(copy: str) -> str:
    """The events' columns of one copy (`copy`: the SQL of its number)."""
    out = []
    for name in EVENT_SCHEMA.names:
        if name in IDS:
            out.append(
                f"CASE WHEN {copy} = 0 THEN {name} ELSE {name} || '~c' || {copy} END AS {name}"
            )
        elif name == "attrs":
            out.append("CAST(attrs AS VARCHAR) AS attrs")
        else:
            out.append(name)
    return ", ".join(out)


def write_lake(store_path: Path, root: Path, held: Path, copies: int) -> tuple[int, dt.date]:
    """The base store's events, `copies` times, into `root` (one file a day) but the last
    day, which goes into `held` (moved into the lake by `arrive`). Returns the events
    written and the last day."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"ATTACH '{store_path}' AS base (READ_ONLY)")
    con.execute(
        "CREATE TEMP TABLE base_events AS SELECT *, ts::DATE AS day FROM base.events "
        "ORDER BY day, seq"
    )
    con.execute(f"CREATE TEMP TABLE copies AS SELECT range AS copy FROM range({copies})")
    days = [d for (d,) in con.execute("SELECT DISTINCT day FROM base_events ORDER BY 1").fetchall()]
    last = days[-1]
    columns = _columns("c.copy")
    written = 0
    for day in days:
        folder = (held if day == last else root / "events") / f"date={day.isoformat()}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{time.time_ns():020d}-{os.urandom(12).hex()}.parquet"
        con.execute(
            f"COPY (SELECT {columns} FROM base_events e, copies c WHERE e.day = $day "
            f"ORDER BY e.seq, c.copy) TO '{folder / name}' (FORMAT parquet, COMPRESSION zstd)",
            {"day": day},
        )
        written += pq.ParquetFile(folder / name).metadata.num_rows
    con.close()
    return written, last


def arrive(root: Path, held: Path, last: dt.date, back: bool = False) -> None:
    """Move the last day into the lake (or `back` out of it)."""
    name = f"date={last.isoformat()}"
    source, target = (
        (root / "events" / name, held / name) if back else (held / name, root / "events" / name)
    )
    source.rename(target)


def rows_of(lake: Lake, kind: str) -> int:
    """Rows of the current facts (or stints), by the manifest."""
    state = read_state(lake)
    assert state is not None
    return sum(pq.ParquetFile(p).metadata.num_rows for p in state.files(lake, kind))


def run_engine(
    name: str,
    lake: Lake,
    root: Path,
    held: Path,
    last: dt.date,
    settings: Settings,
    engine: str,
    session: Any = None,
    limits: DuckDBLimits | None = None,
    snapshot: Path | None = None,
    incremental_only: bool = False,
) -> dict[str, Any]:
    """From no facts: a full derivation without the last day, then the last day arriving.
    The facts after the full derivation are copied to `snapshot`; `incremental_only`
    starts from that copy instead (another engine's full derivation: the facts do not
    depend on the engine that derived them)."""
    kinds = ("facts", "stints", "_state")
    for kind in kinds:
        shutil.rmtree(root / kind, ignore_errors=True)
    if incremental_only:
        assert snapshot is not None and (snapshot / "_state").exists(), "no full run to start from"
        for kind in kinds:
            shutil.copytree(snapshot / kind, root / kind)
        full, full_took = None, float("nan")
        print(f"{name}: the facts of {snapshot}'s full derivation, copied", flush=True)
    else:
        full, full_took = timed(
            f"{name}: full derivation, every day but the last",
            lambda: derive(lake, settings, engine, session, full=True, limits=limits),
        )
        if snapshot is not None:
            shutil.rmtree(snapshot, ignore_errors=True)
            for kind in kinds:
                shutil.copytree(root / kind, snapshot / kind)
    arrive(root, held, last)
    try:
        inc, inc_took = timed(
            f"{name}: incremental run, the last day arrives",
            lambda: derive(lake, settings, engine, session, limits=limits),
        )
    finally:
        arrive(root, held, last, back=True)
    result = {
        "full": full_took,
        "incremental": inc_took,
        "full conversations": full.conversations if full else 0,
        "incremental conversations": inc.conversations,
        "facts rows": rows_of(lake, FACTS),
        "stints rows": rows_of(lake, STINTS),
    }
    print(f"  {result}", flush=True)
    return result


def spark_env(args: argparse.Namespace) -> None:
    """The driver's and executors' memory, before the driver JVM starts."""
    os.environ["PYSPARK_SUBMIT_ARGS"] = (
        f"--driver-memory {args.driver_memory} "
        f"--conf spark.executor.memory={args.executor_memory} "
        "--conf spark.driver.maxResultSize=0 pyspark-shell"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--conversations", type=int, default=100_000, help="the base's size")
    parser.add_argument("--copies", type=int, default=10, help="copies of the base in the lake")
    parser.add_argument("--spark", default=None, help="local, cluster or spark://HOST:PORT")
    parser.add_argument("--engines", default="duckdb,spark", help="which engines, in order")
    parser.add_argument("--duckdb-memory", default="8GB", help="DuckDB's memory_limit")
    parser.add_argument(
        "--duckdb-spill", default=None, help="DuckDB's max_temp_directory_size (in --work)"
    )
    parser.add_argument(
        "--shuffle-partitions", type=int, default=None, help="Spark's (chatlens's own: 4)"
    )
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--executor-memory", default="3g")
    parser.add_argument("--worker-memory", default="3g", help="each worker's (with cluster)")
    parser.add_argument("--work", default=None, help="where the lake goes (default: a temp dir)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the lake after the run (and reuse a kept one)"
    )
    parser.add_argument("--store", action="store_true", help="time the base store's rebuild")
    parser.add_argument(
        "--spark-incremental-only",
        action="store_true",
        help="Spark: only the incremental day, from the facts of an earlier full run kept "
        "with --keep (at 10M Spark's full run would take hours)",
    )
    args = parser.parse_args()
    shown = logging.StreamHandler(sys.stdout)  # a full run's slices, as they end
    shown.setFormatter(logging.Formatter("  %(message)s"))
    logging.getLogger("chatlens.lake").addHandler(shown)
    logging.getLogger("chatlens.lake").setLevel(logging.INFO)
    engines = [e for e in args.engines.split(",") if e == "duckdb" or args.spark]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
        f"duckdb {duckdb.__version__}, python {platform.python_version()}; "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load {_load()}",
        flush=True,
    )
    path, _ = timed(
        f"base store of {args.conversations:,} conversations",
        lambda: build_store(args.conversations),
    )
    with open_store(path, read_only=not args.store) as store:  # generations run beside
        settings = load_settings(store.con)
        if args.store:
            timed(
                "base store: facts + stints full rebuild", lambda: refresh_facts(store, full=True)
            )
        [[base_facts]] = store.con.execute("SELECT count(*) FROM conversation_facts").fetchall()
        [[base_stints]] = store.con.execute("SELECT count(*) FROM agent_stints").fetchall()
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-lake-facts-"))
    root, held = work / "lake", work / "held"
    marker = work / "lake.json"
    made = {"base": str(path), "copies": args.copies}
    if args.keep and marker.exists() and orjson.loads(marker.read_bytes())["made"] == made:
        kept = orjson.loads(marker.read_bytes())
        events, last = kept["events"], dt.date.fromisoformat(kept["last"])
        gen_took = kept["seconds"]
        if not (held / f"date={last.isoformat()}").exists():  # a run stopped half-way
            arrive(root, held, last, back=True)
        print(f"the lake of an earlier run (--keep), generated in {gen_took:.1f} s", flush=True)
    else:
        marker.unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(held, ignore_errors=True)
        (events, last), gen_took = timed(
            f"generate the lake: {args.copies} copies of the base",
            lambda: write_lake(path, root, held, args.copies),
        )
        kept = {"made": made, "events": events, "last": last.isoformat(), "seconds": gen_took}
        marker.write_bytes(orjson.dumps(kept))
    size = sum(f.stat().st_size for f in (root / "events").rglob("*.parquet"))
    size += sum(f.stat().st_size for f in held.rglob("*.parquet"))
    conversations = base_facts * args.copies
    print(
        f"{conversations:,} conversations, {events:,} events, {size / 2**20:,.0f} MiB "
        f"({size / events:.1f} B/event); last day {last}",
        flush=True,
    )
    lake = Lake.open(str(root))
    results: dict[str, dict[str, Any]] = {}
    cluster = None
    try:
        for engine in engines:
            if engine == "duckdb":
                # its default, 80 % of the RAM, left a shared machine without memory at 3M
                limits = DuckDBLimits(
                    args.duckdb_memory, str(work / "duckdb-spill"), args.duckdb_spill
                )
                results["duckdb"] = run_engine(
                    "DuckDB",
                    lake,
                    root,
                    held,
                    last,
                    settings,
                    "duckdb",
                    limits=limits,
                    snapshot=work / "after-full",
                )
                continue
            spark_env(args)
            from chatlens.store.spark import spark_session

            master = None
            if args.spark == "cluster":
                from tests.sparkcluster import SparkCluster

                (work / "cluster").mkdir(exist_ok=True)
                cluster = SparkCluster(work / "cluster", memory=args.worker_memory)
                timed("standalone cluster start (master + 2 workers)", cluster.start)
                master = cluster.url
            elif args.spark != "local":
                master = args.spark
            label = f"Spark {master or 'local[2]'}"
            session, _ = timed(f"{label}: session start", lambda m=master: spark_session(master=m))
            if args.shuffle_partitions:
                session.conf.set("spark.sql.shuffle.partitions", str(args.shuffle_partitions))
                label += f", {args.shuffle_partitions} shuffle partitions"
            results[label] = run_engine(
                label,
                lake,
                root,
                held,
                last,
                settings,
                "spark",
                session,
                snapshot=work / "after-full",
                incremental_only=args.spark_incremental_only,
            )
            session.stop()
    finally:
        if cluster is not None:
            cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"\nload average at the end {_load()}")
    print(f"generation: {gen_took:.1f} s ({events / gen_took:,.0f} events/s)")
    print("\n| engine | full, all days but the last (s) | conversations/s | incremental day (s) |")
    print("|---|---:|---:|---:|")
    for label, r in results.items():
        rate = r["full conversations"] / r["full"] if r["full conversations"] else float("nan")
        print(
            f"| {label} | {r['full']:.1f} | {rate:,.0f} "
            f"| {r['incremental']:.1f} ({r['incremental conversations']:,} conversations) |"
        )
    agree = True
    for label, r in results.items():
        for key, want in (
            ("facts rows", base_facts * args.copies),
            ("stints rows", base_stints * args.copies),
        ):
            if r[key] != want:
                agree = False
                print(f"MISMATCH {label}: {key} {r[key]:,}, expected {want:,}")
    if len({r["incremental conversations"] for r in results.values()}) > 1:
        agree = False
        print("MISMATCH: the incremental runs derived different conversation counts")
    if results:
        print(f"row counts agree across engines and with the base x {args.copies}: {agree}")


if __name__ == "__main__":
    main()
