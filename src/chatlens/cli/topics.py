"""`chatlens topics`: what customers ask, grouped into topics, and what the bot should learn
next."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.table import Table

from chatlens import topics
from chatlens.cli.common import DbOption, fail, out
from chatlens.errors import ChatlensError
from chatlens.store import open_store
from chatlens.store.facts import refresh_facts
from chatlens.store.settings import load_settings
from chatlens.topics import (
    learn_next,
    learn_next_csv,
    list_topics,
    rasa_nlu_yaml,
    topic_detail,
)

topics_app = typer.Typer(
    help="FAQ topics: questions grouped by content, and what the bot should learn next.",
    no_args_is_help=True,
)
EXPORT_WHAT = ("learn-next", "topics")
EXPORT_FORMATS = ("csv", "rasa", "json")


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")


def _period(start: str | None, end: str | None, db: Path | None) -> dict[str, Any]:
    """--from/--to (dates, both inclusive, in the workspace time zone) as UTC bounds."""
    from zoneinfo import ZoneInfo

    if start is None and end is None:
        return {}
    with open_store(db, read_only=True) as store:
        zone = ZoneInfo(load_settings(store.con).timezone)
    try:
        lo = dt.date.fromisoformat(start or "1970-01-01")
        hi = dt.date.fromisoformat(end or "2999-12-30") + dt.timedelta(days=1)
    except ValueError as exc:
        raise fail(f"--from/--to: {exc} (expected YYYY-MM-DD)") from None
    return {
        "start": dt.datetime.combine(lo, dt.time(), zone),
        "end": dt.datetime.combine(hi, dt.time(), zone),
    }


StartOption = Annotated[str | None, typer.Option("--from", help="First day (YYYY-MM-DD).")]
EndOption = Annotated[str | None, typer.Option("--to", help="Last day, inclusive.")]


@topics_app.command("rebuild")
def rebuild_cmd(
    seed: Annotated[int, typer.Option(help="Clustering seed (same seed, same topics).")] = 0,
    model: Annotated[
        str,
        typer.Option(
            help="tfidf (character n-grams, any language) or embeddings (sentence embeddings, "
            "English-oriented; needs pip install 'chatlens[embeddings]' torch==2.13.0)."
        ),
    ] = "tfidf",
    db: DbOption = None,
) -> None:
    """Re-cluster every question into new topics (new conversations are otherwise assigned
    to the existing topics as they arrive)."""
    try:
        with open_store(db) as store:
            refresh_facts(store)
            result = topics.rebuild(store, seed, backend=model)
    except ChatlensError as exc:
        raise fail(str(exc)) from None
    out.print(
        f"{result.topics} topics from {result.questions:,} questions ({result.distinct:,} "
        f"distinct) of {result.conversations:,} conversations in {result.seconds:.1f} s"
    )


@topics_app.command("list")
def list_cmd(
    start: StartOption = None,
    end: EndOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    db: DbOption = None,
) -> None:
    """Every topic with its questions, conversations and fallback/handoff questions."""
    period = _period(start, end, db)
    with open_store(db, read_only=True) as store:
        rows = list_topics(store, **period)
    if fmt == "json":
        sys.stdout.write(orjson.dumps(rows).decode() + "\n")
        return
    if not rows:
        out.print("no topics yet: import events, then `chatlens topics rebuild`")
        return
    table = Table(
        "id",
        "topic",
        "lang",
        "questions",
        "convs",
        "fallback",
        "handoff",
        "most representative question",
    )
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["name"],
            r["language"] or "",
            f"{r['questions']:,}",
            f"{r['conversations']:,}",
            f"{r['fallback_questions']:,}",
            f"{r['handoff_questions']:,}",
            r["representative"],
        )
    out.print(table)


@topics_app.command("show")
def show_cmd(
    topic_id: Annotated[int, typer.Argument(help="The topic's id (chatlens topics list).")],
    examples: Annotated[int, typer.Option(help="How many example questions.")] = 10,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
    db: DbOption = None,
) -> None:
    """One topic: its terms, figures and example questions (failed ones first)."""
    with open_store(db, read_only=True) as store:
        topic = topic_detail(store, topic_id, examples=examples)
    if topic is None:
        raise fail(f"no topic {topic_id}; `chatlens topics list` shows them")
    if fmt == "json":
        sys.stdout.write(orjson.dumps(topic).decode() + "\n")
        return
    out.print(f"topic {topic['id']}: {topic['name']} ({topic['language']})", markup=False)
    out.print(f"terms: {', '.join(topic['terms'] or [])}", markup=False)
    out.print(f"most representative: {topic['representative']}", markup=False)
    out.print(
        f"questions {topic['questions']:,} in {topic['conversations']:,} conversations; "
        f"before a fallback {topic['fallback_questions']:,}, before a handoff "
        f"{topic['handoff_questions']:,}"
    )
    for e in topic["examples"]:
        mark = "fallback" if e["before_fallback"] else "handoff" if e["before_handoff"] else ""
        out.print(
            f"  - {e['text']}  [{e['conversation_id']}{', ' + mark if mark else ''}]",
            markup=False,
            highlight=False,
        )


@topics_app.command("export")
def export_cmd(
    what: Annotated[
        str,
        typer.Argument(help="learn-next (ranked by fallback + handoff questions) or topics (all)"),
    ] = "learn-next",
    fmt: Annotated[str, typer.Option("--format", help="csv, rasa (NLU YAML) or json")] = "csv",
    out_file: Annotated[Path | None, typer.Option("--out", help="File (default stdout).")] = None,
    limit: Annotated[int, typer.Option(help="How many topics at most.")] = 50,
    examples: Annotated[int, typer.Option(help="Example questions per topic.")] = 10,
    start: StartOption = None,
    end: EndOption = None,
    db: DbOption = None,
) -> None:
    """What the bot should learn next (or every topic) as CSV, Rasa NLU training data (one
    intent per topic) or JSON."""
    if what not in EXPORT_WHAT:
        raise fail(f"unknown export {what!r}; expected one of {', '.join(EXPORT_WHAT)}")
    if fmt not in EXPORT_FORMATS:
        raise fail(f"unknown format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
    period = _period(start, end, db)
    with open_store(db, read_only=True) as store:
        if what == "learn-next":
            rows = learn_next(store, limit=limit, examples=examples, **period)
        else:
            rows = list_topics(store, **period)[:limit]
            for row in rows:
                row["examples"] = (topic_detail(store, row["id"], examples=examples) or {}).get(
                    "examples", []
                )
    if fmt == "json":
        text = orjson.dumps(rows).decode() + "\n"
    elif fmt == "csv":
        if what == "topics":  # the same columns: failed counts and examples
            for row in rows:
                row.setdefault("failed_questions", 0)
        text = learn_next_csv(rows)
    else:
        text = rasa_nlu_yaml(rows)
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        out.print(f"wrote {len(rows)} topics to {out_file}")
