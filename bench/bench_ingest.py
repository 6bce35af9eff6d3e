"""Server ingest benchmark: throughput of batched events from concurrent clients, latency of
single events at a steady rate, and how soon figures reflect new events.

Starts `chatlens serve` (uvicorn) on a loopback port with a fresh store, then:
- baseline, in this process: the same events validated (as the server does) and appended to
  a store directly, no HTTP, one commit per 1,000 events;
- throughput: CLIENTS concurrent clients (asyncio, one child process) POST batches of 1,000
  events (NDJSON) as fast as answers come; every 2xx is after the commit;
- catch-up: how long the facts take to hold the whole bulk;
- latency: single-event requests (messages of 500 ongoing conversations) at RATE
  requests/s for SECONDS, open loop (sent on schedule, whatever the answers do), after a
  2 s warm-up; p50 / p99 / max;
- freshness: one new conversation, then polling /api/v1/query until it is counted.

Usage: python bench/bench_ingest.py [--conversations 20000] [--clients 4] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

from chatlens.app import service
from chatlens.app.db import app_db_url, open_app_db
from chatlens.events import parse_event, to_row
from chatlens.simulate import SimConfig, write_events
from chatlens.store import open_store
from chatlens.store.sql import run

BATCH = 1000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(store: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "chatlens.cli", "serve", "--db", str(store)]
    command += ["--port", str(port), "--refresh-seconds", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def baseline(lines: list[bytes], root: Path) -> float:
    """Events/s validating and appending directly, committing every BATCH events."""
    with open_store(root / "baseline.duckdb") as store:
        started = time.perf_counter()
        for i in range(0, len(lines), BATCH):
            rows = [to_row(parse_event(orjson.loads(line))) for line in lines[i : i + BATCH]]
            run(store.con, "BEGIN")
            store.append(rows)
            run(store.con, "COMMIT")
        return len(lines) / (time.perf_counter() - started)


async def throughput(url: str, key: str, bodies: list[bytes], clients: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
            while not queue.empty():
                answer = await http.post("/api/v1/events", content=queue.get_nowait())
                answer.raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(bodies) * BATCH / (time.perf_counter() - started)


async def latency(url: str, key: str, lines: list[bytes], rate: float, seconds: float):
    headers = {"Authorization": f"Bearer {key}"}
    count = int(rate * seconds)
    times: list[float] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as http:

        async def one(line: bytes) -> None:
            sent = time.perf_counter()
            answer = await http.post("/api/v1/events", content=line)
            answer.raise_for_status()
            times.append(time.perf_counter() - sent)

        tasks = []
        start = time.perf_counter()
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(lines[n])))
        await asyncio.gather(*tasks)
    times.sort()
    return times[len(times) // 2], times[int(len(times) * 0.99)], times[-1]


def catch_up(url: str, read: str) -> float:
    """Seconds until the facts hold everything just ingested (the count stops moving)."""
    query = {"metrics": ["conversations"], "from": "2020-01-01", "to": "2030-12-31"}
    started = time.perf_counter()
    last, stable_since = None, started
    with httpx.Client(
        base_url=url, timeout=60, headers={"Authorization": f"Bearer {read}"}
    ) as http:
        while True:
            count = http.post("/api/v1/query", json=query).json()["rows"][0]["conversations"]
            now = time.perf_counter()
            if count != last:
                last, stable_since = count, now
            elif now - stable_since >= 2.0:
                return stable_since - started
            time.sleep(0.1)


def freshness(url: str, ingest: str, read: str) -> float:
    event = {
        "type": "conversation_started",
        "ts": "2026-11-22T12:00:00Z",
        "conversation_id": "fresh-1",
        "channel": "web",
    }
    query = {"metrics": ["conversations"], "from": "2026-11-22", "to": "2026-11-22"}
    with httpx.Client(base_url=url, timeout=30) as http:
        auth = {"Authorization": f"Bearer {read}"}
        before = http.post("/api/v1/query", json=query, headers=auth).json()["rows"][0]
        sent = time.perf_counter()
        http.post("/api/v1/events", json=[event], headers={"Authorization": f"Bearer {ingest}"})
        while True:
            now = http.post("/api/v1/query", json=query, headers=auth).json()["rows"][0]
            if now["conversations"] == before["conversations"] + 1:
                return time.perf_counter() - sent
            time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = root / "events.jsonl"
        write_events(SimConfig(conversations=args.conversations, days=30, seed=5), events)
        lines = [line for line in events.read_bytes().split(b"\n") if line]
        bulk = lines[: len(lines) // BATCH * BATCH]
        print(f"{len(lines):,} simulated events; {len(bulk) // BATCH} batches of {BATCH}")
        direct = baseline(bulk, root)
        print(f"baseline (validate + append in-process):     {direct:10,.0f} events/s")

        store = root / "chatlens.duckdb"
        factory = open_app_db(app_db_url(store))
        with factory() as db:
            service.ensure_default_workspace(db, store)
            ingest = service.create_key(db, "default", "ingest").key
            read = service.create_key(db, "default", "read").key
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(store, port)
        try:
            bodies = [b"\n".join(bulk[i : i + BATCH]) for i in range(0, len(bulk), BATCH)]
            rate = asyncio.run(throughput(url, ingest, bodies, args.clients))
            print(
                f"server, {args.clients} clients x batches of {BATCH}:  {rate:10,.0f} events/s"
                f"  ({rate / direct:.2f}x the in-process baseline)"
            )
            print(f"facts caught up with the bulk after:        {catch_up(url, read):10.2f} s")
            # messages of 500 ongoing conversations: every refresh has facts to recompute
            singles = [
                orjson.dumps(
                    {"type": "message", "ts": f"2026-11-22T10:{n // 500 // 60 % 60:02d}:"
                     f"{n // 500 % 60:02d}Z", "conversation_id": f"live-{n % 500}",
                     "sender": "customer" if n % 2 else "agent", "agent_id": "a1",
                     "text": "is my order on its way?"}
                )
                for n in range(int(args.rate * (args.seconds + 2)))
            ]  # fmt: skip
            asyncio.run(
                latency(url, ingest, singles[-int(args.rate * 2) :], args.rate, 2)
            )  # warm-up
            p50, p99, worst = asyncio.run(latency(url, ingest, singles, args.rate, args.seconds))
            print(
                f"single events at {args.rate:.0f}/s for {args.seconds:.0f} s: "
                f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms"
            )
            fresh = freshness(url, ingest, read)
            print(f"freshness (ingest -> counted by /query):     {fresh:10.2f} s")
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()


if __name__ == "__main__":
    main()
