"""The topics API: FAQ topics with their figures, one topic with example questions, and what
the bot should learn next. An agent seat sees topics counted over, and example questions
taken from, only the conversations it took part in (the transcript rule of
`chatlens.reading.scope`, applied by the Reader)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi import Query as Param
from fastapi.responses import Response

from chatlens.server.auth import Reader
from chatlens.server.routes import Ctx, json_response, period_bounds, reader_of

router = APIRouter(prefix="/api/v1/topics", tags=["topics"])
FromParam = Annotated[
    str | None, Param(alias="from", description="First day (YYYY-MM-DD), workspace zone.")
]
ToParam = Annotated[str | None, Param(alias="to", description="Last day, inclusive.")]
Examples = Annotated[int, Param(ge=0, le=100, description="Example questions per topic.")]


@router.get("", summary="FAQ topics with questions, conversations, fallback/handoff questions")
def topics(who: Reader, ctx: Ctx, start: FromParam = None, end: ToParam = None) -> Response:
    reader = reader_of(ctx, who)
    rows = reader.topics(**period_bounds(start, end, reader.timezone))
    return json_response({"workspace": who.workspace, "topics": rows})


@router.get("/learn-next", summary="What the bot should learn next: topics by failed questions")
def learn(
    who: Reader,
    ctx: Ctx,
    start: FromParam = None,
    end: ToParam = None,
    limit: Annotated[int, Param(ge=1, le=200)] = 20,
    examples: Examples = 5,
) -> Response:
    reader = reader_of(ctx, who)
    period = period_bounds(start, end, reader.timezone)
    rows = reader.learn_next(limit=limit, examples=examples, **period)
    return json_response({"workspace": who.workspace, "topics": rows})


@router.get("/{topic_id}", summary="One topic: terms, figures, example questions")
def topic(topic_id: int, who: Reader, ctx: Ctx, examples: Examples = 10) -> Response:
    return json_response(reader_of(ctx, who).topic(topic_id, examples=examples))
