"""The output columns and the closed vocabularies the simulator draws from.

Events are built as integer codes into these vocabularies (numpy arrays, no per-event
Python objects) and only turned into strings when a chunk becomes an Arrow table or JSONL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from chatlens.simulate.config import CHANNELS, COUNTRIES, LOCALES, SEGMENTS, SimConfig
from chatlens.simulate.phrases import TOPICS
from chatlens.simulate.texts import BOOK

EVENT_TYPES = (
    "conversation_started",
    "message",
    "handoff_requested",
    "chat_offered",
    "chat_declined",
    "agent_joined",
    "transferred",
    "tag_added",
    "tag_removed",
    "conversation_closed",
    "conversation_reopened",
    "rating",
    "goal_completed",
    "ticket_created",
    "ticket_resolved",
    "visit_started",
    "page_view",
    "agent_status",
    "knowledge_item_added",
    "health_check",
)
SENDERS = ("customer", "bot", "agent", "system")
INITIATORS = ("customer", "business")
REASONS = ("fallback", "customer_request", "declined", "timeout", "customer_left", "inactivity")
RESOLUTIONS = ("resolved", "unresolved", "escalated")
RESOLVERS = ("bot", "agent", "customer")
RATING_KINDS = ("csat", "nps", "ces", "thumbs", "uss")
GOALS = ("purchase", "signup", "lead", "add_to_cart")
CURRENCIES = ("EUR",)
PRIORITIES = ("low", "medium", "high", "urgent")
URGENCIES = ("low", "normal", "high", "urgent")
STATUSES = ("online", "away", "offline")
COMPONENTS = ("bot", "widget")
INTENTS = (*TOPICS, "greeting")
CATEGORIES = ("logistics", "billing", "account", "sales", "technical", "general")
TAGS = (
    "shipping",
    "refund",
    "login",
    "billing",
    "subscription",
    "discount",
    "product_question",
    "complaint",
    "account",
    "bug",
    "vip",
    "feedback",
    "urgent_followup",
)
# Per topic (TOPICS order): the tag an agent puts on it and that tag's category; the
# category doubles as the help-desk ticket category.
TOPIC_TAG = (
    ("shipping", "logistics"),
    ("refund", "billing"),
    ("login", "account"),
    ("shipping", "logistics"),
    ("shipping", "logistics"),
    ("subscription", "billing"),
    ("shipping", "logistics"),
    ("billing", "billing"),
    ("billing", "billing"),
    ("discount", "sales"),
    ("product_question", "sales"),
    ("feedback", "general"),
    ("complaint", "general"),
    ("refund", "logistics"),
    ("account", "account"),
    ("bug", "technical"),
    ("product_question", "sales"),
    ("feedback", "general"),
    ("product_question", "sales"),
    ("billing", "billing"),
)
CANNED = ("greeting", "anything_else", *(f"kb_{t}" for t in TOPICS))
SITE = "https://shop.example.com"
PATHS = (
    "/",
    "/products/trail-sneaker",
    "/products/wool-sweater",
    "/products/rain-jacket",
    "/collections/sale",
    "/cart",
    "/checkout",
    "/account",
    "/account/orders",
    "/help/shipping",
    "/help/returns",
    "/help/payments",
    "/pricing",
    "/gift-cards",
    "/size-guide",
    "/contact",
    "/blog/autumn-trends",
)
URLS = tuple(SITE + p for p in PATHS)
# The page a customer is typically on when asking about each topic (TOPICS order).
TOPIC_PAGE = tuple(
    PATHS.index(p)
    for p in (
        "/account/orders",
        "/help/returns",
        "/account",
        "/help/shipping",
        "/help/shipping",
        "/account",
        "/account/orders",
        "/account/orders",
        "/checkout",
        "/cart",
        "/products/trail-sneaker",
        "/contact",
        "/help/returns",
        "/help/returns",
        "/account",
        "/checkout",
        "/pricing",
        "/contact",
        "/size-guide",
        "/gift-cards",
    )
)

ColumnKind = Literal["id", "dict", "bool", "float", "ts"]


@dataclass(frozen=True)
class Column:
    """One output column: ids are numbers rendered as prefix + zero-padded digits."""

    name: str
    kind: ColumnKind
    values: tuple[str, ...] = ()
    prefix: str = ""
    width: int = 0

    @property
    def json_key(self) -> str:
        return self.name.removeprefix("attrs.")


def index(values: tuple[str, ...]) -> dict[str, int]:
    return {v: i for i, v in enumerate(values)}


TYPE = index(EVENT_TYPES)
SENDER = index(SENDERS)
REASON = index(REASONS)
RESOLUTION = index(RESOLUTIONS)
RESOLVER = index(RESOLVERS)
KIND = index(RATING_KINDS)
STATUS = index(STATUSES)
CANNED_ID = index(CANNED)
TAG = index(TAGS)
CATEGORY = index(CATEGORIES)


def output_columns(cfg: SimConfig) -> list[Column]:
    """All columns in output order; `attrs.*` last (nested as `attrs` in JSONL)."""
    width = max(7, len(str(cfg.conversations * 4)))
    text = tuple(BOOK.strings)
    agents = tuple(cfg.agent_names)
    return [
        Column("event_id", "id", prefix=f"sim{cfg.seed}-"),
        Column("type", "dict", EVENT_TYPES),
        Column("ts", "ts"),
        Column("conversation_id", "id", prefix="conv-", width=width),
        Column("customer_id", "id", prefix="cust-", width=width),
        Column("agent_id", "dict", agents),
        Column("bot_id", "dict", tuple(cfg.bot_names)),
        Column("team", "dict", tuple(cfg.team_names)),
        Column("channel", "dict", CHANNELS),
        Column("initiated_by", "dict", INITIATORS),
        Column("page_url", "dict", URLS),
        Column("sender", "dict", SENDERS),
        Column("text", "dict", text),
        Column("fallback", "bool"),
        Column("welcome", "bool"),
        Column("canned_response_id", "dict", CANNED),
        Column("private", "bool"),
        Column("intent", "dict", INTENTS),
        Column("confidence", "float"),
        Column("reason", "dict", REASONS),
        Column("from_agent_id", "dict", agents),
        Column("tag", "dict", TAGS),
        Column("category", "dict", CATEGORIES),
        Column("priority", "dict", PRIORITIES),
        Column("resolution", "dict", RESOLUTIONS),
        Column("resolved_by", "dict", RESOLVERS),
        Column("kind", "dict", RATING_KINDS),
        Column("score", "float"),
        Column("comment", "dict", text),
        Column("goal", "dict", GOALS),
        Column("value", "float"),
        Column("currency", "dict", CURRENCIES),
        Column("ticket_id", "id", prefix="tck-", width=width),
        Column("urgency", "dict", URGENCIES),
        Column("session_id", "id", prefix="ses-", width=width),
        Column("status", "dict", STATUSES),
        Column("item_id", "id", prefix="kb-", width=5),
        Column("component", "dict", COMPONENTS),
        Column("up", "bool"),
        Column("attrs.segment", "dict", SEGMENTS),
        Column("attrs.country", "dict", COUNTRIES),
        Column("attrs.locale", "dict", LOCALES),
    ]
