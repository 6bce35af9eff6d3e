"""How much memory DuckDB may use per open workspace (`chatlens serve --memory-limit`)."""

from __future__ import annotations

import re

from chatlens.errors import InputError

DEFAULT_MEMORY_LIMIT = "1GiB"
"""DuckDB's own default (80 % of the machine) let a server under ingest and reads grow from
0.3 to 1.7 GiB and stay there; beyond the limit, large queries spill to disk."""

_SIZE = re.compile(r"\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def memory_limit(value: str) -> str:
    """A DuckDB memory size ("512MB", "2GB", "1.5GiB"), checked before any store opens."""
    value = value.strip()
    if not _SIZE.fullmatch(value):
        raise InputError(f"memory limit {value!r}: give a size such as 512MB, 2GB or 1.5GiB")
    return value
