"""Webhook receiver benchmark: Intercom deliveries (each a new single-conversation
`conversation.user.created`, signed with X-Hub-Signature, checked by the server) against the
plain `POST /api/v1/events` path carrying the same conversation's events, in the same run.

Starts `chatlens serve` on a loopback port with a fresh store, a connection and an ingest key:
- throughput: CLIENTS concurrent clients (asyncio, this process) send COUNT deliveries as fast
  as answers come; then the same with one `/api/v1/events` request per conversation (its 2
  events, NDJSON);
- latency: single deliveries at RATE/s for SECONDS, open loop; p50 / p99 / max; the same for
  `/api/v1/events`;
- freshness: one new conversation delivered, then `/api/v1/query` polled until it counts it
  (the settle pause, $CHATLENS_CONNECT_QUIET_SECONDS, is part of it); the same for the events.

Usage: python bench/bench_connect.py [--count 5000] [--clients 8] [--rate 200] [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

import rawhttp
from bench_store import CACHE, build_store
from chatlens import topics
from chatlens.app import connections, service
from chatlens.app.db import app_db_url, open_app_db
from chatlens.store import open_store

SECRET = "bench-client-secret"
START = 1794042000  # 2026-11-07 09:00 UTC


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def delivery(n: int, base: int) -> tuple[dict[str, str], bytes]:
    """A signed conversation.user.created of conversation `base + n`."""
    conversation = str(base + n)
    item = {
        "type": "conversation",
        "id": conversation,
        "created_at": START + n,
        "updated_at": START + n,
        "open": True,
        "state": "open",
        "tags": {"type": "tag.list", "tags": []},
        "source": {
            "type": "conversation",
            "id": f"src{conversation}",
            "delivered_as": "customer_initiated",
            "body": "<p>Where is my parcel?</p>",
            "author": {"type": "user", "id": f"c{conversation}"},
            "url": "https://shop.example/track",
        },
        "conversation_parts": {
            "type": "conversation_part.list",
            "conversation_parts": [],
            "total_count": 0,
        },
    }
    payload = {
        "type": "notification_event",
        "topic": "conversation.user.created",
        "id": f"notif_{conversation}",
        "created_at": START + n,
        "data": {"type": "notification_event_data", "item": item},
    }
    body = orjson.dumps(payload)
    signature = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    return {"x-hub-signature": signature, "content-type": "application/json"}, body


def events(n: int, base: int) -> bytes:
    """The same conversation as plain events (what the delivery converts to)."""
    conversation = f"ev{base + n}"
    ts = dt.datetime.fromtimestamp(START + n, dt.UTC).isoformat()
    lines = [
        {
            "event_id": f"{conversation}:start",
            "type": "conversation_started",
            "ts": ts,
            "conversation_id": conversation,
            "channel": "web",
            "customer_id": f"c{conversation}",
        },
        {
            "event_id": f"{conversation}:m",
            "type": "message",
            "ts": ts,
            "sender": "customer",
            "conversation_id": conversation,
            "text": "Where is my parcel?",
        },
    ]
    return b"\n".join(orjson.dumps(line) for line in lines)


def seeded_store(conversations: int) -> Path:
    """A cached store of simulated conversations over 60 days with its facts and topics."""
    path = CACHE / f"connect-seed-{conversations}.duckdb"
    if not path.exists():
        partial = path.with_suffix(".partial")
        shutil.copyfile(build_store(conversations, days=60), partial)
        with open_store(partial) as seeded:
            started = time.perf_counter()
            built = topics.rebuild(seeded)
            took = time.perf_counter() - started
            print(f"topics of the seed store: {built.questions:,} questions, {took:.0f} s")
        partial.rename(path)
    return path


def split(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


async def throughput(url: str, requests: list[tuple[str, dict[str, str], bytes]], clients: int):
    """Requests/s with `clients` keep-alive connections, and the sorted answer times
    (rawhttp: the client's own cost is tens of microseconds a request)."""
    return await rawhttp.throughput(*split(url), requests, clients)


async def latency(url: str, requests: list[tuple[str, dict[str, str], bytes]], rate: float):
    """Open loop at `rate`/s; sorted times from when each request was due to its answer."""
    return await rawhttp.latency(*split(url), requests, rate)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process and its children (the topics'
    language detection) have used: what requests cost the server, whatever else runs."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def wait_idle(pid: int, most: float = 0.15, timeout: float = 600.0) -> None:
    """Until the server (and its children) used less than `most` s of CPU in a second: its
    settling, moving, facts and topics of what came before are done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < most:
            return


def pct(times: list[float], q: float) -> float:
    return times[min(len(times) - 1, int(q * len(times)))] * 1000


def counted(url: str, key: str) -> int:
    query = {"metrics": ["conversations"], "from": "2026-11-01", "to": "2026-11-30"}
    answer = httpx.post(
        url + "/api/v1/query", json=query, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    answer.raise_for_status()
    return int(answer.json()["rows"][0]["conversations"] or 0)


def freshness(url: str, read_key: str, path: str, headers: dict[str, str], body: bytes) -> float:
    before = counted(url, read_key)
    sent = time.perf_counter()
    httpx.post(url + path, content=body, headers=headers, timeout=60).raise_for_status()
    while counted(url, read_key) == before:
        time.sleep(0.02)
    return time.perf_counter() - sent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument(
        "--seed-conversations",
        type=int,
        default=30_000,
        help="start from a store of this many simulated conversations with its topics built "
        "(a server in use; a fresh one re-clusters its topics as they double, which takes "
        "the CPU the requests need); 0: an empty store",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-connect-"))
    store = root / "chatlens.duckdb"
    if args.seed_conversations:
        shutil.copyfile(seeded_store(args.seed_conversations), store)
    factory = open_app_db(app_db_url(store))
    with factory() as db:
        service.ensure_default_workspace(db, store)
        path = connections.create_connection(db, "default", "intercom", "b", SECRET).path
        ingest = service.create_key(db, "default", "ingest").key
        read = service.create_key(db, "default", "read").key
    factory.kw["bind"].dispose()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "chatlens.cli",
        "serve",
        "--db",
        str(store),
        "--port",
        str(port),
        "--refresh-seconds",
        "1",
    ]
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
        bearer = {"authorization": f"Bearer {ingest}", "content-type": "application/x-ndjson"}
        hooks = [(path, *delivery(n, 1_000_000)) for n in range(args.count)]
        plain = [("/api/v1/events", bearer, events(n, 1_000_000)) for n in range(args.count)]
        load = os.getloadavg()
        print(
            f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
            f"Python {platform.python_version()}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
            f"load average {load[0]:.1f} at the start"
        )
        # warm up both paths (first imports, the topics' models, caches), then let the
        # server settle and count them before anything is measured
        warm = [(path, *delivery(n, 5_000_000)) for n in range(200)]
        warm += [("/api/v1/events", bearer, events(n, 5_000_000)) for n in range(200)]
        before = counted(url, read)
        asyncio.run(throughput(url, warm, args.clients))
        while counted(url, read) < before + len(warm):
            time.sleep(0.2)
        time.sleep(12)  # the topics keeper's first tick: its first refresh imports sklearn
        for name, requests in (("webhooks", hooks), ("/api/v1/events", plain)):
            wait_idle(server.pid)
            before, cpu = counted(url, read), cpu_seconds(server.pid)
            rate, times = asyncio.run(throughput(url, requests, args.clients))
            answered = cpu_seconds(server.pid) - cpu
            while counted(url, read) < before + len(requests):
                time.sleep(0.1)
            stored = cpu_seconds(server.pid) - cpu
            print(
                f"{name}: {rate:,.0f} conversations/s with {args.clients} clients "
                f"(p50 {pct(times, 0.5):.1f} ms, p99 {pct(times, 0.99):.1f} ms); server CPU "
                f"{answered / len(requests) * 1000:.2f} ms a conversation until answered, "
                f"{stored / len(requests) * 1000:.2f} ms until counted"
            )
        count = int(args.rate * args.seconds)
        for name, requests in (
            ("webhooks", [(path, *delivery(n, 2_000_000)) for n in range(count)]),
            (
                "/api/v1/events",
                [("/api/v1/events", bearer, events(n, 2_000_000)) for n in range(count)],
            ),
        ):
            times = asyncio.run(latency(url, requests, args.rate))
            print(
                f"{name} at {args.rate:.0f}/s for {args.seconds:.0f} s: p50 "
                f"{pct(times, 0.5):.1f} ms, p99 {pct(times, 0.99):.1f} ms, "
                f"max {times[-1] * 1000:.1f} ms"
            )
        time.sleep(3)  # the settler and the facts catch up
        hook = freshness(url, read, path, *delivery(0, 3_000_000))
        event = freshness(url, read, "/api/v1/events", bearer, events(0, 3_000_000))
        print(
            f"freshness (answer sent -> counted by /api/v1/query): webhook {hook:.2f} s, "
            f"/api/v1/events {event:.2f} s"
        )
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
