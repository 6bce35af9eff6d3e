"""Errors raised while reading events.

ChatlensError
├── EventError        one record is invalid (names each bad field)
└── InputError        a whole input cannot be read (missing file, unknown format, bad encoding)
"""

from __future__ import annotations

from dataclasses import dataclass


class ChatlensError(Exception):
    """Base class of every error chatlens raises on purpose."""


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with one field of one event."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"field '{self.field}': {self.message}"


class EventError(ChatlensError):
    """An event failed validation; `errors` names every bad field."""

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    def as_dicts(self) -> list[dict[str, str]]:
        return [{"field": e.field, "message": e.message} for e in self.errors]


class InputError(ChatlensError):
    """A whole input could not be read; the message says which and how to fix it."""
