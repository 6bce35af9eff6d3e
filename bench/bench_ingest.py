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
- freshness: one new conversation, then polling /api/v1/query until it is counted;
- reads under ingest: `/api/v1/query` (a month by day, three metrics, a different period or
  metric set each time so no answer comes from the result cache) at READ_RATE queries/s, open
  loop, first with no ingest, then while CLIENTS clients ingest a second simulated set as fast
  as they can (after one untimed query of each shape: its SQL is compiled once, and once the
  server is idle: the topics built after the bulk took seconds of CPU); p50 / p99 / max of
  each, and the server's RSS (start, peak, end, and 5 s after the ingest).

Usage: python bench/bench_ingest.py [--conversations 20000] [--clients 4] [--rate 200]
       [--read-rate 4] [--read-seconds 20] [--memory-limit 1GiB] [--reads-only]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
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


def start_server(store: Path, port: int, memory: str | None) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "chatlens.cli", "serve", "--db", str(store)]
    command += ["--port", str(port), "--refresh-seconds", "1"]
    command += ["--memory-limit", memory] if memory else []
    with (store.parent / "server.log").open("ab") as log:  # shown if the bench fails
        process = subprocess.Popen(command, stdout=log, stderr=log)
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
    failed: list[bytes] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits) as http:

        async def one(line: bytes) -> None:
            sent = time.perf_counter()
            try:
                answer = await http.post("/api/v1/events", content=line)
            except httpx.TransportError:  # counted (seen on a machine at load 12)
                failed.append(line)
                return
            answer.raise_for_status()
            times.append(time.perf_counter() - sent)

        tasks = []
        start = time.perf_counter()
        for n in range(count):
            await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(lines[n])))
        await asyncio.gather(*tasks)
    times.sort()
    if failed:
        print(f"  ({len(failed)} of {count} single events got no answer: connection dropped)")
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


