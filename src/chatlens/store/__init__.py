"""The store: one DuckDB file holding the events, the settings and the conversation facts."""

from chatlens.store.db import DEFAULT_DB, Store, open_store

__all__ = ["DEFAULT_DB", "Store", "open_store"]
