"""API sync benchmark: `chatlens sync`'s library pulling N Intercom conversations from the
fake Intercom API of the tests (tests/fakes/apis.py, real HTTP on loopback, 50 a page plus
one `GET /conversations/{id}` each), folding, converting and committing them to a fresh
store; against the plain `chatlens import` of the same conversations as an export file, in
the same run.

The conversations are the six of the Intercom export fixture, repeated with new ids.
The fake answers from this process (uvicorn in a thread), so its own work is part of the
figure: a real platform's latency and rate limits, not measured here, decide a real sync's
pace (Intercom allows about 1,000 requests a minute per app).

Usage: python bench/bench_sync.py [--conversations 2000]
"""

from __future__ import annotations

import argparse
import copy
import platform
import sys
import tempfile
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.fakes

from tests.fakes.apis import IntercomFake, Served, intercom_conversations

from chatlens.app import connections
from chatlens.app.db import app_db_url, open_app_db
from chatlens.app.models import Connection
from chatlens.app.service import ensure_default_workspace
from chatlens.cli.sync import StoreWriter
from chatlens.connect.sync import Syncer
from chatlens.importers.intercom import IntercomImporter
from chatlens.ingest import import_file
from chatlens.store import open_store


def conversations(count: int) -> list[dict]:
    base = intercom_conversations()
    out = []
    for n in range(count):
        item = copy.deepcopy(base[n % len(base)])
        item["id"] = str(100000 + n)
        out.append(item)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=2000)
    args = parser.parse_args()
    items = conversations(args.conversations)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        export = folder / "export.json"
        export.write_bytes(orjson.dumps(items))
        started = time.perf_counter()
        with open_store(folder / "imported.duckdb") as store:
            imported = import_file(store, export, records=IntercomImporter().records(export))
        import_seconds = time.perf_counter() - started

        fake = IntercomFake()
        fake.conversations = items
        store_path = folder / "chatlens.duckdb"
        factory = open_app_db(app_db_url(store_path))
        with factory() as db:
            ensure_default_workspace(db, store_path)
        with Served(fake) as served:
            with factory() as db:
                api = connections.Api(served.url, fake.token)
                connections.create_connection(db, "default", "intercom", "bench", None, api)
                conn_id = db.query(Connection).one().id
            writer = StoreWriter()
            started = time.perf_counter()
            done = Syncer(factory, folder, writer.submit).run(conn_id)
            sync_seconds = time.perf_counter() - started
            writer.close()
        requests = len(fake.requests)
    events = imported.imported
    print(f"python {platform.python_version()}, {args.conversations:,} conversations")
    print(f"{'path':<28}{'seconds':>9}{'conv/s':>9}{'events':>9}{'events/s':>10}{'requests':>10}")
    print(
        f"{'sync (fake Intercom API)':<28}{sync_seconds:>9.1f}"
        f"{done.conversations / sync_seconds:>9.0f}{done.events:>9,}"
        f"{done.events / sync_seconds:>10.0f}{requests:>10,}"
    )
    print(
        f"{'import (export file)':<28}{import_seconds:>9.1f}"
        f"{args.conversations / import_seconds:>9.0f}{events:>9,}"
        f"{events / import_seconds:>10.0f}{'-':>10}"
    )


if __name__ == "__main__":
    main()
