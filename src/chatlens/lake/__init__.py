"""The event lake: date-partitioned Parquet on a local path or an S3-compatible store.

Layout (what Spark, DuckDB, Trino and Athena read natively, hive-style partitions)::

    ROOT/events/date=YYYY-MM-DD/part-<unique>.parquet    the events, by the UTC date of `ts`
    ROOT/facts/date=YYYY-MM-DD/part-<unique>.parquet     conversation facts, by start date
    ROOT/stints/date=YYYY-MM-DD/part-<unique>.parquet    agent stints, by their start date

The events' columns are the store's rows (`chatlens.store.db.ROW_SCHEMA`). See layout.py.
"""
