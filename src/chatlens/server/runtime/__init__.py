"""What the server keeps running per workspace: the ingest journal, the writer, the facts
refresher, the engine pool, the dedupe index of stored ids."""
