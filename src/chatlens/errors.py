"""Every error chatlens raises on purpose, in one tree; each class carries the HTTP status
the server answers with (server/errors.py maps by class, in one place).

ChatlensError           500  base: deliberate, its message safe to show (e.g. a missing extra)
├── InputError          400  an input cannot be used as given: a bad value, an unknown name,
│   │                        a file that cannot be read; the message says how to fix it
│   └── ReadFailure          ingest/files.py: a file breaks off at a place
├── NotFound            404  a named record does not exist, or is not the caller's to see
│                            (a workspace, an API key, an invitation)
├── Forbidden           403  the caller may not do this
├── Conflict            409  it already exists (a workspace name)
├── EventError          422  one record is invalid; `errors` names every bad field
│   └── ItemError            one item of a platform export cannot be converted (importers)
│       └── rasa._EventError one Rasa event of a session, with its place
└── server.errors.ApiError   an answer of the web layer with a status of its own (401, 413,
    └── server.auth.SignIn   415, 429, ...); SignIn: a page needs a signed-in user (-> /login)

The CLI answers every ChatlensError with its message and exit code 2. Unknown names are
reported with `did_you_mean`, the one helper for that hint.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


class ChatlensError(Exception):
    """Base class of every error chatlens raises on purpose. `status`: the HTTP status the
    server answers with (a class attribute; only the web layer's ApiError sets its own)."""

    status: int = 500


class InputError(ChatlensError):
    """An input could not be used; the message says which and how to fix it."""

    status = 400


class NotFound(ChatlensError):
    """The named record does not exist (or the caller may not know that it does)."""

    status = 404


class Forbidden(ChatlensError):
    """The caller is known but may not do this."""

    status = 403


class Conflict(ChatlensError):
    """The record to create already exists."""

    status = 409


@dataclass(frozen=True)
class FieldError:
    """One thing wrong with one field of one event."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"field '{self.field}': {self.message}"


class EventError(ChatlensError):
    """An event failed validation; `errors` names every bad field."""

    status = 422

    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    def as_dicts(self) -> list[dict[str, str]]:
        return [{"field": e.field, "message": e.message} for e in self.errors]


class ItemError(EventError):
    """An item of an export cannot be converted; `field` is the platform's field path."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__([FieldError(field, message)])


def did_you_mean(name: object, known: Iterable[str]) -> str:
    """The hint after an unknown name: ` (did you mean a, b?)` with up to three close
    names of `known`, or "" when none is close."""
    near = difflib.get_close_matches(str(name), list(known), n=3)
    return f" (did you mean {', '.join(near)}?)" if near else ""
