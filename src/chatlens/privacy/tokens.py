"""The token an erased id becomes: HMAC-SHA256 of the id under a random key of the workspace.

The same person erased twice (a late event arrived in between) becomes the same token, so
the figures keep counting them as one. The key is made at the first request and kept in the
store (table `privacy_key`, never shown by the API or an export): nobody can turn a token
back into the id; whoever holds the store file can only test a guessed id against it."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import duckdb

from chatlens.store.sql import run

TARGET_KINDS = ("customer", "agent")
PREFIX = "erased-"


def workspace_key(con: duckdb.DuckDBPyConnection) -> bytes:
    """The workspace's token key (made on first use)."""
    found = run(con, "SELECT key FROM privacy_key WHERE id = 1")
    if not found:
        run(
            con,
            "INSERT INTO privacy_key VALUES (1, $key) ON CONFLICT DO NOTHING",
            {"key": secrets.token_bytes(32)},
        )
        found = run(con, "SELECT key FROM privacy_key WHERE id = 1")
    return bytes(found[0][0])


def token(key: bytes, kind: str, value: str) -> str:
    """The token of one id of one kind (customer, agent, session): `erased-` and 32 hex
    digits (128 bits of the HMAC)."""
    digest = hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]
