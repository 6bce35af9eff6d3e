"""Website tracker benchmark: beacons to `POST /api/v1/track/{key}` (each a new visitor's
visit_started and page views, with the Origin check, the per-visitor limit and the journal)
against `POST /api/v1/events` carrying the same events with an ingest key, in the same run.

Starts `chatlens serve` on a loopback port with a fresh store, a tracker connection and
ingest and read keys:
- throughput: CLIENTS concurrent clients send COUNT requests as fast as answers come;
- latency: single requests at RATE/s for SECONDS, open loop; p50 / p99 / max;
- freshness: one new visitor's beacon, then `/api/v1/query` polled until `visitors` counts it.

Usage: python bench/bench_tracker.py [--count 3000] [--events 10] [--clients 8] [--rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from bench_connect import free_port, latency, pct, throughput
from chatlens.app import connections, service
from chatlens.app.db import app_db_url, open_app_db

ORIGIN = "https://shop.example.com"
START = 1794042000_000  # 2026-11-07 09:00 UTC, epoch ms
DAY = "2026-11-07"


def visit(n: int, base: int, size: int) -> list[dict[str, object]]:
    """Visitor `base + n`: a visit_started and `size - 1` page views, a second apart."""
    visitor = f"v{base + n:012d}"
    return [
        {
            "id": f"{visitor}-{i:04d}",
            "type": "page_view" if i else "visit_started",
            "ts": START + n * 1000 + i,
            "customer_id": visitor,
            "session_id": f"{visitor}-s",
            "page_url": f"{ORIGIN}/products/{i}",
        }
        for i in range(size)
    ]


def beacon(n: int, base: int, size: int) -> bytes:
    return orjson.dumps({"events": visit(n, base, size)})


def plain(n: int, base: int, size: int) -> bytes:
    """The same events as `POST /api/v1/events` takes them (NDJSON, explicit ids)."""
    lines = []
    for record in visit(n, base, size):
        line = {k: v for k, v in record.items() if k != "id"}
        line["event_id"] = "p-" + str(record["id"])
        line["channel"] = "web"
        lines.append(orjson.dumps(line))
    return b"\n".join(lines)


def visitors(url: str, key: str) -> int:
    query = {"metrics": ["visitors"], "from": DAY, "to": DAY}
    answer = httpx.post(
        url + "/api/v1/query", json=query, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    answer.raise_for_status()
    return int(answer.json()["rows"][0]["visitors"] or 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--events", type=int, default=10, help="events per request")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-tracker-"))
    store = root / "chatlens.duckdb"
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        service.ensure_default_workspace(db, store)
        made = connections.create_connection(db, "default", "tracker", "b", origins=[ORIGIN])
        assert made.site is not None
        track = f"/api/v1/track/{made.site.site_key}"
        ingest = service.create_key(db, "default", "ingest").key
        read = service.create_key(db, "default", "read").key
    factory.kw["bind"].dispose()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "chatlens.cli", "serve", "--db", str(store)]
    command += ["--port", str(port), "--refresh-seconds", "1"]
    with (root / "server.log").open("ab") as log:
        server = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(url + "/api/v1/health").status_code == 200:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        beacon_headers = {"origin": ORIGIN, "content-type": "text/plain"}
        bearer = {"authorization": f"Bearer {ingest}", "content-type": "application/x-ndjson"}
        size = args.events

        def requests(base: int, count: int) -> dict[str, list[tuple[str, dict[str, str], bytes]]]:
            return {
                "tracker": [(track, beacon_headers, beacon(n, base, size)) for n in range(count)],
                "/api/v1/events": [
                    ("/api/v1/events", bearer, plain(n, base, size)) for n in range(count)
                ],
            }

        load = os.getloadavg()
        print(
            f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
            f"load average {load[0]:.1f} at the start; {size} events per request"
        )
        for batch in requests(4_000_000, 50).values():  # warm up both paths (workspace open)
            asyncio.run(throughput(url, batch, args.clients))
        for name, batch in requests(1_000_000, args.count).items():
            rate, times = asyncio.run(throughput(url, batch, args.clients))
            print(
                f"{name}: {rate:,.0f} requests/s = {rate * size:,.0f} events/s with "
                f"{args.clients} clients (p50 {pct(times, 0.5):.1f} ms, "
                f"p99 {pct(times, 0.99):.1f} ms)"
            )
        for name, batch in requests(2_000_000, int(args.rate * args.seconds)).items():
            times = asyncio.run(latency(url, batch, args.rate))
            print(
                f"{name} at {args.rate:.0f}/s for {args.seconds:.0f} s: p50 "
                f"{pct(times, 0.5):.1f} ms, p99 {pct(times, 0.99):.1f} ms, "
                f"max {times[-1] * 1000:.1f} ms"
            )
        time.sleep(3)  # the facts catch up
        before = visitors(url, read)
        sent = time.perf_counter()
        httpx.post(url + track, content=beacon(0, 3_000_000, 2), headers=beacon_headers)
        while visitors(url, read) == before:
            time.sleep(0.02)
        print(f"freshness (beacon answered -> counted): {time.perf_counter() - sent:.2f} s")
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
