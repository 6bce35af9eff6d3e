"""The one door from the web layer to a workspace's data: `Reader(workspace, seat)`.

Every figure, list, transcript, menu, topic and export a page or an API route shows is read
through a Reader, which applies the seat's scope (chatlens.reading.scope) inside, once: a
route parses its input, makes one reader call and renders the answer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import orjson

from chatlens.errors import Forbidden, NotFound
from chatlens.metrics import Engine, Query, Result
from chatlens.metrics.incidents import downtime_incidents
from chatlens.reading import rows as read_rows
from chatlens.reading.live import live_status
from chatlens.reading.scope import (
    Filters,
    Seat,
    check_team_reports,
    conversation_filters,
    conversations_agent,
    figure_query,
    filter_options,
    may_read_conversation,
    narrowed,
    reads_live,
)
from chatlens.reports.comments import rating_comments
from chatlens.reports.drill import Drill
from chatlens.reports.export import conversations_sql, export_conversations
from chatlens.reports.ratings import csat_distribution
from chatlens.store.settings import Settings
from chatlens.topics import learn_next, list_topics, topic_detail
from chatlens.topics.read import failed_questions


class Engines(Protocol):
    """Where a Reader gets its engines (the server's `runtime.Workspace` is one)."""

    def engine(self) -> AbstractContextManager[Engine]: ...


class Audit(Protocol):
    """Where a Reader records the transcripts it shows and the rows it exports
    (`chatlens.app.audit.AuditTrail`): `record` returns once the record is kept, or raises,
    and then the read fails (no transcript leaves unaudited)."""

    def record(
        self,
        action: str,
        *,
        conversation_id: str | None = None,
        filters: dict[str, Any] | None = None,
        rows: int | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class Page:
    """One page of a list: `rows` of the `total`, `per_page` a page, page numbers from 1."""

    total: int
    page: int
    per_page: int
    rows: list[dict[str, Any]]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _local(moment: dt.datetime, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(zone).strftime(fmt)


class Reader:
    """What `seat` may read of `workspace` (module docstring). An ingest key reads nothing.
    Every transcript shown and every export written is recorded in `audit` before it is
    handed over (docs/privacy.md "Audit trail"); figures, lists and menus are not."""

    def __init__(self, workspace: Engines, seat: Seat, audit: Audit):
        if seat.role == "ingest":
            raise Forbidden("an ingest key cannot read figures: create a read key")
        self.workspace = workspace
        self.seat = seat
        self.audit = audit

    # -- the workspace --------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The workspace's settings (time zone, goals, industry...)."""
        with self.workspace.engine() as engine:
            return engine.settings

    @property
    def timezone(self) -> str:
        return self.settings.timezone

    @property
    def narrowed(self) -> bool:
        """Whether the seat's reads may be narrowed to its own (agents; pages say so)."""
        return narrowed(self.seat)

    # -- figures -------------------------------------------------------------------------
    def figures(self, query: Query) -> Result:
        """`query` run within the seat's scope (an agent's narrowed, or refused)."""
        scoped = figure_query(self.seat, query)
        with self.workspace.engine() as engine:
            return engine.run(scoped)

    def figures_many(self, queries: Sequence[Query]) -> list[Result]:
        """A page's independent queries, scoped, run two at a time, each on an engine of its
        own (the server gives DuckDB one thread per query; a page then uses both cores)."""
        scoped = [figure_query(self.seat, q) for q in queries]

        def one(query: Query) -> Result:
            with self.workspace.engine() as engine:
                return engine.run(query)

        return list(_POOL.map(one, scoped))

    def answer(self, query: Query) -> dict[str, Any]:
        """The query API's answer: `meta` (with `workspace`, and `scoped_to_agent` when the
        scope narrowed the query) and `rows`."""
        scoped = figure_query(self.seat, query)
        with self.workspace.engine() as engine:
            result = engine.run(scoped)
        meta = {**result.meta, "workspace": self.seat.workspace}
        if scoped.filters != query.filters:
            meta["scoped_to_agent"] = self.seat.agent_id
        return {"meta": meta, "rows": result.rows}

    def uptime(self, start: str, end: str) -> dict[str, Any]:
        """Availability, downtime and the incidents of the period. Health checks belong to
        the whole system: no filter and no seat's scope applies to them (the one read
        without scope)."""
        query = Query(metrics=("availability", "downtime_seconds"), start=start, end=end)
        with self.workspace.engine() as engine:
            row = engine.run(query).rows[0]
            return {**row, "incidents": downtime_incidents(engine, start, end)}

    # -- conversations -------------------------------------------------------------------
    def _listed(self, start: str, end: str, filters: Filters) -> Query:
        scoped = conversation_filters(self.seat, filters)
        return Query(metrics=("conversations",), start=start, end=end, filters=scoped)

    def conversations(
        self,
        start: str,
        end: str,
        filters: Filters,
        drill: Drill | None = None,
        *,
        page: int = 1,
        per_page: int = 50,
        columns: Sequence[str] = (),
    ) -> Page:
        """The conversations started in the period that match `filters` and `drill` (an
        agent: only those it took part in), oldest first, one page of them."""
        query = self._listed(start, end, filters)
        with self.workspace.engine() as engine:
            sql = conversations_sql(engine, query, drill)
            total, rows = read_rows.page_of(engine, sql, page, per_page, columns)
        return Page(total, page, per_page, rows)

    def _facts(self, engine: Engine, conversation_id: str) -> dict[str, Any]:
        facts = read_rows.conversation_facts(engine, conversation_id)
        if facts is None or not may_read_conversation(self.seat, facts):
            raise NotFound(f"no conversation {conversation_id!r} that you can read")
        return facts

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        """One conversation's facts and its events (each without its empty fields, `attrs`
        and `extra` as objects); NotFound if it does not exist or the seat may not read it."""
        with self.workspace.engine() as engine:
            facts = self._facts(engine, conversation_id)
            found = read_rows.conversation_events(engine, conversation_id)
        self.audit.record("transcript_view", conversation_id=conversation_id)
        events = []
        for row in found:
            event = {k: v for k, v in row.items() if v is not None}
            for key in ("attrs", "extra"):
                if key in event:
                    event[key] = orjson.loads(event[key])
            events.append(event)
        return {"conversation": facts, "events": events}

    def transcript(self, conversation_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """One conversation's facts and events as a transcript shows them (each event with
        `local`: its time in the workspace's zone)."""
        with self.workspace.engine() as engine:
            facts = self._facts(engine, conversation_id)
            events = read_rows.conversation_events(engine, conversation_id)
            zone = ZoneInfo(engine.settings.timezone)
        self.audit.record("transcript_view", conversation_id=conversation_id)
        for event in events:
            event["local"] = _local(event["ts"], zone, "%Y-%m-%d %H:%M:%S")
        return facts, events

    def export(
        self, start: str, end: str, filters: Filters, drill: Drill | None, fmt: str, out: Path
    ) -> int:
        """Write the conversations `conversations` would list to `out` as `fmt` (csv, xlsx,
        parquet); returns how many. Recorded with the period, the filters as the seat's scope
        applied them and the count; if the record fails, `out` is removed and the error
        raised."""
        query = self._listed(start, end, filters)
        with self.workspace.engine() as engine:
            count = export_conversations(engine, query, fmt, out, drill)
        asked: dict[str, Any] = {
            "from": start,
            "to": end,
            "format": fmt,
            "filters": {k: list(v) for k, v in sorted(query.filters.items())},
        }
        if drill:
            asked.update(drill.params())
        try:
            self.audit.record("conversation_export", filters=asked, rows=count)
        except BaseException:
            out.unlink(missing_ok=True)
            raise
        return count

    def csat_spread(self, start: str, end: str, filters: Filters) -> list[dict[str, int]]:
        """How the CSAT answers spread over the scores 1-5, counted as the figures are."""
        query = figure_query(
            self.seat, Query(metrics=("conversations",), start=start, end=end, filters=filters)
        )
        with self.workspace.engine() as engine:
            return csat_distribution(engine, query)

    def comments(self, start: str, end: str, filters: Filters) -> list[dict[str, Any]]:
        """The comments customers left with their ratings, newest first (each with `local`),
        from the conversations the seat may list."""
        query = self._listed(start, end, filters)
        with self.workspace.engine() as engine:
            found = rating_comments(engine, query)
            zone = ZoneInfo(engine.settings.timezone)
        for comment in found:
            comment["local"] = _local(comment["ts"], zone)
        return found

    # -- now and menus -------------------------------------------------------------------
    def live(self) -> dict[str, Any]:
        """Open conversations, the queue and agents online and away, now."""
        if not reads_live(self.seat):
            raise Forbidden("the live view shows the whole workspace: ask an admin for access")
        with self.workspace.engine() as engine:
            return live_status(engine.store.con, engine.facts_table, dt.datetime.now(dt.UTC))

    def filter_choices(self) -> dict[str, list[str]]:
        """The values the filter menus offer (an agent is offered only itself)."""
        with self.workspace.engine() as engine:
            return filter_options(self.seat, read_rows.filter_values(engine))

    def team_filter_choices(self) -> dict[str, list[str]]:
        """`filter_choices` for the team reports, which agent seats are refused."""
        check_team_reports(self.seat)
        return self.filter_choices()

    # -- topics --------------------------------------------------------------------------
    def topics(self, **period: Any) -> list[dict[str, Any]]:
        """FAQ topics with their figures (`period`: `start`/`end` instants, both optional),
        counted over the conversations the seat may list."""
        agent = conversations_agent(self.seat)
        with self.workspace.engine() as engine:
            return list_topics(engine.store, agent_id=agent, **period)

    def learn_next(self, *, limit: int, examples: int, **period: Any) -> list[dict[str, Any]]:
        """What the bot should learn next: topics by failed questions."""
        agent = conversations_agent(self.seat)
        with self.workspace.engine() as engine:
            return learn_next(
                engine.store, limit=limit, examples=examples, agent_id=agent, **period
            )

    def topic(self, topic_id: int, *, examples: int) -> dict[str, Any]:
        """One topic with example questions; NotFound if there is none of that id."""
        agent = conversations_agent(self.seat)
        with self.workspace.engine() as engine:
            found = topic_detail(engine.store, topic_id, examples=examples, agent_id=agent)
        if found is None:
            raise NotFound(f"no topic {topic_id}; GET /api/v1/topics lists them")
        return found

    def failed_questions(self, **period: Any) -> list[dict[str, Any]]:
        """The latest customer messages that led to a fallback or a handoff (each with
        `local`), from the conversations the seat may list."""
        agent = conversations_agent(self.seat)
        with self.workspace.engine() as engine:
            found = failed_questions(engine.store, agent_id=agent, **period)
            zone = ZoneInfo(engine.settings.timezone)
        for row in found:
            row["local"] = _local(row["ts"], zone)
        return found


_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chatlens-page")
