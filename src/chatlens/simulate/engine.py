"""The simulation run: population, queue simulation, then events chunk by chunk.

Pass 1 plans every chunk of conversations (vectorised) and keeps only the queue inputs of
the chats that reach a human; one discrete-event run over the whole period routes them to
agents. Pass 2 plans each chunk again (same random stream, same plan) and emits its events
with the queue's results. Memory is bounded by the chunk size plus a few small arrays per
conversation. Random streams are numpy `Generator(PCG64([seed, stream, chunk]))`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from chatlens.simulate.aftermath import emit_goals, emit_ratings, emit_tickets
from chatlens.simulate.background import Schedules, emit_background, make_schedules
from chatlens.simulate.columns import Column, output_columns
from chatlens.simulate.config import SimConfig
from chatlens.simulate.emit import Chunk, emit_bot_phase, emit_start, emit_visits
from chatlens.simulate.human import emit_human
from chatlens.simulate.plan import make_plan
from chatlens.simulate.population import Population, populate
from chatlens.simulate.routing import QueueInput, QueueResult, run_queue
from chatlens.simulate.table import EventBuffer, EventChunk, arrow_schema
from chatlens.simulate.timing import Period, make_period, shifts

CHUNK_CONVERSATIONS = 20_000  # ~360k events: bounds memory, big enough for fast kernels
_POPULATION, _SCHEDULES, _PLAN, _DETAIL = range(4)


def _rng(cfg: SimConfig, stream: int, chunk: int = 0) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64([cfg.seed, stream, chunk]))


@dataclass
class World:
    """What every chunk needs: the population, schedules and the queue's results."""

    cfg: SimConfig
    period: Period
    pop: Population
    agent_team: np.ndarray
    schedules: Schedules
    queue: QueueResult
    human_start: list[int]  # per chunk: first index into the queue arrays
    bounds: list[tuple[int, int]]
    columns: list[Column]


def build_world(cfg: SimConfig) -> World:
    rng = _rng(cfg, _POPULATION)
    period = make_period(cfg, rng)
    pop = populate(cfg, period, rng)
    agent_team = (np.arange(cfg.agents) % cfg.teams).astype(np.int8)
    rng = _rng(cfg, _SCHEDULES)
    status = shifts(cfg, period, agent_team, rng)
    schedules = make_schedules(cfg, period, status, agent_team, rng)
    n = len(pop)
    bounds = [(lo, min(n, lo + CHUNK_CONVERSATIONS)) for lo in range(0, n, CHUNK_CONVERSATIONS)]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in QueueInput.__dataclass_fields__}
    human_start = [0]
    for c, (lo, hi) in enumerate(bounds):
        plan = make_plan(cfg, pop, lo, hi, _rng(cfg, _PLAN, c))
        h = np.flatnonzero(~np.isnan(plan.entry_off))
        human_start.append(human_start[-1] + len(h))
        parts["entry"].append(pop.t0[lo + h] + plan.route_off[h])
        for name in parts:
            if name != "entry":  # float32 halves the memory; plan values are float32 already
                value = getattr(plan, name)[h]
                parts[name].append(value.astype(np.float32) if value.dtype == np.float64 else value)
    inp = QueueInput(**{name: np.concatenate(p) for name, p in parts.items()})
    queue = run_queue(inp, agent_team, cfg.teams, cfg.concurrency, status, period.cutoff)
    return World(
        cfg, period, pop, agent_team, schedules, queue, human_start, bounds, output_columns(cfg)
    )


