"""Dashboard benchmark: the overview page over 1 M conversations in Chromium, against the real
server (`chatlens serve` in a child process, as in production).

It copies the cached store of bench_store.py (1 M conversations over 365 days ending
2026-11-22, 100 agents) to a temporary directory, so the original stays free for the other
benchmarks. The copy gets its FAQ topics built first (a server builds them on its own in the
background within its first minutes and, when it is done, the result cache starts afresh;
a deployment of that size has them already): that prepared copy is kept in bench/.cache/
and copied again for every run. An admin seat is provisioned, the server started, and
Chromium (Debian's /usr/bin/chromium through Playwright) signs in and opens the overview.

"Data shown" is the moment, counted from navigation start (`performance.now()` in the page),
at which, checked on every animation frame:
- the document is parsed and no element is `aria-busy="true"`;
- every headline tile (`.tile .value`) holds its text (10 tiles on the overview);
- every chart (`.chart`) is marked ready (`data-ready="1"`: the page's script drew it) and
  every canvas inside a chart has painted pixels (not blank).
For a custom dashboard the same check covers its widgets (each is `aria-busy` until its
`/api/v1/query` answers, then `data-ready="1"`).

Measured, for the last 30 days and for the whole year (day grain, as the page opens):
- cold: first load after a server start, with the store's file dropped from the OS page
  cache first (includes opening the store and DuckDB reading it);
- warm, cached: the same page again (the engine's result cache answers);
- warm, uncached: the period moved by a day each time, so every figure is computed;
- after a settings change (a goal, via PATCH /api/v1/settings) and after new events (one
  conversation ingested, facts refreshed): the result cache misses;
- a custom dashboard of 7 widgets (each widget one `/api/v1/query` call, as the browser
  sends them), cached and uncached.
For every load the request timings come from the browser (Navigation and Resource Timing:
server time = responseStart - requestStart). Afterwards, with the server stopped, the
overview's engine calls are timed one by one in-process on the same copy (one DuckDB
thread, as the server on 2 cores), to show which figures dominate.

Usage: python bench/bench_dashboard.py [--repeat 5] [--cold 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.serverkit
from tests.serverkit import CHROMIUM, CHROMIUM_FLAGS, PASSWORD, LiveServer, provision

from bench_store import CACHE, build_store

FLAGS = CHROMIUM_FLAGS
LAST_DAY = dt.date(2026, 11, 22)
TARGET = 1.5

# `performance.now()` once the page shows its data, else false (polled every frame)
DATA_SHOWN = """() => {
  if (document.readyState === "loading") return false;
  if (document.querySelector('[aria-busy="true"]')) return false;
  const values = [...document.querySelectorAll(".tile .value")];
  if (values.some((v) => !v.textContent.trim())) return false;
  const widgets = [...document.querySelectorAll(".widget")];
  if (widgets.some((w) => w.dataset.ready !== "1")) return false;
  const charts = [...document.querySelectorAll(".chart")];
  if (!charts.length && !values.length && !widgets.length) return false;
  for (const chart of charts) {
    if (!chart.closest(".widget") && chart.dataset.ready !== "1") return false;
    if (chart.dataset.painted === "1") continue;
    const canvases = [...chart.querySelectorAll("canvas")];
    if (!canvases.length) return false;
    for (const canvas of canvases) {
      const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      let painted = false;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) { painted = true; break; }
      if (!painted) return false;
    }
    chart.dataset.painted = "1";
  }
  return performance.now();
}"""

TIMINGS = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const res = performance.getEntriesByType("resource").map((r) => ({
    name: r.name.replace(location.origin, ""), start: r.startTime,
    server: r.responseStart - r.requestStart, end: r.responseEnd,
    bytes: r.transferSize, cached: r.transferSize === 0,
  }));
  return {
    server: nav.responseStart - nav.requestStart, ttfb: nav.responseStart,
    html: nav.responseEnd, dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
    bytes: nav.transferSize, resources: res,
  };
}"""


def load_avg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def period(days: int, shift: int = 0) -> tuple[str, str]:
    end = LAST_DAY - dt.timedelta(days=shift)
    return (end - dt.timedelta(days=days - 1)).isoformat(), end.isoformat()