def rss_mib(pid: int) -> float:
    """Resident memory of a process (Linux /proc), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far (Linux /proc), s."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, limit: float = 120.0) -> float:
    """Wait until the server is idle (under 0.1 s of CPU per second: the topics built after
    the bulk, the facts caught up); returns the seconds waited."""
    started = time.perf_counter()
    last = cpu_seconds(pid)
    while time.perf_counter() - started < limit:
        time.sleep(1.0)
        now = cpu_seconds(pid)
        if now - last < 0.1:
            break
        last = now
    return time.perf_counter() - started


def read_queries(first_day: str) -> list[dict]:
    """Dashboard-like queries, each different (a period starting on another day, another
    metric set): none is answered from the result cache."""
    start = dt.date.fromisoformat(first_day)
    sets = [
        ["conversations", "first_response_time", "csat"],
        ["conversations", "missed_chats", "bot_resolution_rate"],
        ["first_response_time", "csat", "missed_chats"],
    ]
    return [
        {
            "metrics": sets[n % len(sets)],
            "from": str(start + dt.timedelta(days=n % 7)),
            "to": str(start + dt.timedelta(days=n % 7 + 29)),
            "every": "day",
        }
        for n in range(500)
    ]


class Reads:
    """Open-loop `/api/v1/query` requests and RSS samples until `stop` is set."""

    def __init__(self, url: str, key: str, queries: list[dict], rate: float, pid: int):
        self.url, self.key, self.queries, self.rate, self.pid = url, key, queries, rate, pid
        self.times: list[float] = []
        self.failed = 0
        self.rss: list[float] = []

    async def run(self, stop: asyncio.Event, offset: int) -> None:
        headers = {"Authorization": f"Bearer {self.key}"}
        async with httpx.AsyncClient(base_url=self.url, headers=headers, timeout=120) as http:

            async def one(query: dict) -> None:
                sent = time.perf_counter()
                try:
                    answer = await http.post("/api/v1/query", json=query)
                except httpx.TransportError:  # a kept-alive connection closed as it was reused
                    self.failed += 1
                    return
                answer.raise_for_status()
                self.times.append(time.perf_counter() - sent)

            tasks, start, n = [], time.perf_counter(), 0
            while not stop.is_set():
                self.rss.append(rss_mib(self.pid))
                query = self.queries[(offset + n) % len(self.queries)]
                tasks.append(asyncio.create_task(one(query)))
                n += 1
                await asyncio.sleep(max(0.0, start + n / self.rate - time.perf_counter()))
            await asyncio.gather(*tasks)
            self.rss.append(rss_mib(self.pid))

    def summary(self) -> str:
        times = sorted(self.times)
        p50, p99 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]
        return (
            f"{len(times)} queries: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {times[-1] * 1000:.0f} ms; server RSS {self.rss[0]:.0f} -> peak "
            f"{max(self.rss):.0f} -> {self.rss[-1]:.0f} MiB"
            + (f" ({self.failed} got no answer: connection dropped)" if self.failed else "")
        )


async def reads_alone(reads: Reads, seconds: float) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(reads.run(stop, 0))
    await asyncio.sleep(seconds)
    stop.set()
    await task


async def reads_during_ingest(
    reads: Reads, url: str, key: str, bodies: list[bytes], clients: int
) -> float:
    stop = asyncio.Event()
    task = asyncio.create_task(reads.run(stop, 250))
    rate = await throughput(url, key, bodies, clients)
    stop.set()
    await task
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--read-rate", type=float, default=4)
    parser.add_argument("--read-seconds", type=float, default=20)
    parser.add_argument("--memory-limit", default=None, help="the server's (default: its own)")
    parser.add_argument(
        "--reads-only", action="store_true", help="the bulk, then reads alone and under ingest"
    )
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
        direct = float("nan") if args.reads_only else baseline(bulk, root)
        print(f"baseline (validate + append in-process):     {direct:10,.0f} events/s")

        store = root / "chatlens.duckdb"
        factory = open_app_db(app_db_url(store))
        with factory() as db:
            service.ensure_default_workspace(db, store)
            ingest = service.create_key(db, "default", "ingest").key
            read = service.create_key(db, "default", "read").key
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(store, port, args.memory_limit)
        try:
            bodies = [b"\n".join(bulk[i : i + BATCH]) for i in range(0, len(bulk), BATCH)]
            rate = asyncio.run(throughput(url, ingest, bodies, args.clients))
            print(
                f"server, {args.clients} clients x batches of {BATCH}:  {rate:10,.0f} events/s"
                f"  ({rate / direct:.2f}x the in-process baseline)"
            )
            print(f"facts caught up with the bulk after:        {catch_up(url, read):10.2f} s")
            if not args.reads_only:  # single-event latency and freshness
                # messages of 500 ongoing conversations: every refresh has facts to recompute
                singles = [
                    orjson.dumps(
                        {
                            "type": "message",
                            "ts": f"2026-11-22T10:{n // 500 // 60 % 60:02d}:{n // 500 % 60:02d}Z",
                            "conversation_id": f"live-{n % 500}",
                            "sender": "customer" if n % 2 else "agent",
                            "agent_id": "a1",
                            "text": "is my order on its way?",
                        }
                    )
                    for n in range(int(args.rate * (args.seconds + 2)))
                ]
                asyncio.run(
                    latency(url, ingest, singles[-int(args.rate * 2) :], args.rate, 2)
                )  # warm-up
                p50, p99, worst = asyncio.run(
                    latency(url, ingest, singles, args.rate, args.seconds)
                )
                print(
                    f"single events at {args.rate:.0f}/s for {args.seconds:.0f} s: "
                    f"p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {worst * 1000:.1f} ms"
                )
                fresh = freshness(url, ingest, read)
                print(f"freshness (ingest -> counted by /query):     {fresh:10.2f} s")

            more = root / "more.jsonl"
            write_events(SimConfig(conversations=args.conversations * 2, days=30, seed=6), more)
            extra = [line for line in more.read_bytes().split(b"\n") if line]
            first_day = min(orjson.loads(line)["ts"][:10] for line in lines)
            queries = read_queries(first_day)
            with httpx.Client(base_url=url, timeout=120) as http:  # SQL compiled once per shape
                for query in queries[:3]:
                    auth = {"Authorization": f"Bearer {read}"}
                    http.post("/api/v1/query", json=query, headers=auth).raise_for_status()
            print(f"server idle after:                          {settle(server.pid):10.1f} s")
            alone = Reads(url, read, queries, args.read_rate, server.pid)
            asyncio.run(reads_alone(alone, args.read_seconds))
            print(f"reads at {args.read_rate:.0f}/s, no ingest:  {alone.summary()}")
            busy = Reads(url, read, queries, args.read_rate, server.pid)
            extra_bodies = [b"\n".join(extra[i : i + BATCH]) for i in range(0, len(extra), BATCH)]
            rate = asyncio.run(reads_during_ingest(busy, url, ingest, extra_bodies, args.clients))
            print(
                f"reads at {args.read_rate:.0f}/s while {args.clients} clients ingest "
                f"{len(extra):,} events at {rate:,.0f} events/s:  {busy.summary()}"
            )
            time.sleep(5)
            print(f"server RSS 5 s after the ingest: {rss_mib(server.pid):.0f} MiB")
        except BaseException:
            print((root / "server.log").read_text()[-3000:])
            raise
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()


if __name__ == "__main__":
    main()