def chunk_events(world: World, c: int) -> Chunk:
    """All events of chunk `c` (its conversations and its time window) in a buffer."""
    cfg, pop = world.cfg, world.pop
    lo, hi = world.bounds[c]
    n = hi - lo
    plan = make_plan(cfg, pop, lo, hi, _rng(cfg, _PLAN, c))
    h = np.flatnonzero(~np.isnan(plan.entry_off))
    q = slice(world.human_start[c], world.human_start[c + 1])

    def spread(values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full(n, fill, dtype=values.dtype)
        out[h] = values[q]
        return out

    res = world.queue
    ch = Chunk(
        cfg=cfg,
        pop=pop,
        plan=plan,
        rng=_rng(cfg, _DETAIL, c),
        buf=EventBuffer(world.columns),
        lo=lo,
        conv=np.arange(lo, hi, dtype=np.int64),
        customer=pop.customer[lo:hi],
        t0=pop.t0[lo:hi],
        lang=pop.locale[lo:hi].astype(np.int64),
        offer=spread(res.offer, np.nan),
        join=spread(res.join, np.nan),
        agent=spread(res.agent, -1),
        declined_by=spread(res.declined_by, -1),
        xfer_agent=spread(res.xfer_agent, -1),
        r_join=spread(res.r_join, np.nan),
        r_agent=spread(res.r_agent, -1),
        close_t=np.full(n, np.nan),
        end_t=np.full(n, np.nan),
        good=np.zeros(n, dtype=bool),
        final_agent=np.full(n, -1, dtype=np.int16),
        abandoned=np.zeros(n, dtype=bool),
    )
    emit_start(ch)
    emit_bot_phase(ch)
    emit_human(ch, world.agent_team)
    emit_visits(ch)
    emit_ratings(ch)
    emit_goals(ch)
    emit_tickets(ch)
    w0 = world.period.start if c == 0 else float(pop.t0[lo])
    w1 = world.period.cutoff if hi == len(pop) else float(pop.t0[hi])
    emit_background(ch, world.schedules, world.period, (w0, w1), len(pop))
    return ch


def event_chunks(cfg: SimConfig) -> Iterator[EventChunk]:
    """The run's events as chunks of integer-coded columns, each sorted by time."""
    world = build_world(cfg)
    number = 0
    for c in range(len(world.bounds)):
        chunk = chunk_events(world, c).buf.build(world.period.cutoff, number)
        number += chunk.size
        yield chunk


def simulate_tables(cfg: SimConfig) -> Iterator[pa.Table]:
    """The simulated events as Arrow tables, one per chunk of conversations (bounded memory).

    Columns are the event fields of docs/events.md (attrs as `attrs.<key>`), `ts` is
    timestamp[ms, UTC]; each table is sorted by time, tables overlap in time slightly.
    """
    for chunk in event_chunks(cfg):
        yield chunk.to_table()


def _write_jsonl(cfg: SimConfig, path: Path) -> int:
    total = 0
    with path.open("wb") as out:
        for chunk in event_chunks(cfg):
            out.writelines(chunk.jsonl_parts())
            total += chunk.size
    return total


def _write_parquet(cfg: SimConfig, path: Path) -> int:
    columns = output_columns(cfg)
    # Dictionary-encode only the closed vocabularies: trying it on ids and times costs a
    # third of the write time for nothing.
    coded = [c.name for c in columns if c.kind == "dict"]
    total = 0
    with pq.ParquetWriter(
        path, arrow_schema(columns), compression="snappy", use_dictionary=coded
    ) as writer:
        for chunk in event_chunks(cfg):
            writer.write_table(chunk.to_table())
            total += chunk.size
    return total


def _write_csv(cfg: SimConfig, path: Path) -> int:
    writer = pcsv.CSVWriter(path, arrow_schema(output_columns(cfg), ts_as_text=True))
    total = 0
    try:
        for chunk in event_chunks(cfg):
            writer.write_table(chunk.to_table(ts_as_text=True))
            total += chunk.size
    finally:
        writer.close()
    return total


WRITERS: dict[str, Callable[[SimConfig, Path], int]] = {
    ".jsonl": _write_jsonl,
    ".parquet": _write_parquet,
    ".csv": _write_csv,
}


def write_events(cfg: SimConfig, path: Path | str) -> int:
    """Write the simulated events to `path` (.jsonl, .parquet or .csv); return their number.

    The file appears complete or not at all (written beside it, then renamed).
    """
    path = Path(path)
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise ValueError(
            f"cannot write {path.name!r}: choose a file name ending in .jsonl, .parquet or .csv"
        )
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        total = writer(cfg, tmp)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return total