def prepared_store(conversations: int, agents: int) -> Path:
    """The benchmark store with its FAQ topics built (kept in bench/.cache/, made once)."""
    from chatlens import topics
    from chatlens.store import open_store
    from chatlens.store.sql import run

    source = build_store(conversations, agents=agents)
    path = CACHE / f"dashboard-{source.stem}.duckdb"
    if path.exists() and path.stat().st_mtime >= source.stat().st_mtime:
        return path
    partial = path.with_suffix(".partial")
    shutil.copyfile(source, partial)
    if source.with_suffix(".duckdb.wal").exists():
        shutil.copyfile(source.with_suffix(".duckdb.wal"), partial.with_suffix(".partial.wal"))
    started = time.perf_counter()
    with open_store(partial) as store:
        run(store.con, "SET threads = 1")
        questions = topics.refresh(store)
    print(
        f"prepared {path.name}: topics of {questions:,} questions built in "
        f"{time.perf_counter() - started:.0f} s"
    )
    partial.rename(path)
    return path


def drop_from_page_cache(path: Path) -> None:
    """Ask the kernel to forget the file's cached pages (no root needed: clean pages)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class Bench:
    def __init__(self, store: Path, email: str, keys: dict[str, str]):
        self.store = store
        self.email = email
        self.keys = keys
        self.server: LiveServer | None = None
        self.rows: list[dict[str, Any]] = []
        self.csrf = ""

    def start(self, cold: bool) -> None:
        if cold:
            drop_from_page_cache(self.store)
        self.server = LiveServer(self.store, refresh_seconds=1.0).start(timeout=120)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def sign_in(self, browser: Any) -> Any:
        assert self.server is not None
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        answer = context.request.post(
            self.server.url + "/api/v1/auth/login",
            data={"email": self.email, "password": PASSWORD},
        )
        assert answer.ok, answer.text()
        self.csrf = answer.json()["csrf_token"]
        return context

    def measure(self, context: Any, label: str, path: str) -> dict[str, Any]:
        assert self.server is not None
        page = context.new_page()
        load = load_avg()
        started = time.perf_counter()
        page.goto(self.server.url + path, wait_until="commit", timeout=300_000)
        handle = page.wait_for_function(DATA_SHOWN, polling="raf", timeout=300_000)
        shown = handle.json_value() / 1000
        wall = time.perf_counter() - started
        timings = page.evaluate(TIMINGS)
        assert "/login" not in page.url, "not signed in"
        page.close()
        calls = [r for r in timings["resources"] if r["name"].startswith("/api/")]
        row = {
            "label": label,
            "path": path,
            "shown": shown,
            "wall": wall,
            "server": timings["server"] / 1000,
            "ttfb": timings["ttfb"] / 1000,
            "html": timings["html"] / 1000,
            "dcl": timings["dcl"] / 1000,
            "calls": calls,
            "resources": timings["resources"],
            "load": load,
        }
        self.rows.append(row)
        slowest = max(calls, key=lambda r: r["server"], default=None)
        extra = (
            f"  {len(calls)} API calls, slowest {slowest['server'] / 1000:.2f} s "
            f"({slowest['name'][:40]})"
            if slowest
            else ""
        )
        print(
            f"  {label:<40} shown {shown:6.2f} s  html server {row['server']:6.2f} s  "
            f"DOMContentLoaded {row['dcl']:6.2f} s{extra}  load {load}",
            flush=True,
        )
        return row

    def patch_goal(self, context: Any, value: float) -> float:
        assert self.server is not None
        started = time.perf_counter()
        answer = context.request.patch(
            self.server.url + "/api/v1/settings",
            data={"goals": {"csat": {"min": 4.5}, "fcr_rate": {"min": value}}},
            headers={"x-csrf-token": self.csrf},
            timeout=300_000,
        )
        assert answer.ok, answer.text()
        return time.perf_counter() - started

    def new_events(self, n: int) -> float:
        """Ingest one conversation on the last day; wait until the facts count it."""
        assert self.server is not None
        ingest = self.server.client(self.keys["in"])
        reader = self.server.client(self.keys["read"])
        reader.timeout = httpx.Timeout(300)
        body = {"metrics": ["conversations"], "from": "2026-11-22", "to": "2026-11-22"}
        before = reader.post("/api/v1/query", json=body).json()["rows"][0]["conversations"]
        cid = f"bench-{n}-{time.time_ns()}"
        events = [
            {
                "type": "conversation_started",
                "ts": "2026-11-22T10:00:00Z",
                "conversation_id": cid,
                "channel": "web",
            },
            {
                "type": "message",
                "ts": "2026-11-22T10:00:05Z",
                "conversation_id": cid,
                "sender": "customer",
                "text": "Where is my order?",
            },
            {
                "type": "message",
                "ts": "2026-11-22T10:00:06Z",
                "conversation_id": cid,
                "sender": "bot",
                "bot_id": "bench-bot",
                "text": "Let me check.",
            },
        ]
        started = time.perf_counter()
        assert ingest.post("/api/v1/events", json=events).status_code == 200
        while reader.post("/api/v1/query", json=body).json()["rows"][0]["conversations"] == before:
            time.sleep(0.2)
        return time.perf_counter() - started

    def make_dashboard(self, context: Any) -> int:
        assert self.server is not None
        widgets = [
            {"metric": "conversations", "chart": "tile"},
            {"metric": "csat", "chart": "tile"},
            {"metric": "first_response_time", "chart": "tile"},
            {"metric": "conversations", "chart": "line", "size": 2},
            {"metric": "fallback_rate", "chart": "bar", "dimension": "channel"},
            {"metric": "conversations", "chart": "heatmap", "size": 2},
            {"metric": "fcr_rate", "chart": "gauge"},
        ]
        answer = context.request.post(
            self.server.url + "/api/v1/dashboards",
            data={"name": "Bench", "widgets": widgets},
            headers={"x-csrf-token": self.csrf},
        )
        assert answer.ok, answer.text()
        return int(answer.json()["id"])


def overview(days: int, shift: int = 0) -> str:
    start, end = period(days, shift)
    return f"/overview?from={start}&to={end}"


def run_browser(bench: Bench, repeat: int, colds: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    info: dict[str, Any] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        info["chromium"] = browser.version
        print(f"Chromium {browser.version}")
        for i in range(colds):
            print(f"server start {i + 1} of {colds} (store file dropped from the page cache)")
            bench.start(cold=True)
            context = bench.sign_in(browser)
            bench.measure(context, "cold, 30 days", overview(30))
            if i < colds - 1:
                context.close()
                bench.stop()
        assert bench.server is not None
        # the cold load computed the last 30 days: loading them again hits the result cache
        for days, name in ((30, "30 days"), (365, "year")):
            for k in range(repeat):
                bench.measure(
                    context, f"warm, uncached, {name} (moved {k + 1} d)", overview(days, k + 1)
                )
            if days != 30:
                bench.measure(context, f"warm, uncached, {name} (first load)", overview(days))
            for _ in range(repeat):
                bench.measure(context, f"warm, cached, {name}", overview(days))
        for k in range(3):
            took = bench.patch_goal(context, 0.7 + k / 100)
            print(f"  settings changed (a goal) in {took:.2f} s")
            bench.measure(context, "after a settings change, 30 days", overview(30))
            bench.measure(context, "after a settings change, year", overview(365))
        for k in range(3):
            took = bench.new_events(k)
            print(f"  one new conversation counted after {took:.2f} s")
            bench.measure(context, "after new events, 30 days", overview(30))
            bench.measure(context, "after new events, year", overview(365))
        board = bench.make_dashboard(context)
        for days, name in ((30, "30 days"), (365, "year")):
            for k in range(repeat):
                start, end = period(days, k + 1)
                bench.measure(
                    context,
                    f"dashboard, uncached, {name}",
                    f"/dashboards/{board}?from={start}&to={end}",
                )
            start, end = period(days)
            bench.measure(
                context,
                f"dashboard, uncached, {name} (first load)",
                f"/dashboards/{board}?from={start}&to={end}",
            )
            for _ in range(repeat):
                bench.measure(
                    context,
                    f"dashboard, cached, {name}",
                    f"/dashboards/{board}?from={start}&to={end}",
                )
        context.close()
        browser.close()
    bench.stop()
    return info


def engine_breakdown(store: Path, repeat: int) -> list[dict[str, Any]]:
    """The overview's figures one by one, uncached (a fresh period each time), in-process
    with one DuckDB thread (the server's setting on 2 cores)."""
    from chatlens.metrics import Engine, Query
    from chatlens.reading.rows import filter_values
    from chatlens.server.pages.reports import FUNNEL, TILES
    from chatlens.store import open_store
    from chatlens.store.sql import run

    figures = {
        "tiles (10 metrics, compare)": lambda s, e: Query(
            metrics=TILES, start=s, end=e, compare=True
        ),
        "series (3 metrics by day)": lambda s, e: Query(
            metrics=("conversations", "bot_conversations", "human_conversations"),
            start=s,
            end=e,
            grain="day",
        ),
        "channel mix": lambda s, e: Query(
            metrics=("conversations",), start=s, end=e, dimensions=("channel",)
        ),
        "heat map (weekday x hour)": lambda s, e: Query(
            metrics=("conversations",), start=s, end=e, dimensions=("weekday", "hour_of_day")
        ),
        "funnel (6 metrics)": lambda s, e: Query(
            metrics=tuple(m for m, _ in FUNNEL), start=s, end=e
        ),
    }
    out = []
    from chatlens.server.runtime.workspace import Workspace

    for state in ("file not in the page cache", "file in the page cache"):
        if state.startswith("file not"):
            drop_from_page_cache(store)
        t0 = time.perf_counter()
        workspace = Workspace("default", store, 1.0, 1)
        took = time.perf_counter() - t0
        workspace.close()
        out.append(
            {
                "days": None,
                "figure": f"open the workspace ({state})",
                "median": took,
                "min": took,
                "load": load_avg(),
            }
        )
        print(f"  open the workspace, {state}: {took:.2f} s  load {load_avg()}", flush=True)
    with open_store(store) as opened:
        run(opened.con, "SET threads = 1")
        engine = Engine(opened)
        results = engine.caches.results
        for days in (30, 365):
            engine.run(figures["tiles (10 metrics, compare)"](*period(days, 40)))  # compile
            results.clear()
            for name, make in [*figures.items(), ("filter menus (uncached)", None)]:
                times = []
                for k in range(repeat):
                    t0 = time.perf_counter()
                    if make is None:
                        results.clear()  # the menus are kept per state of the data too
                        filter_values(engine)
                    else:
                        engine.run(make(*period(days, 50 + k)))
                    times.append(time.perf_counter() - t0)
                row = {
                    "days": days,
                    "figure": name,
                    "median": statistics.median(times),
                    "min": min(times),
                    "load": load_avg(),
                }
                out.append(row)
                print(
                    f"  {days:>3} days  {name:<30} median {row['median']:.2f} s  "
                    f"min {row['min']:.2f} s  load {row['load']}",
                    flush=True,
                )
    return out


def summary(rows: list[dict[str, Any]]) -> None:
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        key = row["label"].split(" (")[0]
        groups.setdefault(key, []).append(row)
    print(
        f"\n{'page load (data shown from navigation start)':<40} {'n':>2} {'median':>6} "
        f"{'min':>5} {'max':>5} {'html srv':>8} {'html in':>7} {'DCL':>5} {'api max':>7}"
        f"  < {TARGET} s"
    )
    for key, group in groups.items():
        shown = [r["shown"] for r in group]
        med = statistics.median(shown)

        def mid(field: str, group: list[dict[str, Any]] = group) -> float:
            return statistics.median(r[field] for r in group)

        api = [max((c["server"] for c in r["calls"]), default=0) / 1000 for r in group]
        verdict = "met" if med < TARGET else "NOT met"
        print(
            f"{key:<40} {len(group):>2} {med:6.2f} {min(shown):5.2f} {max(shown):5.2f} "
            f"{mid('server'):8.2f} {mid('html'):7.2f} {mid('dcl'):5.2f} "
            f"{statistics.median(api):7.2f}  {verdict}"
        )
    calls: dict[str, list[float]] = {}
    for row in rows:
        if row["label"].startswith("dashboard, uncached"):
            for call in row["calls"]:
                calls.setdefault(call["name"], []).append(call["server"] / 1000)
    if calls:
        print("\nAPI calls of the dashboard page (uncached loads): server time, median")
        for name, times in calls.items():
            print(f"  {name:<40} {statistics.median(times):6.2f} s  (n={len(times)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5, help="loads per warm case")
    parser.add_argument("--cold", type=int, default=3, help="server starts (cold loads)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    parser.add_argument("--skip-breakdown", action="store_true")
    args = parser.parse_args()

    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, load {load_avg()}"
    )
    prepared = prepared_store(args.conversations, args.agents)
    with tempfile.TemporaryDirectory(prefix="chatlens-dashboard-") as tmp:
        store = Path(tmp) / "chatlens.duckdb"
        t0 = time.perf_counter()
        shutil.copyfile(prepared, store)
        print(
            f"copied {prepared.name} ({store.stat().st_size / 1e6:.0f} MB) to {tmp} "
            f"in {time.perf_counter() - t0:.1f} s"
        )
        seats = provision(
            store,
            {
                "default": {
                    "users": {"bench": ("admin", None, None)},
                    "keys": {"in": "ingest", "read": "read"},
                }
            },
        )
        bench = Bench(store, seats.emails["bench"], seats.keys)
        try:
            info = run_browser(bench, args.repeat, args.cold)
        finally:
            bench.stop()
        opened = [
            line
            for line in store.with_suffix(".server.log").read_text().splitlines()
            if "opened in" in line
        ]
        for line in opened:
            print(f"server log: {line.strip()}")
        summary(bench.rows)
        breakdown = []
        if not args.skip_breakdown:
            print("\nThe overview's figures in-process, uncached, one DuckDB thread:")
            breakdown = engine_breakdown(store, 3)
    if args.json:
        args.json.write_text(
            json.dumps(
                {**info, "rows": bench.rows, "breakdown": breakdown, "opened": opened}, indent=1
            )
        )
    print(f"done, load {load_avg()}")
    subprocess.run(["uptime"], check=False)


if __name__ == "__main__":
    main()
