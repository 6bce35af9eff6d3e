"""Workspace settings (docs/metrics.md "Workspace settings"), declared as data with their help text.

Settings are applied when figures are computed, so changing one changes history consistently.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

import duckdb
import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from chatlens.errors import InputError, did_you_mean
from chatlens.events import redact
from chatlens.store import business_hours
from chatlens.store.sql import run

INDUSTRIES = ("retail", "e-commerce", "healthcare", "finance", "other")
"""The industries benchmark bands name (chatlens.metrics.targets); `other`: only the bands
that name no industry."""


class Settings(BaseModel):
    """Every setting with its default; the field descriptions are the documentation."""

    # validate_default: a default of 60 is stored as 60.0, like a value someone set, so the
    # same settings always give the same facts key
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    timezone: str = Field("UTC", description="IANA time zone that days and weeks are cut in.")
    business_hours: dict[str, Any] | None = Field(
        None,
        description="When the team is open, in the time zone, for the *_business_hours "
        "variants: intervals per weekday, holidays, schedules from a date, e.g. "
        '{"schedules": [{"hours": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}}], '
        '"holidays": {"2026-12-25": []}} (see docs/metrics.md, Business hours).',
    )
    sla_first_response_seconds: float = Field(
        60, ge=0, description="First responses within this many seconds meet the SLA."
    )
    missed_chat_grace_seconds: float = Field(
        60,
        ge=0,
        description="A customer who leaves the queue within this many seconds (the limit "
        "included) is not a missed chat.",
    )
    fcr_followup_days: float = Field(
        7,
        ge=0,
        description="A new conversation of the customer within this many days after "
        "the close (the limit included) means the first contact did not resolve it.",
    )
    attribution_days: float = Field(
        7,
        ge=0,
        description="A goal completion is credited to the customer's latest conversation "
        "that started at most this many days before it.",
    )
    conversion_goals: list[str] = Field(
        default_factory=lambda: ["purchase", "signup", "lead"],
        description="Goal names (`goal_completed` goal) that count as conversions "
        "(conversion_rate, conversions, time_to_conversion).",
    )
    returning_window_days: float = Field(
        30, ge=0, description="A customer with a conversation this many days before is returning."
    )
    cost_per_agent_conversation: float | None = Field(None, ge=0)
    cost_per_bot_conversation: float | None = Field(None, ge=0)
    currency: str | None = Field(None, description="Currency of the costs, e.g. EUR.")
    canned_seconds_saved: float | None = Field(
        None, ge=0, description="Seconds an agent saves per canned message (time saved)."
    )
    fallback_phrases: list[str] = Field(
        default_factory=list, description="Added to the multilingual default fallback phrases."
    )
    goals: dict[str, Any] = Field(
        default_factory=dict,
        description='Targets per metric id: {"csat": {"min": 4.5}, "first_response_time_p90": '
        '{"max": 60}}; the shorthand {"csat": 4.5} takes the metric\'s direction.',
    )
    industry: str = Field(
        "retail",
        description=f"Industry whose benchmark bands values are classified against: "
        f"{', '.join(INDUSTRIES)}.",
    )

    redact: list[str] = Field(
        default_factory=lambda: list(redact.DEFAULT_KINDS),
        description="Personal data replaced by a placeholder at ingest, before anything is "
        f"stored: any of {', '.join(redact.KINDS)} (see docs/privacy.md).",
    )
    redact_patterns: dict[str, str] = Field(
        default_factory=dict,
        description='Custom patterns redacted at ingest, by name: {"order": "ORD-\\\\d{6}"} '
        "replaces matches by [custom:order] (Python regular expressions).",
    )
    retention_text_days: float | None = Field(
        None,
        gt=0,
        description="Days message text is kept (counted from the event time); then blanked. "
        "null: kept forever.",
    )
    retention_comment_days: float | None = Field(
        None, gt=0, description="Days rating comments are kept; then blanked. null: kept forever."
    )
    retention_page_url_days: float | None = Field(
        None, gt=0, description="Days page URLs are kept; then blanked. null: kept forever."
    )
    retention_attrs_days: float | None = Field(
        None, gt=0, description="Days free-form attrs are kept; then emptied. null: kept forever."
    )
    retention_events_days: float | None = Field(
        None,
        gt=0,
        description="Days events are kept at all: a conversation goes whole once its last "
        "event is older. null: kept forever.",
    )
    retention_audit_days: float | None = Field(
        365,
        gt=0,
        description="Days the audit trail keeps a record of a transcript view or an export "
        "(counted from the read). null: kept forever.",
    )

    @field_validator("redact")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        return redact.check_kinds(value)

    @field_validator("redact_patterns")
    @classmethod
    def _usable_patterns(cls, value: dict[str, str]) -> dict[str, str]:
        return redact.check_patterns(value)

    @field_validator("business_hours", mode="before")
    @classmethod
    def _hours(cls, value: Any) -> dict[str, Any] | None:
        return business_hours.canonical(business_hours.parse(value))

    @field_validator("industry")
    @classmethod
    def _known_industry(cls, value: str) -> str:
        if value not in INDUSTRIES:
            hint = did_you_mean(value, INDUSTRIES)
            raise ValueError(f"{value!r} is not one of {', '.join(INDUSTRIES)}{hint}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not an IANA time zone name (e.g. Europe/Helsinki)"
            ) from None
        return value


DEFAULT_FALLBACK_PHRASES: tuple[str, ...] = (
    "sorry, i didn't understand",
    "sorry, i did not understand",
    "sorry, i don't understand",
    "i didn't get that",
    "en ymmärtänyt",
    "en ymmärrä",
    "jag förstod inte",
    "jag förstår inte",
    "je n'ai pas compris",
    "je ne comprends pas",
    "saya tidak mengerti",
    "saya tidak paham",
)
"""Lower-case substrings that mark a bot message as a fallback when it has no flag."""


def fallback_phrases(settings: Settings) -> list[str]:
    extra = [p.strip().lower() for p in settings.fallback_phrases if p.strip()]
    return list(dict.fromkeys([*DEFAULT_FALLBACK_PHRASES, *extra]))


def redactor(settings: Settings) -> redact.Redactor:
    """The workspace's redaction rules, compiled."""
    return redact.Redactor(settings.redact, settings.redact_patterns)


