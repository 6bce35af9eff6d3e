"""A lean HTTP/1.1 client for the server benchmarks: one keep-alive connection per client,
requests prebuilt as bytes, answers read by their Content-Length.

httpx costs about a millisecond of CPU per request, which on a 2-core machine is as much as
the server's own work and capped the benchmarks near 1,000 requests/s whatever the server
did; this client costs tens of microseconds, so the figures measure the server. It speaks only
what chatlens's server answers (Content-Length bodies, no chunking) and is not a library.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

Request = tuple[str, Mapping[str, str], bytes]
"""path, headers, body of a POST."""


def build(host: str, path: str, headers: Mapping[str, str], body: bytes) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"host: {host}", f"content-length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """One request's bytes out; the status and body of its answer."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length = 0
        for line in lines[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        body = await self.reader.readexactly(length) if length else b""
        return status, body

    def close(self) -> None:
        self.writer.close()


def check(status: int, body: bytes) -> None:
    if not 200 <= status < 300:
        raise RuntimeError(f"answered {status}: {body[:300]!r}")


async def throughput(
    host: str, port: int, requests: Sequence[Request], clients: int
) -> tuple[float, list[float]]:
    """Requests per second with `clients` connections each sending its next request as soon
    as the last is answered; and the sorted answer times (seconds)."""
    wire = [build(host, *request) for request in requests]
    times: list[float] = []
    position = 0

    async def client() -> None:
        nonlocal position
        connection = await Connection.open(host, port)
        try:
            while position < len(wire):
                request = wire[position]
                position += 1
                sent = time.perf_counter()
                check(*await connection.send(request))
                times.append(time.perf_counter() - sent)
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(wire) / (time.perf_counter() - started), sorted(times)


async def latency(
    host: str, port: int, requests: Sequence[Request], rate: float, connections: int = 64
) -> list[float]:
    """Open loop: request i is sent at i / rate seconds on a free connection of a pool
    (opened first), whatever became of the earlier ones; the sorted answer times, counted
    from when each was due (so a queue behind a slow answer counts against the server)."""
    wire = [build(host, *request) for request in requests]
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    opened = [await Connection.open(host, port) for _ in range(connections)]
    for connection in opened:
        pool.put_nowait(connection)
    times: list[float] = []

    async def one(request: bytes, due: float) -> None:
        connection = await pool.get()
        try:
            check(*await connection.send(request))
        finally:
            pool.put_nowait(connection)
        times.append(time.perf_counter() - due)

    tasks = []
    started = time.perf_counter()
    for i, request in enumerate(wire):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(request, due)))
    await asyncio.gather(*tasks)
    for connection in opened:
        connection.close()
    return sorted(times)
