"""Simulator settings and the names derived from them (teams, bots, agents, channels)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TEAM_NAMES = ("billing", "tech", "sales", "returns", "vip", "partners")
BOT_NAMES = ("shopbot", "helpbot", "faqbot", "salesbot")
AGENT_NAMES = (
    "aino",
    "mikko",
    "elsa",
    "oskar",
    "sofia",
    "leo",
    "ida",
    "juho",
    "emma",
    "lucas",
    "sara",
    "ville",
    "chloe",
    "hugo",
    "putri",
    "budi",
    "linnea",
    "erik",
    "noora",
    "timo",
    "camille",
    "rizky",
    "maja",
    "antoine",
    "kaisa",
    "dewi",
    "nils",
    "lotta",
    "jules",
    "sanna",
)

CHANNELS = ("web", "messenger", "whatsapp", "email", "instagram")
CHANNEL_SHARE = (0.55, 0.15, 0.14, 0.08, 0.08)
LOCALES = ("en", "fi", "sv", "fr", "id")
LOCALE_SHARE = (0.38, 0.22, 0.15, 0.15, 0.10)
SEGMENTS = ("consumer", "business", "vip")
SEGMENT_SHARE = (0.70, 0.22, 0.08)
COUNTRIES = ("GB", "US", "IE", "DE", "FI", "SE", "FR", "BE", "ID")
# Country shares per locale (rows follow LOCALES, columns COUNTRIES).
COUNTRY_BY_LOCALE = (
    (0.40, 0.30, 0.10, 0.20, 0.0, 0.0, 0.0, 0.0, 0.0),
    (0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0),
    (0.0, 0.0, 0.0, 0.0, 0.2, 0.8, 0.0, 0.0, 0.0),
    (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.8, 0.2, 0.0),
    (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0),
)


@dataclass(frozen=True)
class SimConfig:
    """What to simulate. Equal configs (including `end`) give byte-identical output.

    `end` is the last simulated day (inclusive) in `timezone`; None means today's UTC date.
    Events never reach past the local midnight that ends `end`, nor past `stop_at` when given
    (the demo stops at the moment it runs, so nothing lies in the future): chats still
    running then are simply open, as they would be in a live export.
    """

    conversations: int = 10_000
    days: int = 30
    seed: int = 0
    end: datetime.date | None = None
    agents: int = 25
    teams: int = 3
    bots: int = 2
    timezone: str = "Europe/Helsinki"
    concurrency: int = 3  # chats an agent handles at once
    stop_at: datetime.datetime | None = None  # an aware instant

    def __post_init__(self) -> None:
        checks = [
            (self.conversations >= 1, "conversations must be at least 1"),
            (self.days >= 1, "days must be at least 1"),
            (self.agents >= 1, "agents must be at least 1 (live chat needs someone to answer)"),
            (1 <= self.teams <= self.agents, "teams must be between 1 and the number of agents"),
            (self.bots >= 0, "bots must be 0 (live chat only) or more"),
            (self.concurrency >= 1, "concurrency must be at least 1 chat per agent"),
            (self.seed >= 0, "seed must be a non-negative integer"),
            (
                self.stop_at is None or self.stop_at.tzinfo is not None,
                "stop_at must carry its time zone",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(f"SimConfig: {message}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"SimConfig: unknown time zone {self.timezone!r}; use an IANA name "
                "such as 'Europe/Helsinki' or 'UTC'"
            ) from None

    @property
    def last_day(self) -> datetime.date:
        """The inclusive last simulated day."""
        return self.end or datetime.datetime.now(datetime.UTC).date()

    @property
    def team_names(self) -> list[str]:
        return _names(TEAM_NAMES, self.teams, "team")

    @property
    def bot_names(self) -> list[str]:
        return _names(BOT_NAMES, self.bots, "bot")

    @property
    def agent_names(self) -> list[str]:
        return _names(AGENT_NAMES, self.agents, "agent")


def _names(pool: tuple[str, ...], n: int, prefix: str) -> list[str]:
    return [pool[i] if i < len(pool) else f"{prefix}{i + 1:02d}" for i in range(n)]