def conversion_goals(settings: Settings) -> list[str]:
    """The workspace's conversion goals, each once, blanks dropped."""
    return list(dict.fromkeys(g.strip() for g in settings.conversion_goals if g.strip()))


def make_settings(values: dict[str, Any]) -> Settings:
    """Validated settings; a bad value is an InputError naming the setting."""
    try:
        return Settings(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                hint = did_you_mean(name, Settings.model_fields)
                msg = f"unknown setting{hint}; known: {', '.join(Settings.model_fields)}"
            problems.append(f"setting {name}: {msg}")
        raise InputError("; ".join(problems)) from None


SettingCheck = Callable[[Any], Any]
_CHECKS: dict[str, SettingCheck] = {}


def register_check(key: str, check: SettingCheck) -> None:
    """A check of a setting's value by a layer above the store (the goals need the metric
    catalogue: chatlens.metrics.targets registers theirs). It runs when a value is set and
    returns it normalised; a value stored before the check existed is still read."""
    _CHECKS[key] = check


def check_changes(current: Settings, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Every change checked (and normalised) before any is saved: all saved, or none."""
    checked = {}
    for key, value in changes.items():
        if key not in Settings.model_fields:
            hint = did_you_mean(key, Settings.model_fields)
            known = ", ".join(Settings.model_fields)
            raise InputError(f"unknown setting {key!r}{hint}; known: {known}")
        checked[key] = _CHECKS[key](value) if key in _CHECKS else value
    make_settings({**current.model_dump(), **checked})
    return checked


def load_settings(con: duckdb.DuckDBPyConnection) -> Settings:
    rows = con.execute("SELECT key, value FROM settings").fetchall()
    return make_settings({key: orjson.loads(value) for key, value in rows})


def save_setting(con: duckdb.DuckDBPyConnection, key: str, value: Any) -> Settings:
    """Validate and store one setting; returns the new settings."""
    current = load_settings(con)
    value = check_changes(current, {key: value})[key]
    updated = make_settings({**current.model_dump(), key: value})
    run(
        con,
        "INSERT OR REPLACE INTO settings VALUES (?, ?)",
        [key, orjson.dumps(getattr(updated, key)).decode()],
    )
    return updated
