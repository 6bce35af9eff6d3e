"""The support-operation simulator: realistic chatbot and live-chat events for demos,
tests and benchmarks.

    from chatlens.simulate import SimConfig, simulate_tables, write_events
    cfg = SimConfig(conversations=50_000, days=90, seed=7, end=datetime.date(2026, 11, 22))
    for table in simulate_tables(cfg):  # pyarrow.Table chunks, bounded memory
        ...
    n_events = write_events(cfg, Path("out.parquet"))  # .jsonl, .parquet or .csv

The same config (including `end`) always gives byte-identical output.
"""

from chatlens.simulate.config import SimConfig
from chatlens.simulate.engine import simulate_tables, write_events

__all__ = ["SimConfig", "simulate_tables", "write_events"]
